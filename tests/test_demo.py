"""The demo folder: what a second run reuses, what it makes anew, what --reset deletes, and CRLs
that a reused development PKI renews (the demo run twice over HTTP is in e2e/test_installed)."""

from __future__ import annotations

import shutil
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.demo import HOSPITALS, prepare
from gateway.legacy import md5_upper
from gateway.legacy.passwords import StoredHash
from gateway.partners import token_hash
from gateway.trust.devpki import CRL_RENEWAL, DevCA, DevPki, write_dev_pki


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
    for hospital, entry in zip(HOSPITALS, entries, strict=True):
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
    assert DevPki(demo / "pki", ("gateway", *(h.partner_id for h in HOSPITALS))).complete()


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
