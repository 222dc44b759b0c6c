"""Normalizing one visit: XML1 sections plus the drug, service, result and note lines."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from adapters.hospital import lines, xml1
from adapters.hospital.visit import normalize_visit
from gateway.errors import SchemaInvalid
from gateway.xml.parser import XmlLimits, parse
from tests.adapters.hospital import visits

MA_LK = "79071240315000042"

DRUG = {
    "MA_LK": MA_LK,
    "STT": "1",
    "MA_THUOC": "40.223",
    "MA_CSKCB_THUOC": "HC.01929",
    "MA_NHOM": "4",
    "TEN_THUOC": "Ceftriaxon <1g> & nước cất",
    "DON_VI_TINH": "Lọ",
    "HAM_LUONG": "1g",
    "DUONG_DUNG": "2.15",
    "LIEU_DUNG": "1 lọ/lần x 2 lần/ngày",
    "TT_THAU": "57/QĐ-TTMS;G1;N1;2022;G2.01",
    "PHAM_VI": "1",
    "TYLE_TT_BH": "100",
    "SO_LUONG": "1.500",
    "DON_GIA": "18500.125",
    "THANH_TIEN_BV": "27750.19",
    "THANH_TIEN_BH": "27750.19",
    "T_NGUONKHAC_NSNN": "0",
    "T_NGUONKHAC_VTNN": "0.00",
    "T_NGUONKHAC_VTTN": "0.00",
    "T_NGUONKHAC_CL": "0.00",
    "T_NGUONKHAC": "0.00",
    "MUC_HUONG": "080",
    "T_BNTT": "0.00",
    "T_BNCCT": "5550.04",
    "T_BHTT": "22200.15",
    "MA_KHOA": "K03;K26",
    "MA_BAC_SI": "001234/BYT-CCHN;005678/HCM-CCHN",
    "MA_DICH_VU": "02.1896;18.0119.0028",
    "NGAY_YL": "202403150830",
    "NGAY_TH_YL": "202403150845",
    "MA_PTTT": "1",
    "NGUON_CTRA": "1",
}
SERVICE = {
    "MA_LK": MA_LK,
    "STT": "1",
    "MA_DICH_VU": "K03.1906",
    "MA_NHOM": "15",
    "TEN_DICH_VU": "Ngày giường bệnh Nội khoa loại 1",
    "DON_VI_TINH": "Ngày",
    "PHAM_VI": "1",
    "SO_LUONG": "0.5",
    "DON_GIA_BV": "218500",
    "DON_GIA_BH": "218500",
    "TYLE_TT_DV": "50",
    "TYLE_TT_BH": "100",
    "THANH_TIEN_BV": "54625.00",
    "THANH_TIEN_BH": "54625.00",
    "MUC_HUONG": "100",
    "MA_GIUONG": "H001;T002",
    "NGAY_YL": "202403151000",
    "NGAY_KQ": "202403160700",
    "MA_PTTT": "1",
    "MA_MAY": "XQ.1.79071.SN123;XQ.1.79071.SN124",
}


def _lines(kind: str, rows: list[dict[str, str]], *, wrapped: bool = True) -> list[dict[str, Any]]:
    spec = next(spec for spec in lines.TABLES if spec.kind == kind)
    found, issues = lines.normalize(
        parse(visits.table(kind, rows, wrapped=wrapped), XmlLimits()), spec
    )
    assert not issues
    return found


def test_a_drug_line_has_english_names_iso_dates_and_exact_decimals() -> None:
    (drug,) = _lines("XML2", [DRUG])
    assert drug == {
        "visit_key": MA_LK,
        "sequence": 1,
        "drug_code": "40.223",
        "supplying_facility_code": "HC.01929",
        "cost_group_code": "4",
        "name": "Ceftriaxon <1g> & nước cất",  # CDATA, read as text
        "unit": "Lọ",
        "strength": "1g",
        "route_code": "2.15",
        "dose": "1 lọ/lần x 2 lần/ngày",
        "tender": ["57/QĐ-TTMS", "G1", "N1", "2022", "G2.01"],
        "scope_code": "1",
        "insurance_ratio_pct": 100,
        "quantity": "1.500",
        "unit_price": "18500.125",
        "amount_at_hospital_prices": "27750.19",
        "amount_within_insurance_scope": "27750.19",
        "other_sources_state_budget": "0",
        "other_sources_foreign_aid": "0.00",
        "other_sources_domestic_aid": "0.00",
        "other_sources_remaining": "0.00",
        "other_sources": "0.00",
        "benefit_level_pct": 80,
        "patient_self_pay": "0.00",
        "patient_copayment": "5550.04",
        "insurance_payment": "22200.15",
        "department_codes": ["K03", "K26"],
        "ordering_clinician_ids": ["001234/BYT-CCHN", "005678/HCM-CCHN"],
        "service_codes": ["02.1896", "18.0119.0028"],
        "ordered_at": "2024-03-15T08:30:00+07:00",
        "performed_at": "2024-03-15T08:45:00+07:00",
        "payment_method_code": "1",
        "funding_source_code": "1",
    }


def test_a_service_line_keeps_ratios_and_splits_beds_and_machines() -> None:
    (service,) = _lines("XML3", [SERVICE])
    assert service["service_code"] == "K03.1906"
    assert service["quantity"] == "0.5"
    assert service["unit_price_hospital"] == "218500"
    assert (service["service_ratio_pct"], service["insurance_ratio_pct"]) == (50, 100)
    assert service["bed_codes"] == ["H001", "T002"]
    assert service["machine_codes"] == ["XQ.1.79071.SN123", "XQ.1.79071.SN124"]
    assert service["resulted_at"] == "2024-03-16T07:00:00+07:00"
    assert "supply_code" not in service  # an empty element is left out, never null


def test_paraclinical_results_and_clinical_notes() -> None:
    (result,) = _lines(
        "XML4",
        [
            {
                "MA_LK": MA_LK,
                "STT": "1",
                "MA_DICH_VU": "23.0075.1494",
                "MA_CHI_SO": "GLU",
                "TEN_CHI_SO": "Glucose",
                "GIA_TRI": "5.6",
                "DON_VI_DO": "mmol/L",
                "MO_TA": "Đường huyết lúc đói",
                "KET_LUAN": "Bình thường",
                "NGAY_KQ": "202403150930",
                "MA_BS_DOC_KQ": "004321/BYT-CCHN",
            }
        ],
    )
    assert result == {
        "visit_key": MA_LK,
        "sequence": 1,
        "service_code": "23.0075.1494",
        "indicator_code": "GLU",
        "indicator_name": "Glucose",
        "value": "5.6",  # a result is text: "âm tính" and "120/80" are results too
        "unit": "mmol/L",
        "description": "Đường huyết lúc đói",
        "conclusion": "Bình thường",
        "resulted_at": "2024-03-15T09:30:00+07:00",
        "result_reader_ids": ["004321/BYT-CCHN"],
    }
    (note,) = _lines(
        "XML5",
        [
            {
                "MA_LK": MA_LK,
                "STT": "1",
                "DIEN_BIEN_LS": "CSST<M75_T37_HA120/70_NT18_HL2>\nTỉnh, tiếp xúc tốt",
                "HOI_CHAN": "Hội chẩn khoa: tiếp tục kháng sinh",
                "THOI_DIEM_DBLS": "202403151420",
                "NGUOI_THUC_HIEN": "001234/BYT-CCHN;009876/BYT-CCHN",
            }
        ],
    )
    assert note == {
        "visit_key": MA_LK,
        "sequence": 1,
        "progress": "CSST<M75_T37_HA120/70_NT18_HL2>\nTỉnh, tiếp xúc tốt",
        "consultation": "Hội chẩn khoa: tiếp tục kháng sinh",
        "noted_at": "2024-03-15T14:20:00+07:00",
        "performer_ids": ["001234/BYT-CCHN", "009876/BYT-CCHN"],
    }


@pytest.mark.parametrize("kind", ["XML2", "XML3", "XML4", "XML5"])
def test_both_exporter_layouts_give_the_same_lines(kind: str) -> None:
    raw = visits.raw_tables(visits.make_visit(visits.first_seed(visits.inpatient)))
    wrapped = parse(raw[kind], XmlLimits())
    assert wrapped.tag.startswith("CHITIEU_")
    bare = wrapped[0]  # the DSACH_* list as the document root, as QĐ 4210-era exporters wrote
    spec = next(spec for spec in lines.TABLES if spec.kind == kind)
    with_wrapper, _ = lines.normalize(wrapped, spec)
    without_wrapper, _ = lines.normalize(parse(etree.tostring(bare), XmlLimits()), spec)
    assert with_wrapper == without_wrapper
    assert len(with_wrapper) > 0


@pytest.mark.parametrize(
    ("spec", "official"),
    [
        (lines.DRUGS, visits.OFFICIAL_FIELDS["XML2"]),
        (lines.SERVICES, visits.OFFICIAL_FIELDS["XML3"]),
        (lines.PARACLINICAL, visits.OFFICIAL_FIELDS["XML4"]),
        (lines.CLINICAL_NOTES, visits.OFFICIAL_FIELDS["XML5"]),
    ],
)
def test_every_official_field_is_mapped_to_a_distinct_name(
    spec: lines.LineTable, official: tuple[str, ...]
) -> None:
    assert list(spec.fields) == list(official)
    names = [name for name, _ in spec.fields.values()]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("spec", lines.TABLES, ids=lambda spec: spec.kind)
def test_a_row_with_every_field_filled_keeps_every_field(spec: lines.LineTable) -> None:
    document = visits.table(spec.kind, [visits.full_row(spec)])
    (line,), issues = lines.normalize(parse(document, XmlLimits()), spec)
    assert not issues
    assert set(line) == {name for name, _ in spec.fields.values()}  # no silent drops


def test_a_visit_payload_extends_the_summary_with_its_lines() -> None:
    tables = visits.visit_tables(visits.first_seed(visits.inpatient))
    subject, payload = normalize_visit(tables)
    summary_subject, summary = xml1.normalize(tables["XML1"])
    assert subject == summary_subject
    for section in ("visit", "patient", "coverage", "diagnoses", "totals", "settlement", "cards"):
        assert payload[section] == summary.get(section, {})
    assert len(payload["drugs"]) == len(visits.rows(tables, "XML2"))
    assert len(payload["services"]) == len(visits.rows(tables, "XML3"))
    assert len(payload["paraclinical"]) == len(visits.rows(tables, "XML4"))
    assert len(payload["clinical_notes"]) == len(visits.rows(tables, "XML5")) > 0
    first = payload["drugs"][0]
    assert first["visit_key"] == payload["visit"]["visit_key"]
    assert first["ordered_at"].endswith("+07:00")


def test_tables_not_sent_give_empty_lists_and_other_tables_are_ignored() -> None:
    raw = visits.raw_tables(visits.make_visit(1))
    tables = visits.parsed({"XML1": raw["XML1"], "XML7": raw["XML1"]})
    _, payload = normalize_visit(tables)
    assert payload["drugs"] == payload["services"] == []
    assert payload["paraclinical"] == payload["clinical_notes"] == []
    assert "XML7" not in payload


def test_an_impossible_date_names_its_table_and_row() -> None:
    tables = visits.visit_tables(visits.first_seed(lambda v: len(v.drugs) > 1))
    visits.put(visits.rows(tables, "XML2")[1], "NGAY_YL", "202402300800")  # 30 February
    with pytest.raises(SchemaInvalid) as caught:
        normalize_visit(tables)
    (issue,) = caught.value.issues
    assert issue.table == "XML2"
    assert issue.path == "/CHITIEU_CHITIET_THUOC/DSACH_CHI_TIET_THUOC/CHI_TIET_THUOC[2]/NGAY_YL"
    assert "202402300800" in issue.message


def test_summary_and_line_problems_are_reported_together() -> None:
    tables = visits.visit_tables(visits.first_seed(visits.inpatient))
    visits.put(tables["XML1"], "NGAY_RA", "202413010800")  # month 13
    visits.put(visits.rows(tables, "XML5")[0], "THOI_DIEM_DBLS", "202401012460")  # minute 60
    with pytest.raises(SchemaInvalid) as caught:
        normalize_visit(tables)
    assert {(i.table, i.path) for i in caught.value.issues} == {
        ("XML1", "/TONG_HOP/NGAY_RA"),
        (
            "XML5",
            "/CHITIEU_CHITIET_DIENBIENLAMSANG/DSACH_CHI_TIET_DIEN_BIEN_BENH"
            "/CHI_TIET_DIEN_BIEN_BENH[1]/THOI_DIEM_DBLS",
        ),
    }


def test_a_visit_without_a_summary_is_refused() -> None:
    tables = visits.visit_tables(4)
    del tables["XML1"]
    with pytest.raises(SchemaInvalid) as caught:
        normalize_visit(tables)
    assert [i.table for i in caught.value.issues] == ["XML1"]
