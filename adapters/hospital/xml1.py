"""Normalization of table XML1 (TONG_HOP, the visit summary) into the common record's payload.

Field meanings from QĐ 130/QĐ-BYT Bảng 1 as amended by QĐ 4750/QĐ-BYT (QD130.md section B, [S2]).
Codes are kept verbatim; names become English snake_case; dates ISO 8601 in Vietnam time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from adapters.hospital import values as v
from gateway.errors import Issue, SchemaInvalid
from gateway.records.model import Gender, Subject

Convert = Callable[[str], Any]


# XML1 field → (payload section, English name, conversion). Sections group what an assessor reads
# together; the card fields are handled apart because they align by position.
FIELDS: dict[str, tuple[str, str, Convert]] = {
    "MA_LK": ("visit", "visit_key", v.text),
    "STT": ("visit", "sequence", v.integer),
    "MA_BN": ("patient", "patient_id", v.text),
    "HO_TEN": ("patient", "full_name", v.text),
    "SO_CCCD": ("patient", "citizen_id", v.text),
    "NGAY_SINH": ("patient", "date_of_birth", v.partial_date),
    "GIOI_TINH": ("patient", "gender_code", v.text),
    "NHOM_MAU": ("patient", "blood_group", v.text),
    "MA_QUOCTICH": ("patient", "nationality_code", v.text),
    "MA_DANTOC": ("patient", "ethnicity_code", v.text),
    "MA_NGHE_NGHIEP": ("patient", "occupation_code", v.text),
    "DIA_CHI": ("patient", "address", v.text),
    "MATINH_CU_TRU": ("patient", "province_code", v.text),
    "MAHUYEN_CU_TRU": ("patient", "district_code", v.text),
    "MAXA_CU_TRU": ("patient", "commune_code", v.text),
    "DIEN_THOAI": ("patient", "phone", v.text),
    "CAN_NANG": ("patient", "weight_kg", v.decimal),
    "CAN_NANG_CON": ("patient", "newborn_weights_g", v.split_list),
    "NGAY_MIEN_CCT": ("coverage", "copayment_exempt_from", v.partial_date),
    "NAM_NAM_LIEN_TUC": ("coverage", "five_consecutive_years_from", v.partial_date),
    "MA_KHUVUC": ("coverage", "area_code", v.text),
    "MA_DOITUONG_KCB": ("coverage", "patient_category_code", v.text),
    "LY_DO_VV": ("visit", "visit_reason", v.text),
    "LY_DO_VNT": ("visit", "admission_reason", v.text),
    "MA_LY_DO_VNT": ("visit", "admission_reason_code", v.text),
    "MA_NOI_DI": ("visit", "referred_from", v.text),
    "MA_NOI_DEN": ("visit", "referred_to", v.text),
    "MA_TAI_NAN": ("visit", "accident_code", v.text),
    "NGAY_VAO": ("visit", "arrived_at", v.date_time),
    "NGAY_VAO_NOI_TRU": ("visit", "admitted_at", v.date_time),
    "NGAY_RA": ("visit", "discharged_at", v.date_time),
    "GIAY_CHUYEN_TUYEN": ("visit", "referral_letter_number", v.text),
    "SO_NGAY_DTRI": ("visit", "treatment_days", v.integer),
    "PP_DIEU_TRI": ("visit", "treatment_method", v.text),
    "KET_QUA_DTRI": ("visit", "outcome_code", v.text),
    "MA_LOAI_RV": ("visit", "discharge_type_code", v.text),
    "GHI_CHU": ("visit", "discharge_notes", v.text),
    "NGAY_TTOAN": ("visit", "paid_at", v.date_time),
    "MA_LOAI_KCB": ("visit", "care_type_code", v.text),
    "MA_KHOA": ("visit", "department_codes", v.split_list),
    "MA_CSKCB": ("visit", "facility_code", v.text),
    "NGAY_TAI_KHAM": ("visit", "follow_up_dates", lambda t: [v.date(d) for d in v.split_list(t)]),
    "MA_HSBA": ("visit", "medical_record_number", v.text),
    "MA_TTDV": ("visit", "facility_head_si_number", v.text),
    "CHAN_DOAN_VAO": ("diagnoses", "admission_text", v.text),
    "CHAN_DOAN_RV": ("diagnoses", "discharge_text", v.text),
    "MA_BENH_CHINH": ("diagnoses", "main_icd10", v.text),
    "MA_BENH_KT": ("diagnoses", "comorbidity_icd10", v.split_list),
    "MA_BENH_YHCT": ("diagnoses", "traditional_medicine_codes", v.split_list),
    "MA_PTTT_QT": ("diagnoses", "procedure_icd9cm", v.split_list),
    "T_THUOC": ("totals", "drugs", v.decimal),
    "T_VTYT": ("totals", "medical_supplies", v.decimal),
    "T_TONGCHI_BV": ("totals", "total_at_hospital_prices", v.decimal),
    "T_TONGCHI_BH": ("totals", "total_within_insurance_scope", v.decimal),
    "T_BNTT": ("totals", "patient_self_pay", v.decimal),
    "T_BNCCT": ("totals", "patient_copayment", v.decimal),
    "T_BHTT": ("totals", "insurance_payment", v.decimal),
    "T_NGUONKHAC": ("totals", "other_sources", v.decimal),
    "T_BHTT_GDV": ("totals", "insurance_payment_outside_package", v.decimal),
    "NAM_QT": ("settlement", "year", v.integer),
    "THANG_QT": ("settlement", "month", v.integer),
    "DU_PHONG": ("visit", "reserved", v.text),
}
CARD_FIELDS = ("MA_THE_BHYT", "MA_DKBD", "GT_THE_TU", "GT_THE_DEN")

_GENDERS: dict[str, Gender] = {"1": "male", "2": "female", "3": "undetermined"}


def cards_of(texts: dict[str, str]) -> list[dict[str, str | None]]:
    """One entry per card: the four card fields carry one value each, in the same order."""
    lists = {name: v.split_list(texts[name]) if texts.get(name) else [] for name in CARD_FIELDS}
    cards = []
    for i, number in enumerate(lists["MA_THE_BHYT"]):

        def at(name: str, i: int = i) -> str | None:
            values = lists[name]
            return values[i] if i < len(values) and values[i] else None

        valid_from, valid_to = at("GT_THE_TU"), at("GT_THE_DEN")
        cards.append(
            {
                "number": number,
                "registered_facility": at("MA_DKBD"),
                "valid_from": v.date(valid_from) if valid_from else None,
                "valid_to": v.date(valid_to) if valid_to else None,
            }
        )
    return cards


def texts_of(row: etree._Element) -> dict[str, str]:
    """The non-blank text of each child element of ``row``, stripped."""
    texts: dict[str, str] = {}
    for child in row:
        text = child.text.strip() if child.text and isinstance(child.tag, str) else ""
        if text:
            texts[child.tag] = text
    return texts


def sections(
    texts: dict[str, str], fields: dict[str, tuple[str, str, Convert]], *, where: str, table: str
) -> tuple[dict[str, Any], list[Issue]]:
    """Payload sections from a row's texts by a field table, the cards apart; and the values
    that could not be converted, as issues located under ``where``."""
    payload: dict[str, Any] = {}
    issues = []
    for tag, text in texts.items():
        if tag not in fields:
            continue
        section, name, convert = fields[tag]
        try:
            payload.setdefault(section, {})[name] = convert(text)
        except v.ValueProblem as exc:
            issues.append(Issue(message=str(exc), path=f"{where}/{tag}", table=table))
    try:
        payload["cards"] = cards_of(texts)
    except v.ValueProblem as exc:
        issues.append(Issue(message=str(exc), path=f"{where}/GT_THE_TU", table=table))
    return payload, issues


def subject_of(payload: dict[str, Any]) -> Subject:
    """The person of a visit payload: patient section and first card."""
    first_card = payload["cards"][0]["number"] if payload.get("cards") else None
    patient = payload.get("patient", {})
    return Subject(
        citizen_id=patient.get("citizen_id"),
        # The last 10 characters of a 15-character HI card number are the holder's SI number
        # (card code structure, QĐ 1666/QĐ-BHXH 2020).
        si_number=first_card[-10:] if first_card and len(first_card) == 15 else None,
        hi_card_number=first_card,
        full_name=patient.get("full_name"),
        date_of_birth=patient.get("date_of_birth"),
        gender=_GENDERS.get(patient.get("gender_code", "")),
    )


def normalize(table: etree._Element) -> tuple[Subject, dict[str, Any]]:
    """The subject and payload sections of one XML1 ``TONG_HOP`` (already schema-valid)."""
    payload, issues = sections(texts_of(table), FIELDS, where="/TONG_HOP", table="XML1")
    if issues:
        raise SchemaInvalid(
            "XML1 holds values that are not what their fields require", issues=issues
        )
    return subject_of(payload), payload
