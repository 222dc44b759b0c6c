"""QĐ 130 understood end to end: every table, both layouts, rules per HOSO, signals, the
payload schema, and the tables kept verbatim."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from adapters.hospital import synth
from adapters.hospital.payload import VisitPayload
from tests.conftest import Pki, Served, counts
from tests.support.batches import batch_with, edit_row
from tests.support.xml_edits import append_text, drop, set_text

XML = {"Content-Type": "application/xml"}


def post(served: Served, body: bytes) -> Any:
    with served.client() as http:
        return http.post("/api/v1/claims", content=body, headers=XML)


Faulted = Callable[..., bytes]


@pytest.fixture
def faulted(pki: Pki) -> Faulted:
    """``faulted(seed, *faults, count=1, wrapper=True)``: a signed batch with those faults."""

    def make(seed: int, *faults: str, count: int = 1, wrapper: bool = True) -> bytes:
        return synth.make_batch(
            random.Random(seed),
            pki.hospital,
            "01929",
            count,
            created=date.today(),
            faults=faults,
            wrapper=wrapper,
        )[0]

    return make


@pytest.mark.parametrize(
    ("fault", "rule"),
    [
        ("line_amount", "QD130-AMOUNT-XML2"),
        ("total_mismatch", "QD130-TOTAL-T_THUOC"),
        ("bhtt_formula", "QD130-TOTAL-T_BHTT"),
        ("card_expired", "QD130-CARD-VALID"),
        ("treatment_days", "QD130-SO_NGAY_DTRI"),
        ("ma_lk_mismatch", "QD130-LINK-MA_LK"),
        ("bad_code", "QD130-CODE-MA_LOAI_KCB"),
    ],
)
def test_a_broken_rule_rejects_its_hoso_with_the_rule_id(
    served: Served, faulted: Faulted, fault: str, rule: str
) -> None:
    answer = post(served, faulted(11, fault))
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert result["status"] == "rejected"
    [error] = result["errors"]
    assert error["code"] == "RULE_VIOLATION"
    assert rule in {issue["rule"] for issue in error["issues"]}
    assert counts(served.gateway)["records"] == 0


def test_other_hosos_of_the_batch_are_judged_on_their_own(served: Served, pki: Pki) -> None:
    good = synth.make_visit(random.Random(1), facility_code="01929", index=1)
    bad = synth.inject(
        synth.make_visit(random.Random(2), facility_code="01929", index=2), ["total_mismatch"]
    )
    body = batch_with(pki.hospital, [synth.tables(good), synth.tables(bad)])
    results = post(served, body).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["errors"][0]["issues"][0]["rule"] == "QD130-TOTAL-T_THUOC"


def test_a_wrong_hoso_count_rejects_the_batch(served: Served, faulted: Faulted) -> None:
    answer = post(served, faulted(12, "count_mismatch"))
    assert (answer.status_code, answer.json()["code"]) == (422, "RULE_VIOLATION")
    assert answer.json()["issues"][0]["rule"] == "QD130-COUNT"
    assert counts(served.gateway) == {"receipts": 1, "records": 0, "originals": 0}


@pytest.mark.parametrize(
    ("fault", "signal"),
    [("high_quantity", "QUANTITY_CEILING"), ("service_outside_stay", "OUTSIDE_STAY")],
)
def test_suspicious_records_are_accepted_and_flagged(
    served: Served, faulted: Faulted, fault: str, signal: str
) -> None:
    [result] = post(served, faulted(13, fault)).json()["results"]
    assert result["status"] == "accepted"
    assert signal in {s["code"] for s in result["signals"]}
    with served.client("inspector") as http:
        listed = http.get("/api/v1/signals", params={"facility": "01929"}).json()
    assert [(s["record_id"], s["code"]) for s in listed] == [
        (result["record_id"], s["code"]) for s in result["signals"]
    ]


@pytest.mark.parametrize("wrapper", [True, False], ids=["CHITIEU-wrapper", "no-wrapper"])
def test_every_table_is_normalized_in_both_layouts(
    served: Served, faulted: Faulted, wrapper: bool
) -> None:
    body = faulted(21, count=3, wrapper=wrapper)
    results = post(served, body).json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * 3
    with served.client() as http:
        payloads = [http.get(f"/api/v1/claims/{r['record_id']}").json()["payload"] for r in results]
    for payload in payloads:
        VisitPayload.model_validate(payload)  # the published schema describes what is stored
        assert payload["drugs"] and payload["paraclinical"]
        assert payload["drugs"][0]["ordered_at"].endswith("+07:00")
        assert "." in payload["drugs"][0]["quantity"] or payload["drugs"][0]["quantity"].isdigit()
    assert any(p["clinical_notes"] for p in payloads) or all(
        p["visit"]["care_type_code"] != "03" for p in payloads
    )


def test_the_claim_payload_schema_is_published(served: Served) -> None:
    with served.client(None) as http:
        schema = http.get("/api/v1/schemas/claim-payload").json()
    assert {"visit", "drugs", "services", "paraclinical", "clinical_notes", "totals"} <= set(
        schema["properties"]
    )


def test_tables_xml6_to_xml15_are_kept_verbatim_and_unknown_ones_refused(
    served: Served, pki: Pki
) -> None:
    visit = synth.make_visit(random.Random(5), facility_code="01929", index=5)
    discharge_paper = (
        b"<CHI_TIEU_DU_LIEU_GIAY_RA_VIEN><MA_LK>x</MA_LK></CHI_TIEU_DU_LIEU_GIAY_RA_VIEN>"
    )
    kept = {**synth.tables(visit), "XML7": discharge_paper}
    other = synth.make_visit(random.Random(6), facility_code="01929", index=6)
    unknown = {**synth.tables(other), "XML99": b"<X/>"}
    results = post(served, batch_with(pki.hospital, [kept, unknown])).json()["results"]
    assert results[0]["status"] == "accepted"
    assert results[1]["status"] == "rejected"
    assert results[1]["errors"][0]["code"] == "SCHEMA_INVALID"
    with served.client() as http:
        record = http.get(f"/api/v1/claims/{results[0]['record_id']}").json()
        original = http.get(f"/api/v1/claims/{results[0]['record_id']}/original").content
    assert "XML7" in record["payload"]["tables"]
    assert b"<LOAIHOSO>XML7</LOAIHOSO>" in original


def test_a_table_failing_its_xsd_names_the_table_and_field(served: Served, pki: Pki) -> None:
    visit = synth.make_visit(random.Random(7), facility_code="01929", index=7)
    tables = synth.tables(visit)
    tables["XML2"] = tables["XML2"].replace(b"<MA_NHOM>", b"<MA_NHOM>99", 1)
    [result] = post(served, batch_with(pki.hospital, [tables])).json()["results"]
    [error] = result["errors"]
    assert error["code"] == "SCHEMA_INVALID"
    assert error["issues"][0]["table"] == "XML2" and "MA_NHOM" in error["issues"][0]["path"]


def test_a_visit_repeated_inside_one_batch_is_refused_after_its_first_hoso(
    served: Served, pki: Pki
) -> None:
    visit = synth.make_visit(random.Random(8), facility_code="01929", index=8)
    other = synth.make_visit(random.Random(9), facility_code="01929", index=9)
    body = batch_with(pki.hospital, [synth.tables(visit), synth.tables(other), synth.tables(visit)])
    results = post(served, body).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted", "rejected"]
    [error] = results[2]["errors"]
    assert error["code"] == "RULE_VIOLATION"
    assert error["issues"][0]["rule"] == "QD130-UNIQUE-MA_LK"
    assert counts(served.gateway)["records"] == 2


# XML3 rows of a synthetic visit, and the path the gateway names for a field of one of them.
ROWS = "/CHITIEU_CHITIET_DVKT_VTYT/DSACH_CHI_TIET_DVKT/CHI_TIET_DVKT"


def _visit(seed: int) -> synth.Visit:
    return synth.make_visit(random.Random(seed), facility_code="01929", index=seed)


def _tested(row: Any) -> bool:
    """An XML3 row with a result: a paraclinical test."""
    return bool(row.findtext("NGAY_KQ"))


def _supply(row: Any) -> bool:
    return bool(row.findtext("MA_NHOM") == "10")


def test_a_test_sent_to_another_facility_is_accepted_without_its_ordering_clinician(
    served: Served, pki: Pki
) -> None:
    # QĐ 4750, Bảng 3 field 33 (MA_BAC_SI): "Trường này không bắt buộc trong trường hợp thực hiện
    # chuyển gửi xét nghiệm cận lâm sàng." Such a test is coded XX.YYYY.ZZZZ.K.WWWWW in
    # MA_DICH_VU (QĐ 130 Bảng 3 field 3), WWWWW the facility that performs it.
    sent_out = edit_row(
        synth.tables(_visit(31)),
        "XML3",
        _tested,
        append_text("MA_DICH_VU", ".K.79071"),
        drop("MA_BAC_SI"),
    )
    other = _visit(32)
    ordinary = edit_row(synth.tables(other), "XML3", _tested, drop("MA_BAC_SI"))
    results = post(served, batch_with(pki.hospital, [sent_out, ordinary])).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    [error] = results[1]["errors"]
    assert error["code"] == "RULE_VIOLATION"
    [issue] = error["issues"]
    row = next(n for n, line in enumerate(other.services, 1) if line.ngay_kq is not None)
    assert (issue["rule"], issue["table"], issue["path"]) == (
        "QD130-REQUIRED-MA_BAC_SI",
        "XML3",
        f"{ROWS}[{row}]/MA_BAC_SI",
    )
    with served.client() as http:
        payload = http.get(f"/api/v1/claims/{results[0]['record_id']}").json()["payload"]
    VisitPayload.model_validate(payload)
    [line] = [s for s in payload["services"] if s.get("service_code", "").endswith(".K.79071")]
    assert "ordering_clinician_ids" not in line


def test_xml3_tt_thau_of_50_characters_is_accepted_and_of_51_refused(
    served: Served, pki: Pki
) -> None:
    # QĐ 4750, Bảng 3 field 16 (TT_THAU): "Tăng kích thước tối đa lên 50 ký tự" (it was 25), in
    # the form "Số quyết định.Mã đơn vị ban hành quyết định;Gi;Ni;XXXX".
    fifty = "1516/QĐ-SYT-TTMS-BVĐKTTTWCT-KHTH.01901;G12;N0;2024"
    first, second = [v for v in map(_visit, range(100)) if _supplies(v)][:2]
    accepted = edit_row(synth.tables(first), "XML3", _supply, set_text("TT_THAU", fifty))
    refused = edit_row(synth.tables(second), "XML3", _supply, set_text("TT_THAU", "9" + fifty))
    results = post(served, batch_with(pki.hospital, [accepted, refused])).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    [error] = results[1]["errors"]
    assert error["code"] == "SCHEMA_INVALID"
    [issue] = error["issues"]
    assert (issue["table"], issue["path"]) == ("XML3", f"{ROWS}[{_supplies(second)[0]}]/TT_THAU")


def _supplies(visit: synth.Visit) -> list[int]:
    """The 1-based XML3 row numbers of the visit's supplies."""
    return [n for n, line in enumerate(visit.services, 1) if line.service.is_supply]
