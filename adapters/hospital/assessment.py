"""The QĐ 130 medical assessment document (table 12): what a medical assessment council concluded.

Fields from QĐ 130/QĐ-BYT Bảng 12 "Chỉ tiêu dữ liệu giám định y khoa" as amended by QĐ 4750/QĐ-BYT,
sheet "Bang 12_GDYK" of the 4750 appendix [S2] (35 fields); layout from CV 3190/BHXH-CNTT,
Phụ lục section I.4.4 (p. 19–20; QD130.md section G): root ``CHI_TIEU_GIAM_DINH_YKHOA``, list
``DSACH_GIAM_DINH_YKHOA``, one ``GIAM_DINH_YKHOA`` per assessed person, then ``CHUKYDONVI`` (the
institution's signature, as in the GIAMDINHHS envelope) as the root's last child.
``xsd/qd130/xml12.xsd`` validates the whole document; its header gives the required fields.

Each row becomes one common record of kind ``hi_assessment``. The row has no ``MA_LK`` and no
facility code, since an assessment is not a visit:
- its key is the council meeting and the row's entry in the meeting's minutes,
  ``{NGAY_HOP}/{SO_BIEN_BAN}`` (``SO_BIEN_BAN`` is "số thứ tự trong biên bản họp", a number
  within one meeting's minutes, so the date makes it unique);
- its record names no facility: the assessment institution is the form's ``maCSKCB`` (CV 3190
  I.4.2), which the signature does not cover; the portal checks it against the partner, and the
  signer's certificate is the partner's. The visit index (``history``) so files the row under
  the empty facility and under its HI card; claims are judged only against claims there.
Fields that XML1 also has, with XML1's text, get XML1's English names (``xml1.FIELDS``), in a
``person`` section: the person assessed is not a patient of the sender.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from lxml import etree

from adapters.hospital import values as v
from adapters.hospital import xml1
from adapters.hospital.rows import RowFormat
from gateway.errors import SchemaInvalid
from gateway.pipeline.ports import NormalizedItem, RejectedItem, ValidatedDocument
from gateway.records.model import Subject

ROOT = "CHI_TIEU_GIAM_DINH_YKHOA"
_ROWS = "DSACH_GIAM_DINH_YKHOA/GIAM_DINH_YKHOA"


# Sheet rows 4–6, 9–12, 16: XML1's fields (Bảng 1 rows 4–6, 11–15). MA_THE_BHYT (row 14) is
# read apart as one card, as XML1's cards are.
_SHARED = (
    "HO_TEN", "NGAY_SINH", "SO_CCCD", "DIA_CHI", "MATINH_CU_TRU", "MAHUYEN_CU_TRU",
    "MAXA_CU_TRU", "DIEN_THOAI",
)  # fmt: skip

# Table 12 field → (payload section, English name, conversion), in the order of the sheet.
FIELDS: dict[str, tuple[str, str, xml1.Convert]] = {
    # 1–3: the council: who chaired it (1 chairman, 2 signing for the chairman), and when.
    "NGUOI_CHU_TRI": ("assessment", "chair_name", v.text),
    "CHUC_VU": ("assessment", "chair_role_code", v.text),
    "NGAY_HOP": ("assessment", "meeting_date", v.date),
    # 4–16: the person assessed.
    **{tag: ("person", xml1.FIELDS[tag][1], xml1.FIELDS[tag][2]) for tag in _SHARED},
    "NGAY_CAP_CCCD": ("person", "citizen_id_issued_on", v.date),
    "NOI_CAP_CCCD": ("person", "citizen_id_issued_by", v.text),
    "MA_BHXH": ("person", "si_number", v.text),
    "NGHE_NGHIEP": ("person", "occupation", v.text),
    # 17–19, 22, 28: the assessment: categories (BB, BHXH1L, BNN, …; ";"-separated), kind of
    # examination (1 first … 8 combined), entry in the minutes, document date, legal basis.
    "MA_DOI_TUONG": ("assessment", "category_codes", v.split_list),
    "KHAM_GIAM_DINH": ("assessment", "examination_type_code", v.text),
    "SO_BIEN_BAN": ("assessment", "minutes_entry", v.text),
    "NGAY_CHUNG_TU": ("assessment", "document_date", v.date),
    "SO_VAN_BAN_CAN_CU": ("assessment", "legal_basis", v.split_list),
    # 20–21: what the person had before: the last assessment's rate, the benefits drawn (1..7).
    "TYLE_TTCT_CU": ("prior", "impairment_percent", v.integer),
    "DANG_HUONG_CHE_DO": ("prior", "benefit_codes", v.split_list),
    # 23–26: who sent the person: the letter, the request date, the unit's code and name.
    "SO_GIAY_GIOI_THIEU": ("referral", "letter_number", v.text),
    "NGAY_DE_NGHI": ("referral", "requested_on", v.date),
    "MA_DONVI": ("referral", "unit_code", v.text),
    "GIOI_THIEU_CUA": ("referral", "unit_name", v.text),
    # 27, 29–34: the council's conclusion.
    "KET_QUA_KHAM": ("conclusion", "examination_result", v.text),
    "TYLE_TTCT_MOI": ("conclusion", "impairment_percent", v.integer),
    "TONG_TYLE_TTCT": ("conclusion", "total_impairment_percent", v.integer),
    "DANG_KHUYETTAT": ("conclusion", "disability_type_code", v.text),
    "MUC_DO_KHUYETTAT": ("conclusion", "disability_level_code", v.text),
    "DE_NGHI": ("conclusion", "proposals", v.text),
    "DUOC_XACDINH": ("conclusion", "care_determination", v.text),
    # 35
    "DU_PHONG": ("assessment", "reserved", v.text),
}


class AssessmentFormat(RowFormat):
    """The signed medical assessment document (loaiHoSo 12, CV 3190 I.4.2), one record per row."""

    name = "QD130-XML12"
    record_kind: Literal["hi_assessment"] = "hi_assessment"
    envelope_schema = "qd130/xml12"
    root = ROOT
    rows = _ROWS
    fields = FIELDS

    def facility_codes(self, document: ValidatedDocument) -> set[str]:
        """None: the document names no facility (module docstring)."""
        return set()

    def item(self, row: etree._Element, index: int) -> NormalizedItem | RejectedItem:
        return _item(row, index)


def key_of(texts: dict[str, str]) -> str | None:
    """``{NGAY_HOP}/{SO_BIEN_BAN}``, or ``None`` when the row lacks either."""
    meeting, entry = texts.get("NGAY_HOP"), texts.get("SO_BIEN_BAN")
    return f"{meeting}/{entry}" if meeting and entry else None


def subject_of(payload: dict[str, Any]) -> Subject:
    """The person assessed: XML1's reading of the person and card, with the row's own SI number
    (MA_BHXH) when it has one rather than the one read from the card."""
    subject = xml1.subject_of({"patient": payload.get("person", {}), "cards": payload["cards"]})
    si_number = payload.get("person", {}).get("si_number")
    return subject.model_copy(update={"si_number": si_number}) if si_number else subject


def _item(row: etree._Element, index: int) -> NormalizedItem | RejectedItem:
    texts = xml1.texts_of(row)
    key = key_of(texts)
    if key is None:  # both required by xml12.xsd; kept for a schema that would let one through
        return RejectedItem(
            key=None, error=SchemaInvalid(f"assessment row {index} has no NGAY_HOP or SO_BIEN_BAN")
        )
    payload, issues = xml1.sections(texts, FIELDS, where=f"/{ROOT}/{_ROWS}[{index}]", table="XML12")
    if issues:
        return RejectedItem(
            key=key,
            error=SchemaInvalid(
                f"assessment row {index} ({key}) holds values its fields do not allow",
                issues=issues,
            ),
        )
    payload["format"] = {"name": "QD130", "version": "4750", "table": "XML12"}
    # A digest of the row itself, canonicalized, for the index (what was assessed).
    digest = hashlib.sha256(etree.tostring(row, method="c14n")).hexdigest()
    return NormalizedItem(
        key=key, subject=subject_of(payload), payload=payload, content_sha256=digest
    )
