"""Whole flows over real HTTP: a signed batch in, receipts and common records out."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.hospital import synth
from gateway.bootstrap import build
from gateway.cli import main as cli
from gateway.config import Settings
from tests.conftest import Pki, Served, counts
from tests.support.batches import batch_with, edit_xml1, visit_tables
from tests.support.xmlsec_signer import xmlsec_sign

XML = {"Content-Type": "application/xml"}
ATTACKS = Path(__file__).parent.parent / "data" / "attacks"


def post(served: Served, body: bytes, partner: str | None = "hospital-01929") -> dict[str, Any]:
    with served.client(partner) as http:
        answer = http.post("/api/v1/claims", content=body, headers=XML)
    return {"status": answer.status_code, "body": answer.json(), "headers": answer.headers}


def test_signed_batch_is_accepted_with_one_result_per_hoso(
    served: Served, batch: Callable[..., bytes]
) -> None:
    answer = post(served, batch(3))
    assert answer["status"] == 200, answer
    receipt = answer["body"]
    assert receipt["status"] == "accepted"
    assert receipt["duplicate"] is False
    assert [r["status"] for r in receipt["results"]] == ["accepted"] * 3
    assert all(r["record_id"] and r["key"] for r in receipt["results"])
    assert answer["headers"]["location"] == f"/api/v1/receipts/{receipt['id']}"
    assert counts(served.gateway) == {"receipts": 1, "records": 3, "originals": 1}


def test_record_is_the_normalized_xml1(served: Served, batch: Callable[..., bytes]) -> None:
    body = batch(1, seed=42)
    receipt = post(served, body)["body"]
    with served.client() as http:
        record = http.get(f"/api/v1/claims/{receipt['results'][0]['record_id']}").json()
    assert record["kind"] == "hi_claim"
    assert record["source"] == {
        "partner_id": "hospital-01929",
        "channel": "rest",
        "facility_code": "01929",
    }
    assert record["original"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert record["original"]["item"] == receipt["results"][0]["key"]
    assert record["signature"]["subject"].startswith("CN=hospital-01929")
    visit = record["payload"]["visit"]
    assert visit["visit_key"] == receipt["results"][0]["key"]
    assert visit["arrived_at"].endswith("+07:00")
    assert visit["facility_code"] == "01929"
    card = record["payload"]["cards"][0]
    assert record["subject"]["hi_card_number"] == card["number"]
    assert record["subject"]["si_number"] == card["number"][-10:]
    assert len(record["subject"]["citizen_id"]) == 12
    totals = record["payload"]["totals"]
    assert "." in totals["insurance_payment"] or totals["insurance_payment"].isdigit()
    assert record["payload"]["tables"][0] == "XML1"


def test_original_bytes_are_archived_unchanged(served: Served, batch: Callable[..., bytes]) -> None:
    body = batch(1, seed=43)
    receipt = post(served, body)["body"]
    with served.client() as http:
        original = http.get(f"/api/v1/claims/{receipt['results'][0]['record_id']}/original")
    assert original.content == body


def test_resubmitted_batch_returns_the_original_receipt_and_stores_nothing(
    served: Served, batch: Callable[..., bytes]
) -> None:
    body = batch(2, seed=5)
    first = post(served, body)["body"]
    stored = counts(served.gateway)
    second = post(served, body)["body"]
    assert second["duplicate"] is True
    assert second["id"] == first["id"]
    assert second["results"] == first["results"]
    assert counts(served.gateway) == stored


def test_each_hoso_is_judged_on_its_own(served: Served, pki: Pki) -> None:
    good = visit_tables(1)
    bad = edit_xml1(
        visit_tables(2),
        lambda x: x.replace(b"<GIOI_TINH>1<", b"<GIOI_TINH>4<").replace(
            b"<GIOI_TINH>2<", b"<GIOI_TINH>4<"
        ),
    )
    answer = post(served, batch_with(pki.hospital, [good, bad]))
    assert answer["status"] == 200
    receipt = answer["body"]
    assert receipt["status"] == "partially_accepted"
    first, second = receipt["results"]
    assert first["status"] == "accepted"
    assert second["status"] == "rejected" and second["record_id"] is None
    error = second["errors"][0]
    assert error["code"] == "SCHEMA_INVALID"
    assert error["issues"][0]["table"] == "XML1"
    assert "GIOI_TINH" in error["issues"][0]["path"]
    assert counts(served.gateway)["records"] == 1


def test_hoso_without_xml1_is_rejected(served: Served, pki: Pki) -> None:
    tables = visit_tables(3)
    del tables["XML1"]
    receipt = post(served, batch_with(pki.hospital, [visit_tables(4), tables]))["body"]
    assert [r["status"] for r in receipt["results"]] == ["accepted", "rejected"]
    assert receipt["results"][1]["errors"][0]["code"] == "SCHEMA_INVALID"


def test_a_batch_whose_every_hoso_fails_stores_no_record(served: Served, pki: Pki) -> None:
    bad = edit_xml1(
        visit_tables(5),
        lambda x: x.replace(b"<MA_LK>", b"<MA_LK_X>").replace(b"</MA_LK>", b"</MA_LK_X>"),
    )
    receipt = post(served, batch_with(pki.hospital, [bad]))["body"]
    assert receipt["status"] == "rejected"
    assert counts(served.gateway) == {"receipts": 1, "records": 0, "originals": 0}


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [
        ("xxe_local_file.xml", "XML_FORBIDDEN_CONSTRUCT", 400),
        ("billion_laughs.xml", "XML_FORBIDDEN_CONSTRUCT", 400),
        ("quadratic_blowup.xml", "XML_FORBIDDEN_CONSTRUCT", 400),
        ("wrong_declared_encoding.xml", "XML_MALFORMED", 400),
        ("not_well_formed.xml", "XML_MALFORMED", 400),
    ],
)
def test_attack_body_gets_its_code_and_stores_nothing(
    served: Served, name: str, code: str, status: int
) -> None:
    answer = post(served, (ATTACKS / name).read_bytes())
    assert answer["status"] == status
    assert answer["headers"]["content-type"] == "application/problem+json"
    assert answer["body"]["code"] == code
    assert counts(served.gateway)["records"] == 0
    assert counts(served.gateway)["originals"] == 0


def test_network_entity_is_refused_fetching_nothing_and_storing_nothing(
    served: Served, listener: tuple[str, list[str]]
) -> None:
    url, hits = listener
    body = f'<!DOCTYPE GIAMDINHHS [<!ENTITY x SYSTEM "{url}/x">]><GIAMDINHHS>&x;</GIAMDINHHS>'
    answer = post(served, body.encode())
    assert (answer["status"], answer["body"]["code"]) == (400, "XML_FORBIDDEN_CONSTRUCT")
    assert hits == []
    assert counts(served.gateway)["records"] == 0


def test_deep_nesting_and_huge_attribute_are_too_large(served: Served) -> None:
    for body in (b"<a>" * 10_000 + b"</a>" * 10_000, b'<a b="' + b"x" * 100_000 + b'"/>'):
        answer = post(served, body)
        assert (answer["status"], answer["body"]["code"]) == (413, "XML_TOO_LARGE")
    assert counts(served.gateway) == {"receipts": 2, "records": 0, "originals": 0}


def test_attack_inside_an_embedded_table_refuses_the_whole_batch(served: Served, pki: Pki) -> None:
    evil = {"XML1": (ATTACKS / "xxe_local_file.xml").read_bytes()}
    answer = post(served, batch_with(pki.hospital, [visit_tables(6), evil]))
    assert (answer["status"], answer["body"]["code"]) == (400, "XML_FORBIDDEN_CONSTRUCT")
    assert counts(served.gateway)["records"] == 0


def test_embedded_base64_over_the_limit_is_too_large(settings: Settings, pki: Pki) -> None:
    small = build(settings.model_copy(update={"max_base64_bytes": 1000}))
    big = {"XML1": b"<TONG_HOP>" + b"x" * 2000 + b"</TONG_HOP>"}
    with Served(small) as served:
        answer = post(served, batch_with(pki.hospital, [big]))
        assert (answer["status"], answer["body"]["code"]) == (413, "XML_TOO_LARGE")
        assert counts(small)["records"] == 0
    small.close()


def test_wrong_content_type_is_malformed(served: Served, batch: Callable[..., bytes]) -> None:
    with served.client() as http:
        answer = http.post(
            "/api/v1/claims", content=batch(1), headers={"Content-Type": "application/json"}
        )
    assert (answer.status_code, answer.json()["code"]) == (400, "XML_MALFORMED")


def test_rejection_carries_a_readable_receipt(served: Served, batch: Callable[..., bytes]) -> None:
    tampered = batch(1, seed=8).replace(b"<MACSKCB>01929<", b"<MACSKCB>01930<")
    answer = post(served, tampered)
    assert (answer["status"], answer["body"]["code"]) == (422, "SIGNATURE_INVALID")
    receipt_id = answer["body"]["receipt_id"]
    with served.client() as http:
        receipt = http.get(f"/api/v1/receipts/{receipt_id}").json()
    assert receipt["status"] == "rejected"
    assert receipt["error"]["code"] == "SIGNATURE_INVALID"
    assert receipt["sha256"] == hashlib.sha256(tampered).hexdigest()
    assert counts(served.gateway) == {"receipts": 1, "records": 0, "originals": 0}


def test_independently_signed_batch_is_accepted(served: Served, pki: Pki) -> None:
    unsigned = synth.envelope("01929", [visit_tables(9)], created=date.today())
    answer = post(served, xmlsec_sign(unsigned, pki.hospital))
    assert answer["status"] == 200 and answer["body"]["status"] == "accepted"


def test_comment_inside_signed_text_is_accepted_and_read_whole(served: Served, pki: Pki) -> None:
    # Under C14N without comments "019<!-- x -->29" digests as "01929": the signature holds, so
    # the batch is accepted, and what is stored is that digested text, never the "019" before
    # the comment. The same inside an embedded table, where the comment is part of what was
    # signed: the visit key is read whole.
    tables = visit_tables(71)
    key = synth.xml1(synth.make_visit(random.Random(71), facility_code="01929", index=71)).split(
        b"<MA_LK>"
    )[1][:17]
    split = tables["XML1"].replace(b"<MA_LK>" + key[:5], b"<MA_LK>" + key[:5] + b"<!-- c -->", 1)
    assert split != tables["XML1"]
    signed = xmlsec_sign(
        synth.envelope("01929", [{**tables, "XML1": split}], created=date.today()), pki.hospital
    )
    commented = signed.replace(b"<MACSKCB>01929<", b"<MACSKCB>019<!-- x -->29<")
    assert commented != signed
    answer = post(served, commented)
    assert answer["status"] == 200, answer
    result = answer["body"]["results"][0]
    assert result["status"] == "accepted" and result["key"] == key.decode()
    with served.client() as http:
        record = http.get(f"/api/v1/claims/{result['record_id']}").json()
    assert record["source"]["facility_code"] == "01929"
    assert record["payload"]["visit"]["visit_key"] == key.decode()


def test_signed_receipt_verifies_offline(
    served: Served,
    batch: Callable[..., bytes],
    pki: Pki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receipt = post(served, batch(1, seed=11))["body"]
    with served.client() as http:
        xml = http.get(f"/api/v1/receipts/{receipt['id']}", headers={"Accept": "application/xml"})
    assert xml.headers["content-type"] == "application/xml"
    path = tmp_path / "receipt.xml"
    path.write_bytes(xml.content)
    assert cli(["verify", str(path), "--trust", str(pki.trust_store)]) == 0
    assert "VALID signed by CN=gateway" in capsys.readouterr().out
    assert receipt["id"].encode() in xml.content and receipt["sha256"].encode() in xml.content
    path.write_bytes(xml.content.replace(b"accepted", b"rejected", 1))
    assert cli(["verify", str(path), "--trust", str(pki.trust_store)]) == 1
    assert "INVALID SIGNATURE_INVALID" in capsys.readouterr().out


def test_unknown_record_and_receipt_are_not_found(served: Served) -> None:
    with served.client() as http:
        for path in ("/api/v1/claims/01HZZZZZZZZZZZZZZZZZZZZZZZ", "/api/v1/receipts/nope"):
            answer = http.get(path)
            assert (answer.status_code, answer.json()["code"]) == (404, "NOT_FOUND")


def test_documents_over_the_inline_size_go_through_worker_threads(
    settings: Settings, batch: Callable[..., bytes]
) -> None:
    threaded = build(settings.model_copy(update={"pipeline_inline_bytes": 0}))
    with Served(threaded) as served:
        answer = post(served, batch(2, seed=31))
        again = post(served, batch(2, seed=31))
    threaded.close()
    assert (answer["status"], answer["body"]["status"]) == (200, "accepted")
    assert again["body"]["duplicate"] is True
