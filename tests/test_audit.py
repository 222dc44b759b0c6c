"""The audit log over real HTTP and SOAP (SPEC section 6): every read of personal data writes who,
what, when and how it ended before the data leaves; ``gateway audit`` checks and shows the log."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.audit import Action, AuditEvent, Result
from gateway.bootstrap import Gateway, build
from gateway.cli import main
from gateway.config import Settings
from gateway.xml.ns import CLAIMS_SERVICE, SOAP11, q
from gateway.xml.parser import XmlLimits, parse
from tests.conftest import HOSPITAL, OTHER_HOSPITAL, Served
from tests.support.audit_tampering import SqliteTamperer
from tests.support.soap import post_soap, soap_envelope

XML = {"Content-Type": "application/xml"}
CARD = "GD4797920123456"
AT = datetime.now(UTC).replace(microsecond=250_000)


class FixedClock:
    def now(self) -> datetime:
        return AT


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    built = build(settings, clock=FixedClock())
    yield built
    built.close()


@pytest.fixture
def stored(served: Served, batch: Callable[..., bytes]) -> dict[str, Any]:
    """One accepted batch of two records from HOSPITAL: its receipt."""
    with served.client(HOSPITAL) as http:
        receipt: dict[str, Any] = http.post("/api/v1/claims", content=batch(2), headers=XML).json()
    assert receipt["status"] == "accepted"
    assert audited(served.gateway) == []  # a submission is not a read
    return receipt


def events(gateway: Gateway) -> list[AuditEvent]:
    return [entry.event() for entry in gateway.audit.log.entries(limit=1000)]


def audited(gateway: Gateway) -> list[tuple[str, str, str, str, str]]:
    """(who, channel, action, target, result) of every event, oldest first."""
    return [(e.partner, e.channel, e.action, e.target, e.result) for e in events(gateway)]


def soap(served: Served, operation: str, field: str, value: str, partner: str) -> Any:
    answer = post_soap(served, operation, soap_envelope(operation, field, value), partner)
    body = parse(answer.content, XmlLimits()).find(q(SOAP11, "Body"))
    assert body is not None
    return answer.status_code, body


def soap_fault_code(body: Any) -> str | None:
    fault = f"{q(SOAP11, 'Fault')}/detail/{q(CLAIMS_SERVICE, 'GatewayFault')}"
    code: str | None = body.findtext(f"{fault}/{q(CLAIMS_SERVICE, 'Code')}")
    return code


def test_rest_reads_write_who_what_when_and_result(served: Served, stored: dict[str, Any]) -> None:
    record_id = stored["results"][0]["record_id"]
    with served.client(HOSPITAL) as http:
        assert http.get(f"/api/v1/claims/{record_id}").status_code == 200
        assert http.get(f"/api/v1/claims/{record_id}/original").status_code == 200
        assert http.get(f"/api/v1/receipts/{stored['id']}").status_code == 200
        assert http.get("/api/v1/signals", params={"facility": "01929"}).status_code == 200

    assert audited(served.gateway) == [
        (HOSPITAL, "rest", Action.RECORD_READ, f"record:{record_id}", Result.OK),
        (HOSPITAL, "rest", Action.RECORD_ORIGINAL_READ, f"record:{record_id}", Result.OK),
        (HOSPITAL, "rest", Action.RECEIPT_READ, f"receipt:{stored['id']}", Result.OK),
        (HOSPITAL, "rest", Action.SIGNALS_READ, "facility:01929", Result.OK),
    ]
    assert {e.at for e in events(served.gateway)} == {AT}
    assert served.gateway.audit.log.verify().ok


def test_soap_reads_write_the_same_events(served: Served, stored: dict[str, Any]) -> None:
    record_id = stored["results"][1]["record_id"]

    status, body = soap(served, "GetClaimRecord", "RecordId", record_id, HOSPITAL)
    assert status == 200 and body.find(q(CLAIMS_SERVICE, "GetClaimRecordResponse")) is not None
    status, _ = soap(served, "GetReceipt", "ReceiptId", stored["id"], HOSPITAL)
    assert status == 200

    assert audited(served.gateway) == [
        (HOSPITAL, "soap", Action.RECORD_READ, f"record:{record_id}", Result.OK),
        (HOSPITAL, "soap", Action.RECEIPT_READ, f"receipt:{stored['id']}", Result.OK),
    ]


def test_another_partners_record_is_audited_as_not_found(
    served: Served, stored: dict[str, Any]
) -> None:
    record_id = stored["results"][0]["record_id"]
    with served.client(OTHER_HOSPITAL) as http:
        assert http.get(f"/api/v1/claims/{record_id}").status_code == 404
        assert http.get(f"/api/v1/receipts/{stored['id']}").status_code == 404
    status, body = soap(served, "GetClaimRecord", "RecordId", record_id, OTHER_HOSPITAL)
    assert (status, soap_fault_code(body)) == (500, "NOT_FOUND")
    with served.client(HOSPITAL) as http:
        assert http.get("/api/v1/claims/01JUNKNOWN0000000000000000").status_code == 404

    assert audited(served.gateway) == [
        (OTHER_HOSPITAL, "rest", Action.RECORD_READ, f"record:{record_id}", Result.NOT_FOUND),
        (OTHER_HOSPITAL, "rest", Action.RECEIPT_READ, f"receipt:{stored['id']}", Result.NOT_FOUND),
        (OTHER_HOSPITAL, "soap", Action.RECORD_READ, f"record:{record_id}", Result.NOT_FOUND),
        (
            HOSPITAL,
            "rest",
            Action.RECORD_READ,
            "record:01JUNKNOWN0000000000000000",
            Result.NOT_FOUND,
        ),
    ]


def test_refused_reads_of_an_authenticated_partner_are_audited_as_denied(
    served: Served, stored: dict[str, Any]
) -> None:
    record_id = stored["results"][0]["record_id"]
    # The inspector may read signals, not claims; a hospital may not read a card's signals.
    with served.client("inspector") as http:
        assert http.get(f"/api/v1/claims/{record_id}").status_code == 403
    with served.client(HOSPITAL) as http:
        assert http.get("/api/v1/signals", params={"card": CARD}).status_code == 403
    # No credential: nobody to hold to account, and nothing read.
    with served.client(None) as http:
        assert http.get(f"/api/v1/claims/{record_id}").status_code == 401

    assert audited(served.gateway) == [
        ("inspector", "rest", Action.RECORD_READ, f"record:{record_id}", Result.DENIED),
        (HOSPITAL, "rest", Action.SIGNALS_READ, "card:************456", Result.DENIED),
    ]


def test_a_card_number_is_masked_in_the_audit_log(served: Served, settings: Settings) -> None:
    with served.client("inspector") as http:
        assert http.get("/api/v1/signals", params={"card": CARD}).status_code == 200

    assert audited(served.gateway) == [
        ("inspector", "rest", Action.SIGNALS_READ, "card:************456", Result.OK)
    ]
    with sqlite3.connect(settings.store_url.removeprefix("sqlite:///")) as db:
        stored = b"".join(row[0] for row in db.execute("SELECT entry FROM audit"))
    assert b"card:************456" in stored
    assert CARD[:-3].encode() not in stored


def test_an_identifier_inside_a_requested_id_is_masked(served: Served) -> None:
    with served.client(HOSPITAL) as http:
        assert http.get("/api/v1/claims/079203001234").status_code == 404

    [(_, _, _, target, _)] = audited(served.gateway)
    assert target == "record:*********234"


# --- gateway audit --------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``gateway audit`` configured like ``serve``, through GATEWAY_* variables; the database."""
    monkeypatch.setenv("GATEWAY_STORE_URL", settings.store_url)
    return Path(settings.store_url.removeprefix("sqlite:///"))


def read_three(served: Served, stored: dict[str, Any]) -> None:
    with served.client(HOSPITAL) as http:
        for result in stored["results"]:
            assert http.get(f"/api/v1/claims/{result['record_id']}").status_code == 200
        assert http.get(f"/api/v1/receipts/{stored['id']}").status_code == 200


def test_audit_verify_passes_then_names_the_tampered_entry(
    served: Served, stored: dict[str, Any], cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read_three(served, stored)
    head = served.gateway.audit.log.head()

    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == f"OK: 3 entries, the chain holds; head 3:{head.hash}\n"

    # Someone with the database file hides who read the second record.
    SqliteTamperer(cli_env).change(2, HOSPITAL.encode(), OTHER_HOSPITAL.encode())

    assert main(["audit", "verify"]) == 1
    assert capsys.readouterr().out == (
        "BROKEN at entry 2: entry 2 does not match its hash (changed after it was written)\n"
    )
    assert served.gateway.audit.log.verify().first_broken_seq == 2


def test_audit_verify_with_an_anchor_catches_a_log_rewritten_with_new_hashes(
    served: Served, stored: dict[str, Any], cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read_three(served, stored)
    main(["audit", "verify"])
    anchor = capsys.readouterr().out.split("head ")[1].strip()  # kept outside the store
    # Rewrite entry 2 and recompute every hash from there, head included: the chain holds.
    db = sqlite3.connect(cli_env)
    db.execute("DROP TRIGGER audit_no_update")
    prev = db.execute("SELECT hash FROM audit WHERE seq = 1").fetchone()[0]
    for seq, entry in db.execute("SELECT seq, entry FROM audit WHERE seq > 1").fetchall():
        body = entry.replace(HOSPITAL.encode(), OTHER_HOSPITAL.encode())
        prev = hashlib.sha256(prev.encode() + body).hexdigest()
        db.execute("UPDATE audit SET entry = ?, hash = ? WHERE seq = ?", (body, prev, seq))
    db.execute("UPDATE audit_head SET hash = ?", (prev,))
    db.commit()
    db.close()

    assert main(["audit", "verify"]) == 0
    assert main(["audit", "verify", "--anchor", anchor]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "BROKEN at entry 3: entry 3 is not the one a copy of an earlier head names: the log was "
        "rewritten at or before entry 3"
    )


def test_audit_verify_names_a_deleted_entry(
    served: Served, stored: dict[str, Any], cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read_three(served, stored)
    SqliteTamperer(cli_env).delete(1)

    assert main(["audit", "verify"]) == 1
    assert capsys.readouterr().out.startswith("BROKEN at entry 1: entry 1 is missing")


def test_audit_verify_refuses_a_database_that_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_STORE_URL", f"sqlite:///{tmp_path / 'typo.sqlite3'}")

    assert main(["audit", "verify"]) == 2
    assert "there is no database" in capsys.readouterr().err
    assert not (tmp_path / "typo.sqlite3").exists()


def test_audit_tail_prints_the_last_events_as_json_lines(
    served: Served, stored: dict[str, Any], cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read_three(served, stored)

    assert main(["audit", "tail", "--limit", "2"]) == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]

    entries = served.gateway.audit.log.entries(after_seq=1)
    assert [(line["seq"], line["hash"]) for line in lines] == [(e.seq, e.hash) for e in entries]
    assert lines[-1].pop("latency_ms") >= 0  # how long the read took
    assert lines[-1] == {
        "seq": 3,
        "at": AT.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "partner": HOSPITAL,
        "channel": "rest",
        "action": "receipt.read",
        "target": f"receipt:{stored['id']}",
        "result": "ok",
        "hash": entries[-1].hash,
    }
