"""The ``gateway`` command: dev-pki, sign, verify, demo preparation, configuration errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.bootstrap import build
from gateway.cli import main
from gateway.config import Settings
from gateway.demo import DEMO_CITIZEN, running
from gateway.errors import ConfigError
from gateway.pipeline.batches import submit_batch


def test_dev_pki_then_sign_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pki = tmp_path / "pki"
    assert main(["dev-pki", "--out", str(pki), "--partner", "hospital-01929"]) == 0
    key, cert = pki / "keys/hospital-01929.key.pem", pki / "keys/hospital-01929.cert.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    unsigned = tmp_path / "batch.xml"
    unsigned.write_text(
        '<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS><THONGTINDONVI><MACSKCB>01929'
        "</MACSKCB></THONGTINDONVI><CHUKYDONVI/></GIAMDINHHS>",
        encoding="utf-8",
    )
    signed = tmp_path / "signed.xml"
    assert main(["sign", str(unsigned), str(signed), "--key", str(key), "--cert", str(cert)]) == 0
    assert main(["verify", str(signed), "--trust", str(pki / "trust")]) == 0
    assert "VALID signed by CN=hospital-01929" in capsys.readouterr().out
    signed.write_bytes(signed.read_bytes().replace(b"01929</MACSKCB>", b"01930</MACSKCB>"))
    assert main(["verify", str(signed), "--trust", str(pki / "trust")]) == 1
    assert "INVALID SIGNATURE_INVALID" in capsys.readouterr().out


def test_verify_at_a_time_after_expiry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pki = tmp_path / "pki"
    main(["dev-pki", "--out", str(pki), "--partner", "h"])
    doc = tmp_path / "d.xml"
    doc.write_text("<GIAMDINHHS><CHUKYDONVI/></GIAMDINHHS>", encoding="utf-8")
    key, cert = pki / "keys/h.key.pem", pki / "keys/h.cert.pem"
    main(["sign", str(doc), str(doc), "--key", str(key), "--cert", str(cert)])
    capsys.readouterr()
    args = ["verify", str(doc), "--trust", str(pki / "trust"), "--no-crl"]
    assert main([*args, "--at", "2099-01-01T00:00:00+00:00"]) == 1
    assert "CERT_EXPIRED" in capsys.readouterr().out


def test_demo_preparation_gives_a_working_gateway(tmp_path: Path) -> None:
    with running(tmp_path / "demo") as demo:
        gateway, settings = demo.gateway, demo.gateway.settings
        # As the demo starts: its SI records loaded (for lookups and card checks), but claims'
        # cards not refused by them: batches made by `gateway generate` hold other patients.
        assert not settings.si_card_check
        assert gateway.si_records.get(DEMO_CITIZEN) is not None
        partner = gateway.partners.get("hospital-01929")
        assert partner is not None
        body = (tmp_path / "demo/batch-01929.xml").read_bytes()
        outcome = submit_batch(
            body, partner=partner, channel="rest", fmt=gateway.claims, deps=gateway.pipeline
        )
        assert outcome.receipt.status == "accepted" and len(outcome.receipt.results) == 3
        token = (tmp_path / "demo/hospital-01929.token").read_text().strip()
        assert gateway.partners.by_token(token) == partner
        # The README's signals example runs with this token: the demo hospital may read its own.
        assert partner.may("signals.read")
        assert token not in (tmp_path / "demo/partners.toml").read_text()


def test_development_signing_key_is_refused_in_production(
    settings: Settings, tmp_path: Path
) -> None:
    pki_dir = tmp_path / "pki"
    main(["dev-pki", "--out", str(pki_dir)])
    production = settings.model_copy(
        update={
            "environment": "production",
            "signing_key": pki_dir / "keys/gateway.key.pem",
            "signing_cert": pki_dir / "keys/gateway.cert.pem",
        }
    )
    with pytest.raises(ConfigError, match="development PKI"):
        build(production)


def test_missing_files_and_trust_store_exit_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(tmp_path / "x.xml"), "--trust", str(tmp_path)]) == 2
    assert "No such file" in capsys.readouterr().err
    doc = tmp_path / "d.xml"
    doc.write_text("<GIAMDINHHS><CHUKYDONVI/></GIAMDINHHS>", encoding="utf-8")
    assert main(["verify", str(doc), "--trust", str(tmp_path / "none")]) == 2
    assert "configuration error: trust store" in capsys.readouterr().err


def test_legacy_password_lines_let_the_client_log_in(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import io

    from gateway.legacy.passwords import StoredHash

    monkeypatch.setattr("sys.stdin", io.StringIO("Mật-khẩu 2024\n"))
    assert main(["legacy-password", "--username", "bv01929", "--password-stdin"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'legacy_username = "bv01929"'
    stored = out[1].removeprefix('legacy_password_hash = "').removesuffix('"')
    sent = hashlib.md5("Mật-khẩu 2024".encode(), usedforsecurity=False).hexdigest().upper()
    assert StoredHash.read(stored).matches(sent)
    assert not StoredHash.read(stored).matches(hashlib.md5(b"other").hexdigest().upper())
    assert main(["legacy-password", "--username", "u", "--md5", "not-an-md5"]) == 2
