"""Normalization of the line tables XML2–XML5 (drugs, services and supplies, results, notes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from adapters.hospital import values as v
from gateway.errors import Issue

# Field meanings, types and list separators from QĐ 130/QĐ-BYT Bảng 2–5 as amended by
# QĐ 4750/QĐ-BYT (QD130.md section B, [S2]). Names become English snake_case, date-times ISO 8601
# in Vietnam time, money, quantities and unit prices exact decimal strings, ratios integers,
# codes verbatim strings, ";"-separated fields lists of strings. A missing or blank element is left
# out of the line, as in XML1 (adapters.hospital.xml1).

Convert = Callable[[str], Any]


def text(value: str) -> str:
    """A string or code, verbatim."""
    return value


# Columns shared by the two cost tables, in XML2 order [B XML2 20–30, XML3 19–30; C2].
_COST: dict[str, tuple[str, Convert]] = {
    "THANH_TIEN_BV": ("amount_at_hospital_prices", v.decimal),
    "THANH_TIEN_BH": ("amount_within_insurance_scope", v.decimal),
    "T_NGUONKHAC_NSNN": ("other_sources_state_budget", v.decimal),
    "T_NGUONKHAC_VTNN": ("other_sources_foreign_aid", v.decimal),
    "T_NGUONKHAC_VTTN": ("other_sources_domestic_aid", v.decimal),
    "T_NGUONKHAC_CL": ("other_sources_remaining", v.decimal),
    "T_NGUONKHAC": ("other_sources", v.decimal),
    "MUC_HUONG": ("benefit_level_pct", v.integer),
    "T_BNTT": ("patient_self_pay", v.decimal),
    "T_BNCCT": ("patient_copayment", v.decimal),
    "T_BHTT": ("insurance_payment", v.decimal),
}

# XML2 CHI_TIET_THUOC, field → (English name, conversion) [B XML2].
DRUG_FIELDS: dict[str, tuple[str, Convert]] = {
    "MA_LK": ("visit_key", text),
    "STT": ("sequence", v.integer),
    "MA_THUOC": ("drug_code", text),
    "MA_PP_CHEBIEN": ("processing_method_code", text),
    "MA_CSKCB_THUOC": ("supplying_facility_code", text),  # C.XXXXX, K.XXXXX, M.…, HC.…
    "MA_NHOM": ("cost_group_code", text),
    "TEN_THUOC": ("name", text),
    "DON_VI_TINH": ("unit", text),
    "HAM_LUONG": ("strength", text),
    "DUONG_DUNG": ("route_code", text),
    "DANG_BAO_CHE": ("dosage_form", text),
    "LIEU_DUNG": ("dose", text),
    "CACH_DUNG": ("directions", text),
    "SO_DANG_KY": ("registration_number", text),
    "TT_THAU": ("tender", v.split_list),  # decision no.;package;group;year[;Gi.YY]
    "PHAM_VI": ("scope_code", text),
    "TYLE_TT_BH": ("insurance_ratio_pct", v.integer),
    "SO_LUONG": ("quantity", v.decimal),
    "DON_GIA": ("unit_price", v.decimal),
    **_COST,
    "MA_KHOA": ("department_codes", v.split_list),
    "MA_BAC_SI": ("ordering_clinician_ids", v.split_list),
    "MA_DICH_VU": ("service_codes", v.split_list),  # several DVKT ";"-separated since 4750
    "NGAY_YL": ("ordered_at", v.date_time),
    "NGAY_TH_YL": ("performed_at", v.date_time),
    "MA_PTTT": ("payment_method_code", text),
    "NGUON_CTRA": ("funding_source_code", text),
    "VET_THUONG_TP": ("war_wound_code", text),
    "DU_PHONG": ("reserved", text),
}

# XML3 CHI_TIET_DVKT, field → (English name, conversion) [B XML3].
SERVICE_FIELDS: dict[str, tuple[str, Convert]] = {
    "MA_LK": ("visit_key", text),
    "STT": ("sequence", v.integer),
    "MA_DICH_VU": ("service_code", text),
    "MA_PTTT_QT": ("procedure_icd9cm", v.split_list),
    "MA_VAT_TU": ("supply_code", text),
    "MA_NHOM": ("cost_group_code", text),
    "GOI_VTYT": ("supply_bundle", text),
    "TEN_VAT_TU": ("supply_name", text),
    "TEN_DICH_VU": ("service_name", text),
    "MA_XANG_DAU": ("fuel_code", text),
    "DON_VI_TINH": ("unit", text),
    "PHAM_VI": ("scope_code", text),
    "SO_LUONG": ("quantity", v.decimal),
    "DON_GIA_BV": ("unit_price_hospital", v.decimal),
    "DON_GIA_BH": ("unit_price_insurance", v.decimal),
    "TT_THAU": ("tender", v.split_list),
    "TYLE_TT_DV": ("service_ratio_pct", v.integer),
    "TYLE_TT_BH": ("insurance_ratio_pct", v.integer),
    "THANH_TIEN_BV": _COST["THANH_TIEN_BV"],
    "THANH_TIEN_BH": _COST["THANH_TIEN_BH"],
    "T_TRANTT": ("bundle_ceiling", v.decimal),
    "MUC_HUONG": _COST["MUC_HUONG"],
    **{name: entry for name, entry in _COST.items() if name.startswith("T_")},
    "MA_KHOA": ("department_codes", v.split_list),
    "MA_GIUONG": ("bed_codes", v.split_list),  # one per bed moved through, ";"-separated
    "MA_BAC_SI": ("ordering_clinician_ids", v.split_list),
    "NGUOI_THUC_HIEN": ("performer_ids", v.split_list),
    "MA_BENH": ("icd10_codes", v.split_list),
    "MA_BENH_YHCT": ("traditional_medicine_codes", v.split_list),
    "NGAY_YL": ("ordered_at", v.date_time),
    "NGAY_TH_YL": ("performed_at", v.date_time),
    "NGAY_KQ": ("resulted_at", v.date_time),
    "MA_PTTT": ("payment_method_code", text),
    "VET_THUONG_TP": ("war_wound_code", text),
    "PP_VO_CAM": ("anaesthesia_code", text),
    "VI_TRI_TH_DVKT": ("body_site_code", text),
    "MA_MAY": ("machine_codes", v.split_list),  # a machine system lists every serial
    "MA_HIEU_SP": ("product_model", text),
    "TAI_SU_DUNG": ("reusable_code", text),
    "DU_PHONG": ("reserved", text),
}

# XML4 CHI_TIET_CLS, field → (English name, conversion) [B XML4].
PARACLINICAL_FIELDS: dict[str, tuple[str, Convert]] = {
    "MA_LK": ("visit_key", text),
    "STT": ("sequence", v.integer),
    "MA_DICH_VU": ("service_code", text),
    "MA_CHI_SO": ("indicator_code", text),
    "TEN_CHI_SO": ("indicator_name", text),
    "GIA_TRI": ("value", text),  # free text: "5.6", "âm tính", "120/80"
    "DON_VI_DO": ("unit", text),
    "MO_TA": ("description", text),
    "KET_LUAN": ("conclusion", text),
    "NGAY_KQ": ("resulted_at", v.date_time),
    "MA_BS_DOC_KQ": ("result_reader_ids", v.split_list),
    "DU_PHONG": ("reserved", text),
}

# XML5 CHI_TIET_DIEN_BIEN_BENH, field → (English name, conversion) [B XML5].
CLINICAL_NOTE_FIELDS: dict[str, tuple[str, Convert]] = {
    "MA_LK": ("visit_key", text),
    "STT": ("sequence", v.integer),
    "DIEN_BIEN_LS": ("progress", text),
    "GIAI_DOAN_BENH": ("disease_stage", text),
    "HOI_CHAN": ("consultation", text),
    "PHAU_THUAT": ("surgery", text),
    "THOI_DIEM_DBLS": ("noted_at", v.date_time),
    "NGUOI_THUC_HIEN": ("performer_ids", v.split_list),
    "DU_PHONG": ("reserved", text),
}


@dataclass(frozen=True)
class LineTable:
    """One line table: its LOAIHOSO, the row element, the payload section it fills, its fields."""

    kind: str
    row: str
    section: str
    fields: Mapping[str, tuple[str, Convert]]


# Row elements of each table [A "Inner document roots"]. Rows are found wherever they are, so
# both exporter layouts work: with the CHITIEU_* wrapper and with DSACH_* as the root [S13].
DRUGS = LineTable("XML2", "CHI_TIET_THUOC", "drugs", DRUG_FIELDS)
SERVICES = LineTable("XML3", "CHI_TIET_DVKT", "services", SERVICE_FIELDS)
PARACLINICAL = LineTable("XML4", "CHI_TIET_CLS", "paraclinical", PARACLINICAL_FIELDS)
CLINICAL_NOTES = LineTable(
    "XML5", "CHI_TIET_DIEN_BIEN_BENH", "clinical_notes", CLINICAL_NOTE_FIELDS
)
TABLES: tuple[LineTable, ...] = (DRUGS, SERVICES, PARACLINICAL, CLINICAL_NOTES)


def rows(table: etree._Element, spec: LineTable) -> list[etree._Element]:
    """The row elements of ``table``, in document order (the order of the normalized lines)."""
    return list(table.iter(spec.row))


def normalize(table: etree._Element, spec: LineTable) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The lines of one schema-valid table, and the values that could not be converted."""
    lines: list[dict[str, Any]] = []
    issues: list[Issue] = []
    fields = spec.fields
    for row in table.iter(spec.row):
        line: dict[str, Any] = {}
        for child in row:
            # A comment's tag is a function, never a key of the field table: no type test needed.
            field = fields.get(child.tag)
            if field is None:
                continue
            raw = child.text
            value = raw.strip() if raw else ""
            if not value:
                continue
            name, convert = field
            try:
                line[name] = convert(value)
            except v.ValueProblem as exc:
                path = child.getroottree().getpath(child)
                issues.append(Issue(message=str(exc), path=path, table=spec.kind))
        lines.append(line)
    return lines, issues
