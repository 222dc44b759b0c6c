"""Applicants with Vietnamese-CA-style certificates (UID=MST:/CCCD:) under the test PKI, the
dossier format's trust, and dossiers signed at both levels by the independent signer."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapters.portal.edossier import EDossierFormat
from adapters.portal.synth import GeneratedDossier, make_dossier
from gateway.dossiers.ports import DossierFormat, Trust
from gateway.trust.anchors import TrustAnchors
from gateway.trust.policy import SignaturePolicy
from gateway.trust.sign import SigningIdentity
from gateway.xml.parser import XmlLimits
from gateway.xml.schemas import SchemaRegistry
from tests.conftest import Pki
from tests.support import edossiers
from tests.support.edossiers import chained, xmlsec_signer

UNIT_TAX_CODE = "0101234567"
CITIZEN_ID = edossiers.CITIZEN_ID
TODAY = date(2026, 3, 2)
SCHEMAS = SchemaRegistry(Path(__file__).resolve().parents[3] / "xsd")


@dataclass(frozen=True)
class Applicants:
    unit: SigningIdentity  # UID=MST:0101234567
    citizen: SigningIdentity  # UID=CCCD:001085012345
    other_citizen: SigningIdentity
    no_uid: SigningIdentity
    bad: dict[str, SigningIdentity]  # expired, revoked, untrusted: each a citizen's


@pytest.fixture(scope="session")
def applicants(pki: Pki) -> Applicants:
    issue = pki.issuing.issue
    bad = pki.bad
    return Applicants(
        unit=chained(issue("Công ty TNHH Minh Phát", uid=f"MST:{UNIT_TAX_CODE}"), pki.issuing),
        citizen=edossiers.citizen(pki),
        other_citizen=chained(issue("Trần Văn Hùng", uid="CCCD:079090004321"), pki.issuing),
        no_uid=chained(issue("Nguyễn Thị Lan"), pki.issuing),
        bad={name: bad[name] for name in ("expired", "revoked", "untrusted")},
    )


@pytest.fixture(scope="session")
def trust(pki: Pki) -> Trust:
    return Trust(
        anchors=TrustAnchors.from_directory(pki.trust_store),
        policy=SignaturePolicy(),
        schemas=SCHEMAS,
        limits=XmlLimits(),
        at=datetime.now(UTC),
    )


@pytest.fixture(scope="session")
def fmt() -> DossierFormat:
    return EDossierFormat()


Make = Callable[..., GeneratedDossier]


@pytest.fixture
def dossier(applicants: Applicants) -> Make:
    """``dossier("BENEFIT_SICKNESS", identity=..., faults=[...], other=...)``, signed by xmlsec."""

    def make(
        procedure: str,
        *,
        identity: SigningIdentity | None = None,
        faults: tuple[str, ...] = (),
        other: SigningIdentity | None = None,
        seed: int = 7,
    ) -> GeneratedDossier:
        return make_dossier(
            random.Random(seed),
            procedure,
            identity or applicants.citizen,
            signer=xmlsec_signer,
            number=seed,
            today=TODAY,
            faults=faults,
            other=other,
        )

    return make
