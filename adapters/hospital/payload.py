"""The published shape of a QĐ 130 visit's payload: pydantic models and their JSON Schema.

``visit.normalize_visit`` builds plain dicts on the hot path; these models describe those dicts
exactly and are used only to publish the JSON Schema and, in the tests, to validate real
payloads (strict mode, no extra keys), so the schema cannot drift from the code.

Conventions: a field is left out when its element was missing or blank, so a property is
*required* only where the table's XSD requires a non-empty element; nothing is ever ``null``
except the card fields, which align by position. Field descriptions name the official field
(QD130.md section B).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue, SkipJsonSchema
from pydantic_core import core_schema

T = TypeVar("T")
# A property that is absent when the field was not sent (never null in a real payload).
Omittable = Union[T, SkipJsonSchema[None]]  # noqa: UP007 - a generic alias needs Union

DecimalText = Annotated[
    str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", description="an exact decimal number")
]
DateTimeText = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:00\+07:00$",
        description="ISO 8601 date-time in Vietnam time",
    ),
]
DateText = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
PartialDateText = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$",
        description="ISO 8601 date; an unknown day or month is left out",
    ),
]


def _req(official: str) -> Any:
    return Field(description=official)


def _opt(official: str) -> Any:
    return Field(default=None, description=official)


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# --- XML1 sections (adapters.hospital.xml1.FIELDS) ----------------------------------------------


class VisitSection(_Model):
    """The episode: keys, dates, care type, outcome, discharge."""

    visit_key: str = _req("MA_LK")
    sequence: Omittable[int] = _opt("STT")
    visit_reason: str = _req("LY_DO_VV")
    admission_reason: Omittable[str] = _opt("LY_DO_VNT")
    admission_reason_code: Omittable[str] = _opt("MA_LY_DO_VNT")
    referred_from: Omittable[str] = _opt("MA_NOI_DI")
    referred_to: Omittable[str] = _opt("MA_NOI_DEN")
    accident_code: Omittable[str] = _opt("MA_TAI_NAN")
    arrived_at: DateTimeText = _req("NGAY_VAO")
    admitted_at: Omittable[DateTimeText] = _opt("NGAY_VAO_NOI_TRU")
    discharged_at: DateTimeText = _req("NGAY_RA")
    referral_letter_number: Omittable[str] = _opt("GIAY_CHUYEN_TUYEN")
    treatment_days: int = _req("SO_NGAY_DTRI")
    treatment_method: Omittable[str] = _opt("PP_DIEU_TRI")
    outcome_code: str = _req("KET_QUA_DTRI")
    discharge_type_code: str = _req("MA_LOAI_RV")
    discharge_notes: Omittable[str] = _opt("GHI_CHU")
    paid_at: Omittable[DateTimeText] = _opt("NGAY_TTOAN")
    care_type_code: str = _req("MA_LOAI_KCB")
    department_codes: list[str] = _req("MA_KHOA")
    facility_code: str = _req("MA_CSKCB")
    follow_up_dates: Omittable[list[DateText]] = _opt("NGAY_TAI_KHAM")
    medical_record_number: str = _req("MA_HSBA")
    facility_head_si_number: Omittable[str] = _opt("MA_TTDV")
    reserved: Omittable[str] = _opt("DU_PHONG")


class Patient(_Model):
    """Who was treated, as the facility recorded it."""

    patient_id: str = _req("MA_BN")
    full_name: str = _req("HO_TEN")
    citizen_id: Omittable[str] = _opt("SO_CCCD")
    date_of_birth: PartialDateText = _req("NGAY_SINH")
    gender_code: str = _req("GIOI_TINH")
    blood_group: Omittable[str] = _opt("NHOM_MAU")
    nationality_code: str = _req("MA_QUOCTICH")
    ethnicity_code: str = _req("MA_DANTOC")
    occupation_code: str = _req("MA_NGHE_NGHIEP")
    address: str = _req("DIA_CHI")
    province_code: str = _req("MATINH_CU_TRU")
    district_code: str = _req("MAHUYEN_CU_TRU")
    commune_code: str = _req("MAXA_CU_TRU")
    phone: Omittable[str] = _opt("DIEN_THOAI")
    weight_kg: DecimalText = _req("CAN_NANG")
    newborn_weights_g: Omittable[list[str]] = _opt("CAN_NANG_CON")


class Coverage(_Model):
    """Insurance status of the visit besides the cards."""

    copayment_exempt_from: Omittable[PartialDateText] = _opt("NGAY_MIEN_CCT")
    five_consecutive_years_from: Omittable[PartialDateText] = _opt("NAM_NAM_LIEN_TUC")
    area_code: Omittable[str] = _opt("MA_KHUVUC")
    patient_category_code: str = _req("MA_DOITUONG_KCB")


class Card(_Model):
    """One HI card: the four card fields of XML1 at the same ";" position."""

    number: str = _req("MA_THE_BHYT")
    registered_facility: str | None = _req("MA_DKBD")
    valid_from: DateText | None = _req("GT_THE_TU")
    valid_to: DateText | None = _req("GT_THE_DEN")


class Diagnoses(_Model):
    """Diagnoses and procedures of the episode."""

    admission_text: str = _req("CHAN_DOAN_VAO")
    discharge_text: str = _req("CHAN_DOAN_RV")
    main_icd10: str = _req("MA_BENH_CHINH")
    comorbidity_icd10: Omittable[list[str]] = _opt("MA_BENH_KT")
    traditional_medicine_codes: Omittable[list[str]] = _opt("MA_BENH_YHCT")
    procedure_icd9cm: Omittable[list[str]] = _opt("MA_PTTT_QT")


class Totals(_Model):
    """The XML1 money totals, in VND (QD130.md C2)."""

    drugs: DecimalText = _req("T_THUOC")
    medical_supplies: DecimalText = _req("T_VTYT")
    total_at_hospital_prices: DecimalText = _req("T_TONGCHI_BV")
    total_within_insurance_scope: DecimalText = _req("T_TONGCHI_BH")
    patient_self_pay: DecimalText = _req("T_BNTT")
    patient_copayment: DecimalText = _req("T_BNCCT")
    insurance_payment: DecimalText = _req("T_BHTT")
    other_sources: DecimalText = _req("T_NGUONKHAC")
    insurance_payment_outside_package: DecimalText = _req("T_BHTT_GDV")


class Settlement(_Model):
    """The settlement period claimed."""

    year: int = _req("NAM_QT")
    month: int = _req("THANG_QT")


# --- Line tables (adapters.hospital.lines) -------------------------------------------------------


class _CostLine(_Model):
    """Columns common to XML2 and XML3 rows; money in VND, ratios in percent."""

    visit_key: str = _req("MA_LK")
    sequence: int = _req("STT")
    cost_group_code: str = _req("MA_NHOM")
    unit: str = _req("DON_VI_TINH")
    tender: Omittable[list[str]] = _opt("TT_THAU")
    scope_code: str = _req("PHAM_VI")
    insurance_ratio_pct: int = _req("TYLE_TT_BH")
    quantity: DecimalText = _req("SO_LUONG")
    amount_at_hospital_prices: DecimalText = _req("THANH_TIEN_BV")
    amount_within_insurance_scope: DecimalText = _req("THANH_TIEN_BH")
    other_sources_state_budget: DecimalText = _req("T_NGUONKHAC_NSNN")
    other_sources_foreign_aid: DecimalText = _req("T_NGUONKHAC_VTNN")
    other_sources_domestic_aid: DecimalText = _req("T_NGUONKHAC_VTTN")
    other_sources_remaining: DecimalText = _req("T_NGUONKHAC_CL")
    other_sources: DecimalText = _req("T_NGUONKHAC")
    benefit_level_pct: int = _req("MUC_HUONG")
    patient_self_pay: DecimalText = _req("T_BNTT")
    patient_copayment: DecimalText = _req("T_BNCCT")
    insurance_payment: DecimalText = _req("T_BHTT")
    department_codes: list[str] = _req("MA_KHOA")
    ordering_clinician_ids: Omittable[list[str]] = _opt("MA_BAC_SI")
    ordered_at: Omittable[DateTimeText] = _opt("NGAY_YL")
    performed_at: Omittable[DateTimeText] = _opt("NGAY_TH_YL")
    payment_method_code: str = _req("MA_PTTT")
    war_wound_code: Omittable[str] = _opt("VET_THUONG_TP")
    reserved: Omittable[str] = _opt("DU_PHONG")


class DrugLine(_CostLine):
    """One XML2 row (CHI_TIET_THUOC): a drug, oxygen, blood or blood product."""

    drug_code: str = _req("MA_THUOC")
    processing_method_code: Omittable[str] = _opt("MA_PP_CHEBIEN")
    supplying_facility_code: Omittable[str] = _opt("MA_CSKCB_THUOC")
    name: str = _req("TEN_THUOC")
    strength: str = _req("HAM_LUONG")
    route_code: str = _req("DUONG_DUNG")
    dosage_form: Omittable[str] = _opt("DANG_BAO_CHE")
    dose: str = _req("LIEU_DUNG")
    directions: Omittable[str] = _opt("CACH_DUNG")
    registration_number: Omittable[str] = _opt("SO_DANG_KY")
    unit_price: DecimalText = _req("DON_GIA")
    service_codes: Omittable[list[str]] = _opt("MA_DICH_VU")
    # Both optional in XML3 only (tests sent out, QĐ 4750).
    ordering_clinician_ids: list[str] = _req("MA_BAC_SI")
    ordered_at: DateTimeText = _req("NGAY_YL")
    funding_source_code: str = _req("NGUON_CTRA")


class ServiceLine(_CostLine):
    """One XML3 row (CHI_TIET_DVKT): a technical service, exam, bed day or medical supply."""

    service_code: Omittable[str] = _opt("MA_DICH_VU")
    procedure_icd9cm: Omittable[list[str]] = _opt("MA_PTTT_QT")
    supply_code: Omittable[str] = _opt("MA_VAT_TU")
    supply_bundle: Omittable[str] = _opt("GOI_VTYT")
    supply_name: Omittable[str] = _opt("TEN_VAT_TU")
    service_name: Omittable[str] = _opt("TEN_DICH_VU")
    fuel_code: Omittable[str] = _opt("MA_XANG_DAU")
    unit_price_hospital: DecimalText = _req("DON_GIA_BV")
    unit_price_insurance: DecimalText = _req("DON_GIA_BH")
    service_ratio_pct: int = _req("TYLE_TT_DV")
    bundle_ceiling: Omittable[DecimalText] = _opt("T_TRANTT")
    bed_codes: Omittable[list[str]] = _opt("MA_GIUONG")
    performer_ids: Omittable[list[str]] = _opt("NGUOI_THUC_HIEN")
    icd10_codes: Omittable[list[str]] = _opt("MA_BENH")
    traditional_medicine_codes: Omittable[list[str]] = _opt("MA_BENH_YHCT")
    resulted_at: Omittable[DateTimeText] = _opt("NGAY_KQ")
    anaesthesia_code: Omittable[str] = _opt("PP_VO_CAM")
    body_site_code: Omittable[str] = _opt("VI_TRI_TH_DVKT")
    machine_codes: Omittable[list[str]] = _opt("MA_MAY")
    product_model: Omittable[str] = _opt("MA_HIEU_SP")
    reusable_code: Omittable[str] = _opt("TAI_SU_DUNG")


class ParaclinicalResult(_Model):
    """One XML4 row (CHI_TIET_CLS): one indicator of a test, imaging or function study."""

    visit_key: str = _req("MA_LK")
    sequence: int = _req("STT")
    service_code: Omittable[str] = _opt("MA_DICH_VU")
    indicator_code: Omittable[str] = _opt("MA_CHI_SO")
    indicator_name: Omittable[str] = _opt("TEN_CHI_SO")
    value: Omittable[str] = _opt("GIA_TRI")
    unit: Omittable[str] = _opt("DON_VI_DO")
    description: Omittable[str] = _opt("MO_TA")
    conclusion: Omittable[str] = _opt("KET_LUAN")
    resulted_at: Omittable[DateTimeText] = _opt("NGAY_KQ")
    result_reader_ids: Omittable[list[str]] = _opt("MA_BS_DOC_KQ")
    reserved: Omittable[str] = _opt("DU_PHONG")


class ClinicalNote(_Model):
    """One XML5 row (CHI_TIET_DIEN_BIEN_BENH): a clinical progress or nursing note."""

    visit_key: str = _req("MA_LK")
    sequence: int = _req("STT")
    progress: str = _req("DIEN_BIEN_LS")
    disease_stage: Omittable[str] = _opt("GIAI_DOAN_BENH")
    consultation: Omittable[str] = _opt("HOI_CHAN")
    surgery: Omittable[str] = _opt("PHAU_THUAT")
    noted_at: DateTimeText = _req("THOI_DIEM_DBLS")
    performer_ids: list[str] = _req("NGUOI_THUC_HIEN")
    reserved: Omittable[str] = _opt("DU_PHONG")


# --- The payload -------------------------------------------------------------------------------


class FormatInfo(_Model):
    """The format the record was sent in."""

    name: str
    version: str


class VisitPayload(_Model):
    """The payload of one QĐ 130 claim record: one visit (one HOSO, one MA_LK)."""

    visit: VisitSection
    patient: Patient
    coverage: Coverage
    cards: list[Card] = Field(description="one per card, in the order sent")
    diagnoses: Diagnoses
    totals: Totals
    settlement: Settlement
    drugs: list[DrugLine] = Field(description="XML2 rows, in document order")
    services: list[ServiceLine] = Field(description="XML3 rows, in document order")
    paraclinical: list[ParaclinicalResult] = Field(description="XML4 rows, in document order")
    clinical_notes: list[ClinicalNote] = Field(description="XML5 rows, in document order")
    # Added by the batch adapter (adapters.hospital.qd130) after normalization.
    tables: Omittable[list[str]] = Field(default=None, description="the LOAIHOSO sent")
    format: Omittable[FormatInfo] = None
    history: Omittable[dict[str, Any]] = Field(
        default=None, description="links to earlier versions and check-ins of the visit"
    )


class _ExactSchema(GenerateJsonSchema):
    """Leaves out the ``"default": null`` of omittable properties: they are absent, not null."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if "default" in json_schema and json_schema["default"] is None:
            del json_schema["default"]
        return json_schema


def payload_json_schema(mode: JsonSchemaMode = "serialization") -> dict[str, Any]:
    """The JSON Schema of a QĐ 130 visit payload."""
    return VisitPayload.model_json_schema(schema_generator=_ExactSchema, mode=mode)
