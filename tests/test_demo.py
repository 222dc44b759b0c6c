"""The demo folder: what a second run reuses, what it makes anew, what --reset deletes, and CRLs
that a reused development PKI renews; the demo's dossier path over HTTP, from the portal through
a department (its people checked at the population simulator) to the statuses its DVCQG
simulator receives, and its identity path, a VNeID lookup with a token of its VNeID simulator
and a hospital's card check, each run twice (the installed ``gateway demo`` command run twice is
in e2e/test_installed)."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from adapters.portal.binding import applicant_of
from gateway.demo import (
    APPLICANTS,
    DEMO_CARD,
    DEMO_CITIZEN,
    DOSSIERS,
    HOSPITALS,
    PORTAL,
    DemoRun,
    dossier_index,
    prepare,
    running,
)
from gateway.demo_identity import POPULATION_PATH, VNEID
from gateway.dossiers.routing import load
from gateway.legacy import md5_upper
from gateway.legacy.passwords import StoredHash
from gateway.partners import token_hash
from gateway.sirecords.synth import synthetic_records
from gateway.trust.devpki import CRL_RENEWAL, DevCA, DevPki, write_dev_pki
from gateway.trust.sign import SigningIdentity
from tests.conftest import Served
from tests.support.demo import (
    AT_PORTAL,
    MOVES,
    as_partner,
    check_card,
    id_token,
    look_up,
    move,
    statuses_at_portal,
    submit,
)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_second_run_reuses_everything_the_first_made(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    first_env = prepare(demo)
    made = _snapshot(demo)
    assert prepare(demo) == first_env
    assert _snapshot(demo) == made
    assert {f"batch-{h.facility}.xml" for h in HOSPITALS} <= set(made)


def test_only_what_is_missing_is_made_again(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    prepare(demo)
    made = _snapshot(demo)
    (demo / "batch-79001.xml").unlink()
    prepare(demo)
    again = _snapshot(demo)
    assert again.keys() == made.keys()
    assert {k: v for k, v in again.items() if k != "batch-79001.xml"} == {
        k: v for k, v in made.items() if k != "batch-79001.xml"
    }


def test_a_lost_token_is_made_again_and_the_partner_file_follows(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    prepare(demo)
    old = (demo / "hospital-01929.token").read_text()
    (demo / "hospital-01929.token").unlink()
    prepare(demo)
    new = (demo / "hospital-01929.token").read_text()
    assert new != old
    assert (demo / "hospital-01929.token").stat().st_mode & 0o077 == 0
    entries = tomllib.loads((demo / "partners.toml").read_text(encoding="utf-8"))["partners"]
    assert entries[0]["tokens"] == [token_hash(new.strip())]


def test_demo_hospitals_have_a_vss_portal_login(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    prepare(demo)
    entries = tomllib.loads((demo / "partners.toml").read_text(encoding="utf-8"))["partners"]
    for hospital, entry in zip(HOSPITALS, entries[: len(HOSPITALS)], strict=True):
        password = (demo / f"{hospital.partner_id}.password").read_text().strip()
        assert entry["legacy_username"] == hospital.username == f"bv{hospital.facility}"
        assert StoredHash.read(entry["legacy_password_hash"]).matches(md5_upper(password))
        assert password not in (demo / "partners.toml").read_text()


def test_reset_starts_afresh_and_deletes_only_what_the_demo_made(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    prepare(demo)
    (demo / "gateway.sqlite3").write_bytes(b"a database of the first run")
    (demo / "notes.txt").write_text("the operator's own file")
    old_root = (demo / "pki/trust/root-ca.pem").read_bytes()
    prepare(demo, start_afresh=True)
    assert (demo / "pki/trust/root-ca.pem").read_bytes() != old_root
    assert not (demo / "gateway.sqlite3").exists()
    assert (demo / "notes.txt").read_text() == "the operator's own file"


def test_a_demo_without_its_whole_pki_starts_afresh(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    prepare(demo)
    batch = (demo / "batch-01929.xml").read_bytes()
    shutil.rmtree(demo / "pki/ca")
    prepare(demo)
    # Everything else was made for the PKI that is gone: a batch signed under it would be
    # refused (CERT_UNTRUSTED), so it is made again under the new one.
    assert (demo / "batch-01929.xml").read_bytes() != batch
    names = ("gateway", *(h.partner_id for h in HOSPITALS), *(a.key for a in APPLICANTS))
    assert DevPki(demo / "pki", names).complete()


def test_a_reused_pki_renews_crls_near_their_next_update_and_keeps_revocations(
    tmp_path: Path,
) -> None:
    pki = write_dev_pki(tmp_path / "pki", ["hospital-01929"])
    crl_path = pki.trust_store / "issuing-ca.crl"
    issuing_key = serialization.load_pem_private_key(
        (tmp_path / "pki/ca/issuing-ca.key.pem").read_bytes(), password=None
    )
    issuing_cert = x509.load_pem_x509_certificate((pki.trust_store / "issuing-ca.pem").read_bytes())
    revoked = DevCA(key=issuing_key, certificate=issuing_cert, revoked=[4242])
    crl_path.write_bytes(revoked.crl().public_bytes(serialization.Encoding.PEM))
    assert pki.renew_crls() == []  # 30 days left: nothing to do
    later = datetime.now(UTC) + timedelta(days=30) - CRL_RENEWAL + timedelta(hours=1)
    assert sorted(pki.renew_crls(now=later)) == sorted([pki.trust_store / "root-ca.crl", crl_path])
    renewed = x509.load_pem_x509_crl(crl_path.read_bytes())
    assert renewed.next_update_utc is not None and renewed.next_update_utc > later + CRL_RENEWAL
    assert [entry.serial_number for entry in renewed] == [4242]
    assert renewed.is_signature_valid(issuing_cert.public_key())


# --- The portal's side: partners, applicants, sample dossiers ----------------------------------


def test_the_portal_and_every_routed_department_are_partners_with_tokens(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    prepare(demo)
    entries = tomllib.loads((demo / "partners.toml").read_text(encoding="utf-8"))["partners"]
    by_id = {entry["id"]: entry for entry in entries}
    assert by_id[PORTAL]["kind"] == "portal"
    assert "dossiers.submit" in by_id[PORTAL]["services"]
    departments = load(None).departments
    for department in departments:
        token = (demo / f"{department}.token").read_text().strip()
        assert (demo / f"{department}.token").stat().st_mode & 0o077 == 0
        entry = by_id[department]
        assert (entry["kind"], entry["departments"]) == ("department", [department])
        assert entry["tokens"] == [token_hash(token)]
    assert {e["id"] for e in entries if e["kind"] == "department"} == set(departments)


def test_vneid_is_a_partner_with_a_kept_token_that_may_only_look_records_up(
    tmp_path: Path,
) -> None:
    demo = tmp_path / "demo"
    prepare(demo)
    entries = tomllib.loads((demo / "partners.toml").read_text(encoding="utf-8"))["partners"]
    [entry] = [e for e in entries if e["id"] == VNEID]
    token = (demo / f"{VNEID}.token").read_text().strip()
    assert (demo / f"{VNEID}.token").stat().st_mode & 0o077 == 0
    assert (entry["kind"], entry["services"]) == ("vneid", ["si_records.lookup"])
    assert entry["tokens"] == [token_hash(token)]


def test_demo_applicants_sign_their_own_sample_dossiers(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    prepare(demo)
    keys = demo / "pki/keys"
    for applicant in APPLICANTS:
        identity = SigningIdentity.from_files(
            keys / f"{applicant.key}.key.pem", keys / f"{applicant.key}.cert.pem"
        )
        found = applicant_of(identity.certificate)
        assert f"{'CCCD' if found.kind == 'citizen' else 'MST'}:{found.id}" == applicant.uid
    index = dossier_index(demo)
    assert set(index) == {d.file for d in DOSSIERS}
    routes = load(None).routes
    for sample in DOSSIERS:
        entry = index[sample.file]
        assert (entry["procedure"], entry["department"]) == (
            sample.procedure,
            routes[sample.procedure].department,
        )
        assert entry["MaHoSo"].endswith(f"-{sample.number:05d}")
        assert (demo / sample.file).read_bytes().startswith(b"<?xml")


# --- The dossier path over HTTP, run twice -------------------------------------------------------


@contextmanager
def _served(folder: Path) -> Iterator[tuple[DemoRun, str]]:
    with running(folder) as demo, Served(demo.gateway) as served:
        yield demo, served.url


def test_a_dossier_goes_from_the_portal_through_its_department_to_the_portal_twice(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demo"
    first, second = DOSSIERS[0], DOSSIERS[1]
    with _served(folder) as (demo, url):
        entry = dossier_index(folder)[first.file]
        answer = submit(url, folder, first.file)
        assert answer.status_code == 202, answer.text
        receipt = answer.json()
        assert (receipt["status"], receipt["duplicate"]) == ("received", False)
        assert receipt["department"] == entry["department"]
        with as_partner(url, folder, entry["department"]) as clerk:
            queue = clerk.get(f"/api/v1/queues/{entry['department']}").json()
        assert [d["id"] for d in queue["items"]] == [receipt["dossier_id"]]
        move(url, folder, receipt["dossier_id"], entry["department"], *MOVES)
        assert statuses_at_portal(demo.portal_url, entry["MaHoSo"], AT_PORTAL) == AT_PORTAL
        tokens = {p.name: p.read_text() for p in folder.glob("*.token")}
        # The citizen who filed it was checked at the population simulator: she is who C06 holds.
        c06 = demo.population_url.removesuffix(POPULATION_PATH)
        calls = httpx.get(f"{c06}/_simulator/calls", timeout=10).json()
        assert [c["operation"] for c in calls] == ["XacThucThongTinCongDan"]

    with _served(folder) as (demo, url):
        assert {p.name: p.read_text() for p in folder.glob("*.token")} == tokens
        again = submit(url, folder, first.file)
        assert again.status_code == 202, again.text
        assert again.json()["duplicate"] is True
        assert (again.json()["id"], again.json()["dossier_id"]) == (
            receipt["id"],
            receipt["dossier_id"],
        )
        with as_partner(url, folder, PORTAL) as portal:
            kept = portal.get(f"/api/v1/dossiers/{receipt['dossier_id']}").json()
        assert kept["state"] == "finished"

        other = dossier_index(folder)[second.file]
        answer = submit(url, folder, second.file)
        assert answer.status_code == 202, answer.text
        move(url, folder, answer.json()["dossier_id"], other["department"], *MOVES)
        assert statuses_at_portal(demo.portal_url, other["MaHoSo"], AT_PORTAL) == AT_PORTAL


# --- The identity path over HTTP, run twice ------------------------------------------------------


def test_a_citizen_reads_her_record_and_a_hospital_checks_her_card_twice(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    other = next(synthetic_records(1, today=date.today())).person.citizen_id
    answers = []
    for _ in range(2):  # the second run reuses the first one's partners, tokens and records
        with _served(folder) as (demo, url):
            token = id_token(demo.vneid_url)
            own = look_up(url, folder, DEMO_CITIZEN, token)
            assert own.status_code == 200, own.text
            assert own.headers["cache-control"] == "no-store"
            answers.append(own.json())
            refused = look_up(url, folder, other, token)
            assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
            # Another citizen's own token reads her record: the record was seeded.
            assert look_up(url, folder, other, id_token(demo.vneid_url, other)).status_code == 200
            checked = check_card(url, folder)
            assert (checked["maKetQua"], checked["maThe"]) == ("000", DEMO_CARD), checked
    first, second = answers
    assert first == second
    assert first["si_number"] == "0190012345"
    assert [card["number"] for card in first["cards"]] == [DEMO_CARD]
