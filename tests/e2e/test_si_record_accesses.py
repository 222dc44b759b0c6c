"""A citizen's accesses over real HTTP (``GET /api/v1/si-records/{citizen_id}/accesses``): VNeID,
with the citizen's own level-2 token, lists who read the citizen's data (VNeID lookups, a
hospital's card checks over the VSS-portal API, a claim record's and a dossier's reads), newest
first and by pages, and nothing about anyone else; reading the list is audited, refused as a
lookup is; a new signing key keeps the list, since the pseudonyms have a key of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.api.citizens import ASSERTION_HEADER
from gateway.audit import Action, Result
from gateway.bootstrap import Gateway, build
from gateway.cli import main
from gateway.config import Settings
from gateway.trust.devpki import gateway_key, write_identity
from gateway.trust.sign import SigningIdentity
from tests.conftest import HOSPITAL, TOKENS, Pki, Served
from tests.e2e.test_vss_portal import legacy_partner_file, logged_in
from tests.e2e.test_vss_portal_card_check import STAFF, grant_card_checks
from tests.support import edossiers
from tests.support.audit_tampering import RedisTamperer, SqliteTamperer
from tests.support.sirecords import card, period, person
from tests.support.vneid import (
    CITIZEN,
    OTHER_CITIZEN,
    VNEID_TOKEN,
    SimulatedProvider,
    with_vneid,
)

CARD = "DN4010199012345"
VNEID_READER = {"name": "VNeID backend", "kind": "vneid"}
HOSPITAL_READER = {"name": "Test General Hospital", "kind": "hospital"}


def configured(settings: Settings, pki: Pki, vneid_sim: SimulatedProvider) -> Settings:
    """VNeID's partner and tokens, and the hospital granted the card check with its login."""
    legacy = legacy_partner_file(pki, settings.partners.with_name("partners-legacy.toml"))
    return with_vneid(
        settings.model_copy(update={"partners": grant_card_checks(legacy)}), vneid_sim.jwks_url
    )


def seeded(settings: Settings) -> Gateway:
    gateway = build(settings)
    this_year = date(date.today().year, 1, 1)
    gateway.si_records.upsert(
        person(CITIZEN), contributions=[period()], cards=[card(CARD, valid_from=this_year)]
    )
    gateway.si_records.upsert(person(OTHER_CITIZEN), cards=[card("DN4010188001234")])
    return gateway


@pytest.fixture
def served(settings: Settings, pki: Pki, vneid_sim: SimulatedProvider) -> Iterator[Served]:
    gateway = seeded(configured(settings, pki, vneid_sim))
    try:
        with Served(gateway) as server:
            yield server
    finally:
        gateway.close()


def vneid(
    served: Served, path: str, token: str | None, *, bearer: str = VNEID_TOKEN, **params: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"}
    if token is not None:
        headers[ASSERTION_HEADER] = token
    with httpx.Client(base_url=served.url, timeout=10) as client:
        return client.get(path, headers=headers, params=params or None)


Lister = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def accesses(served: Served, vneid_sim: SimulatedProvider) -> Lister:
    """The citizen's accesses, one page, as VNeID reads them with the citizen's token."""

    def listed(citizen: str = CITIZEN, **params: Any) -> list[dict[str, Any]]:
        answer = vneid(
            served, f"/api/v1/si-records/{citizen}/accesses", vneid_sim.idp.mint(citizen), **params
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        found: list[dict[str, Any]] = answer.json()["accesses"]
        return found

    return listed


def lookup(
    served: Served, vneid_sim: SimulatedProvider, citizen: str = CITIZEN, **headers: str
) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        answer = client.get(
            f"/api/v1/si-records/{citizen}",
            headers={
                "Authorization": f"Bearer {VNEID_TOKEN}",
                ASSERTION_HEADER: vneid_sim.idp.mint(citizen),
                **headers,
            },
        )
    assert answer.status_code == 200, answer.text


def brief(found: list[dict[str, Any]]) -> list[tuple[str, str, str | None, str]]:
    return [(a["action"], a["reader"]["name"], a["purpose"], a["result"]) for a in found]


def test_a_citizen_lists_the_lookups_and_card_checks_of_their_data_newest_first(
    served: Served, vneid_sim: SimulatedProvider, accesses: Lister
) -> None:
    lookup(served, vneid_sim, **{"X-Purpose": "consent:TX-0042"})
    lookup(served, vneid_sim, OTHER_CITIZEN)
    with logged_in(served) as hospital:
        assert (
            hospital.check_card(CARD, "Nguyễn Thị Lan", "17/05/1990", **STAFF)["maKetQua"] == "000"
        )
        assert (
            hospital.check_card(CITIZEN, "Nguyễn Thị Lan", "17/05/1990", **STAFF)["maKetQua"]
            == "000"
        )
        # A card nobody here holds names no citizen: in nobody's accesses.
        hospital.check_card("DN4010100000999", "Nguyễn Thị Lan", "17/05/1990", **STAFF)

    first = accesses()
    assert brief(first) == [
        ("card.check", "Test General Hospital", None, "ok"),
        ("card.check", "Test General Hospital", None, "ok"),
        ("si_record.lookup", "VNeID backend", "consent:TX-0042", "ok"),
    ]
    assert first[0]["reader"] == HOSPITAL_READER and first[2]["reader"] == VNEID_READER
    assert [a["channel"] for a in first] == ["vss-portal", "vss-portal", "rest"]
    assert first[0]["at"] >= first[1]["at"] >= first[2]["at"]
    assert set(first[0]) == {"at", "reader", "channel", "action", "purpose", "result"}

    # Reading the list is itself an access, audited under the citizen.
    assert brief(accesses()[:1]) == [
        ("si_record.accesses", "VNeID backend", "data_subject_access", "ok")
    ]
    assert brief(accesses(OTHER_CITIZEN)) == [
        ("si_record.lookup", "VNeID backend", "data_subject_access", "ok")
    ]
    events = [e.event() for e in served.gateway.audit.log.entries(limit=100)]
    checks = [e for e in events if e.action == Action.CARD_CHECKED]
    assert [e.citizen_last4 for e in checks] == ["2345", "2345", None]
    bodies = b"".join(e.body for e in served.gateway.audit.log.entries(limit=100))
    assert CITIZEN.encode() not in bodies and CARD.encode() not in bodies


def test_pages_follow_next_down_to_the_first_access(
    served: Served, vneid_sim: SimulatedProvider, accesses: Lister
) -> None:
    for n in range(5):
        lookup(served, vneid_sim, **{"X-Purpose": f"p{n}"})
    pages, path, params = [], f"/api/v1/si-records/{CITIZEN}/accesses", {"limit": 2}
    while True:
        answer = vneid(served, path, vneid_sim.idp.mint(CITIZEN), **params).json()
        pages.append([a["purpose"] for a in answer["accesses"]])
        if answer["next"] is None:
            break
        path, params = answer["next"], {}
    # Each page read is itself audited, after the page was read: the later pages do not see it.
    assert pages == [["p4", "p3"], ["p2", "p1"], ["p0"]]


def test_a_claim_record_read_and_a_dossier_read_are_among_the_citizens_accesses(
    served: Served,
    accesses: Lister,
    batch: Callable[..., bytes],
    applicant: SigningIdentity,
) -> None:
    with served.client(HOSPITAL) as client:
        receipt = client.post(
            "/api/v1/claims", content=batch(1), headers={"Content-Type": "application/xml"}
        ).json()
        record_id = receipt["results"][0]["record_id"]
        record = client.get(f"/api/v1/claims/{record_id}").json()
    patient = record["subject"]["citizen_id"]
    assert brief(accesses(patient)) == [("record.read", "Test General Hospital", None, "ok")]

    made = edossiers.signed_dossier(applicant, number=1)
    with served.client("portal") as portal:
        dossier_id = edossiers.submitted(portal, made)
    with served.client("benefits") as department:
        assert department.get(f"/api/v1/dossiers/{dossier_id}").status_code == 200
    found = accesses(edossiers.CITIZEN_ID)
    assert brief(found) == [("dossier.read", "Benefits department", None, "ok")]
    assert found[0]["reader"]["kind"] == "department"


def test_refused_reads_of_the_accesses_are_audited_as_refused(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    path = f"/api/v1/si-records/{CITIZEN}/accesses"
    statuses = [
        vneid(served, path, None).status_code,
        vneid(served, path, vneid_sim.idp.mint(OTHER_CITIZEN)).status_code,
        vneid(served, path, vneid_sim.idp.mint(CITIZEN, level=1)).status_code,
        vneid(served, path, vneid_sim.idp.mint(CITIZEN), bearer=TOKENS[HOSPITAL]).status_code,
        vneid(served, path, vneid_sim.idp.mint(CITIZEN), limit=0).status_code,
    ]
    assert statuses == [401, 403, 403, 403, 400]
    events = [e.event() for e in served.gateway.audit.log.entries(limit=100)]
    assert [(e.action, e.partner, e.result) for e in events] == [
        (Action.ACCESSES_READ, "vneid", Result.UNAUTHORIZED),
        (Action.ACCESSES_READ, "vneid", Result.DENIED),
        (Action.ACCESSES_READ, "vneid", Result.DENIED),
        (Action.ACCESSES_READ, HOSPITAL, Result.DENIED),
    ]
    assert {e.citizen_last4 for e in events} == {"2345"}


def rotated(settings: Settings, pki: Pki, folder: Path) -> Settings:
    """``settings`` under a new signing key and certificate (a key rotation)."""
    renewed = pki.issuing.issue("gateway", key=gateway_key())
    key, cert = folder / "gateway-2.key.pem", folder / "gateway-2.cert.pem"
    write_identity(renewed, key, cert)
    return settings.model_copy(update={"signing_key": key, "signing_cert": cert})


@pytest.mark.parametrize("own_key", [True, False])
def test_a_new_signing_key_keeps_the_accesses_under_a_pseudonym_key_of_its_own(
    settings: Settings, pki: Pki, vneid_sim: SimulatedProvider, tmp_path: Path, own_key: bool
) -> None:
    before = configured(settings, pki, vneid_sim)
    if not own_key:  # development without GATEWAY_PSEUDONYM_KEY: derived from the signing key
        before = before.model_copy(update={"pseudonym_key": None})
    gateway = seeded(before)
    with Served(gateway) as served:
        lookup(served, vneid_sim)
    gateway.close()

    after = build(rotated(before, pki, tmp_path))
    try:
        with Served(after) as served:
            answer = vneid(
                served, f"/api/v1/si-records/{CITIZEN}/accesses", vneid_sim.idp.mint(CITIZEN)
            )
    finally:
        after.close()
    kept = [a["action"] for a in answer.json()["accesses"]]
    assert kept == (["si_record.lookup"] if own_key else [])


@pytest.mark.parametrize("tampering", ["change", "swap", "delete"])
@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_audit_verify_catches_a_changed_reordered_or_removed_access_of_a_citizen(
    settings: Settings,
    pki: Pki,
    vneid_sim: SimulatedProvider,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: str,
    tampering: str,
) -> None:
    tamper: SqliteTamperer | RedisTamperer
    if store == "redis":
        url = request.getfixturevalue("redis_url")
        dossiers = f"sqlite:///{tmp_path / 'dossiers.sqlite3'}"
        settings = settings.model_copy(
            update={"store_url": url, "dossier_store_url": dossiers, "redis_require_durable": False}
        )
        monkeypatch.setenv("GATEWAY_REDIS_REQUIRE_DURABLE", "false")
        tamper = RedisTamperer(url)
    else:
        tamper = SqliteTamperer(Path(settings.store_url.removeprefix("sqlite:///")))
    monkeypatch.setenv("GATEWAY_STORE_URL", settings.store_url)
    gateway = seeded(configured(settings, pki, vneid_sim))
    with Served(gateway) as served:
        lookup(served, vneid_sim, **{"X-Purpose": "consent:TX-0042"})
        with logged_in(served) as hospital:
            hospital.check_card(CARD, "Nguyễn Thị Lan", "17/05/1990", **STAFF)
        lookup(served, vneid_sim)
    gateway.close()
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("OK: 3 entries, the chain holds")

    # Hide why VNeID read, which hospital checked the card, or that it was checked.
    if tampering == "change":
        tamper.change(1, b'"purpose":"consent:TX-0042"', b'"purpose":"data_subject_access"')
    elif tampering == "swap":
        tamper.swap(1, 2)
    else:
        tamper.delete(2)

    assert main(["audit", "verify"]) == 1
    broken = capsys.readouterr().out
    assert broken.startswith(
        "BROKEN at entry 1:" if tampering != "delete" else "BROKEN at entry 2:"
    )
