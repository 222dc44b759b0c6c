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

from adapters.hospital import history, xml1
from adapters.hospital import values as v
from gateway.errors import SchemaInvalid
from gateway.pipeline.ports import NormalizedItem, RejectedItem, ValidatedDocument
from gateway.records.model import CommonRecord
from gateway.store.ports import IndexEntry, IndexReader
from gateway.xml.parser import XmlLimits
from gateway.xml.schemas import SchemaRegistry

ROOT = "CHI_TIEU_TRANG_THAI_KCB"
_ROWS = "DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB"


def _text(value: str) -> str:
    return value


# Check-in fields that XML1 does not have (sheet "Bang Check-in" rows 19–25): the first cost of
# the visit, a service, a drug or a supply, and when it was ordered.
_OWN_FIELDS: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "MA_DICH_VU": ("first_cost", "service_code", _text),
    "TEN_DICH_VU": ("first_cost", "service_name", _text),
    "MA_THUOC": ("first_cost", "drug_code", _text),
    "TEN_THUOC": ("first_cost", "drug_name", _text),
    "MA_VAT_TU": ("first_cost", "supply_code", _text),
    "TEN_VAT_TU": ("first_cost", "supply_name", _text),
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


def _rows(root: etree._Element) -> list[etree._Element]:
    return list(root.iterfind(_ROWS))


class CheckinFormat:
    """The signed check-in document (loaiHoSo 0, CV 3190 I.2.2), one record per visit row."""

    name = "QD130-CHECKIN"
    version = "4750"
    record_kind: Literal["hi_claim", "hi_checkin", "dossier"] = "hi_checkin"
    signature_location: tuple[str, ...] = (ROOT, "CHUKYDONVI")
    envelope_schema = "qd130/checkin"

    def facility_codes(self, document: ValidatedDocument) -> set[str]:
        """Every row's MA_CSKCB: a row without one speaks for the empty code, never allowed."""
        return {(row.findtext("MA_CSKCB") or "").strip() for row in _rows(document.verified.root)}

    def items(
        self,
        document: ValidatedDocument,
        *,
        schemas: SchemaRegistry,
        limits: XmlLimits,
        history: IndexReader,
    ) -> list[NormalizedItem | RejectedItem]:
        # The document already passed checkin.xsd as a whole; a row can still hold a value its
        # pattern lets through but that is no date (20240230…), refused for that row alone.
        return [_item(row, index) for index, row in enumerate(_rows(document.verified.root), 1)]

    def payload_schema(self) -> dict[str, Any]:
        """JSON Schema of a check-in payload, derived from the field table."""
        properties: dict[str, dict[str, Any]] = {}
        for section, name, convert in FIELDS.values():
            kind: dict[str, Any] = {"type": "integer" if convert is v.integer else "string"}
            if convert is v.split_list:
                kind = {"type": "array", "items": {"type": "string"}}
            properties.setdefault(section, {"type": "object", "properties": {}})
            properties[section]["properties"][name] = kind
        properties["cards"] = {"type": "array", "items": {"type": "object"}}
        return {"type": "object", "properties": properties}

    def index_entries(self, record: CommonRecord, item: NormalizedItem) -> tuple[IndexEntry, ...]:
        return history.index_entries(record, content_sha256=item.content_sha256)


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
