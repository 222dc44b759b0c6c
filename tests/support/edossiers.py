"""Signed VSS e-dossiers as a portal sends them: a citizen under the test PKI, dossiers signed at
both levels by the independent signer (xmlsec), and their submission and moves over REST."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx

from adapters.portal.synth import GeneratedDossier, make_dossier
from gateway.dossiers.calendar import VIETNAM
from gateway.trust.devpki import DevCA
from gateway.trust.sign import SigningIdentity
from tests.conftest import Pki
from tests.support.xmlsec_signer import xmlsec_sign

CITIZEN_ID = "001085012345"
CITIZEN_NAME = "Nguyễn Thị Lan"


def chained(identity: SigningIdentity, ca: DevCA) -> SigningIdentity:
    """``identity`` sending the certificate of the CA that issued it, as signers do."""
    return SigningIdentity(identity.key, identity.certificate, (ca.certificate,))


def citizen(pki: Pki) -> SigningIdentity:
    """A citizen's signing identity: its certificate names her as ``UID=CCCD:...``."""
    return chained(pki.issuing.issue(CITIZEN_NAME, uid=f"CCCD:{CITIZEN_ID}"), pki.issuing)


def xmlsec_signer(unsigned: bytes, identity: SigningIdentity, container: str) -> bytes:
    return xmlsec_sign(unsigned, identity, container=container)


def signed_dossier(
    identity: SigningIdentity,
    *,
    number: int,
    procedure: str = "BENEFIT_MATERNITY",
    at: datetime | None = None,
) -> GeneratedDossier:
    """Dossier ``number`` (its MaHoSo's serial) of ``procedure``, made on the Vietnam date of
    ``at`` (default: now)."""
    today = (at or datetime.now(UTC)).astimezone(VIETNAM).date()
    return make_dossier(
        random.Random(number),
        procedure,
        identity,
        signer=xmlsec_signer,
        number=number,
        today=today,
    )


def submit(portal: httpx.Client, made: GeneratedDossier) -> httpx.Response:
    """``POST /api/v1/dossiers`` of ``made`` by the portal whose client this is."""
    return portal.post(
        "/api/v1/dossiers",
        params={"MaHoSo": made.ma_ho_so, "MaTTHC": made.ma_tthc},
        content=made.body,
        headers={"Content-Type": "application/xml"},
    )


def submitted(portal: httpx.Client, made: GeneratedDossier) -> str:
    """The id of ``made``, submitted and received (202)."""
    answer = submit(portal, made)
    assert answer.status_code == 202, answer.text
    dossier_id: str = answer.json()["dossier_id"]
    return dossier_id


def moved(department: httpx.Client, dossier_id: str, **move: object) -> dict[str, object]:
    """The dossier after the department's move (``to``, ``reason``, ``officer``...)."""
    answer = department.post(f"/api/v1/dossiers/{dossier_id}/transitions", json=move)
    assert answer.status_code == 200, answer.text
    dossier: dict[str, object] = answer.json()
    return dossier
