"""The QĐ 130 check-in document: the visit status a facility sends at first contact.

Layout from CV 3190/BHXH-CNTT, Phụ lục section I.2.4 (p. 4–5; QD130.md section G): root
``CHI_TIEU_TRANG_THAI_KCB``, list ``DSACH_TRANG_THAI_KCB``, one ``TRANG_THAI_KCB`` per visit, then
``CHUKYDONVI`` (the facility's signature, as in the GIAMDINHHS envelope, QD130.md section D) as
the root's last child. Fields from the QĐ 4750 appendix sheet "Bang Check-in" (26 fields, of
which CV 3190 lists 18); ``xsd/qd130/checkin.xsd`` validates the whole document.

Each row becomes one common record of kind ``hi_checkin``, keyed by ``MA_LK`` for the row's
facility ``MA_CSKCB``: the same key and facility as the visit's later claim (XML1 ``MA_LK`` and
``MA_CSKCB``), which is how the visit index (``adapters.hospital.history``) links the two.
Fields shared with XML1 get XML1's English names (``xml1.FIELDS``), so that a check-in and its
claim read alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Literal

from lxml import etree

from adapters.hospital import values as v
from adapters.hospital import xml1
from adapters.hospital.rows import RowFormat
from gateway.errors import SchemaInvalid
from gateway.pipeline.ports import NormalizedItem, RejectedItem, ValidatedDocument

ROOT = "CHI_TIEU_TRANG_THAI_KCB"
_ROWS = "DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB"


# Check-in fields that XML1 does not have (sheet "Bang Check-in" rows 19–25): the first cost of
# the visit, a service, a drug or a supply, and when it was ordered.
_OWN_FIELDS: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "MA_DICH_VU": ("first_cost", "service_code", v.text),
    "TEN_DICH_VU": ("first_cost", "service_name", v.text),
    "MA_THUOC": ("first_cost", "drug_code", v.text),
    "TEN_THUOC": ("first_cost", "drug_name", v.text),
    "MA_VAT_TU": ("first_cost", "supply_code", v.text),
    "TEN_VAT_TU": ("first_cost", "supply_name", v.text),
    "NGAY_YL": ("first_cost", "ordered_at", v.date_time),
}
# Sheet rows 1–7, 12–18 and 26 are XML1 fields with XML1's meaning: XML1's names. The card of
# rows 8–11 (MA_THE_BHYT, MA_DKBD, GT_THE_TU, GT_THE_DEN) is read apart, as XML1's cards are.
_SHARED = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "MA_DOITUONG_KCB",
    "NGAY_VAO", "NGAY_VAO_NOI_TRU", "LY_DO_VNT", "MA_LY_DO_VNT", "MA_LOAI_KCB", "MA_CSKCB",
    "DU_PHONG",
)  # fmt: skip
FIELDS = {**{tag: xml1.FIELDS[tag] for tag in _SHARED}, **_OWN_FIELDS}


class CheckinFormat(RowFormat):
    """The signed check-in document (loaiHoSo 0, CV 3190 I.2.2), one record per visit row."""

    name = "QD130-CHECKIN"
    record_kind: Literal["hi_claim", "hi_checkin", "dossier"] = "hi_checkin"
    envelope_schema = "qd130/checkin"
    root = ROOT
    rows = _ROWS
    fields = FIELDS

    def facility_codes(self, document: ValidatedDocument) -> set[str]:
        """Every row's MA_CSKCB: a row without one speaks for the empty code, never allowed."""
        return {(row.findtext("MA_CSKCB") or "").strip() for row in self.rows_of(document)}

    def item(self, row: etree._Element, index: int) -> NormalizedItem | RejectedItem:
        return _item(row, index)


def _item(row: etree._Element, index: int) -> NormalizedItem | RejectedItem:
    texts = xml1.texts_of(row)
    key = texts.get("MA_LK")
    if key is None:  # required by checkin.xsd; kept for a schema that would let it through
        return RejectedItem(key=None, error=SchemaInvalid(f"check-in row {index} has no MA_LK"))
    payload, issues = xml1.sections(
        texts, FIELDS, where=f"/{ROOT}/{_ROWS}[{index}]", table="CHECKIN"
    )
    if issues:
        return RejectedItem(
            key=key,
            error=SchemaInvalid(
                f"check-in row {index} ({key}) holds values its fields do not allow", issues=issues
            ),
        )
    payload["format"] = {"name": "QD130", "version": "4750", "table": "CHECKIN"}
    # A digest of the row itself, canonicalized, for the visit index (what was checked in).
    digest = hashlib.sha256(etree.tostring(row, method="c14n")).hexdigest()
    return NormalizedItem(
        key=key,
        subject=xml1.subject_of(payload),
        payload=payload,
        facility_code=payload.get("visit", {}).get("facility_code"),
        content_sha256=digest,
    )
