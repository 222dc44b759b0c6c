"""The QĐ 130 claim batch format: the GIAMDINHHS envelope and its HOSO items.

Envelope and signature layout from QD130.md sections A and D: ``GIAMDINHHS`` with
``THONGTINDONVI/MACSKCB``, ``THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO`` (``LOAIHOSO``,
``NOIDUNGFILE`` = base64 of the table's own UTF-8 XML) and the facility's signature in
``CHUKYDONVI``. Each HOSO is one visit and becomes one common record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Literal

from lxml import etree

from adapters.hospital import history, xml1
from gateway.errors import Forbidden, GatewayError, Issue, SchemaInvalid, XmlMalformed
from gateway.pipeline.ports import NormalizedItem, RejectedItem, ValidatedDocument
from gateway.records.model import CommonRecord
from gateway.store.ports import IndexEntry, IndexReader
from gateway.xml.parser import XmlLimits, decode_base64, parse
from gateway.xml.schemas import SchemaRegistry

# XML1 fields that QĐ 4210 had and QĐ 130 renamed (QD130.md section E): a summary table with
# them and without their successors was exported for the old decision.
_QD4210_ONLY = ("MA_THE", "MA_BENH", "T_TONGCHI")
_QD130_NAMES = ("MA_THE_BHYT", "MA_BENH_CHINH", "T_TONGCHI_BV")


@dataclass(frozen=True)
class _Hoso:
    """One HOSO's tables, parsed, and the digest of their decoded bytes."""

    index: int
    tables: dict[str, etree._Element]
    sha256: str
    error: GatewayError | None = None


def _facility(root: etree._Element) -> str:
    return (root.findtext("THONGTINDONVI/MACSKCB") or "").strip()


class Qd130Format:
    """QĐ 130/QĐ-BYT claim batches as amended by QĐ 4750/QĐ-BYT."""

    name = "QD130"
    version = "4750"
    record_kind: Literal["hi_claim", "hi_checkin", "dossier"] = "hi_claim"
    signature_location: tuple[str, ...] = ("GIAMDINHHS", "CHUKYDONVI")
    envelope_schema = "qd130/giamdinhhs"

    def __init__(self, policy: history.HistoryPolicy | None = None) -> None:
        self.policy = policy or history.HistoryPolicy()

    def facility_codes(self, document: ValidatedDocument) -> set[str]:
        return {_facility(document.verified.root)}

    def items(
        self,
        document: ValidatedDocument,
        *,
        schemas: SchemaRegistry,
        limits: XmlLimits,
        history: IndexReader,
    ) -> list[NormalizedItem | RejectedItem]:
        root = document.verified.root
        facility = _facility(root)
        # Every embedded table goes through the hardened parser first: an XML attack anywhere
        # in the batch refuses the whole batch, before anything is normalized.
        decoded = [
            _decode(hoso, index, limits)
            for index, hoso in enumerate(root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO"), 1)
        ]
        return [self._item(hoso, facility, schemas, history) for hoso in decoded]

    def index_entries(self, record: CommonRecord, item: NormalizedItem) -> tuple[IndexEntry, ...]:
        return history.index_entries(record, content_sha256=item.content_sha256)

    def _item(
        self, hoso: _Hoso, facility: str, schemas: SchemaRegistry, reader: IndexReader
    ) -> NormalizedItem | RejectedItem:
        if hoso.error is not None:
            return RejectedItem(key=None, error=hoso.error)
        summary = hoso.tables.get("XML1")
        if summary is None:
            return RejectedItem(
                key=None,
                error=SchemaInvalid(
                    "the HOSO has no summary table", issues=[Issue("XML1 is missing", table="XML1")]
                ),
            )
        key = (summary.findtext("MA_LK") or "").strip() or None
        try:
            _refuse_qd4210(summary)
            schemas.validate("qd130/xml1", summary, table="XML1")
            subject, payload = xml1.normalize(summary)
        except GatewayError as exc:
            return RejectedItem(key=key, error=exc)
        item_facility = payload.get("visit", {}).get("facility_code")
        if item_facility != facility:
            return RejectedItem(
                key=key,
                error=Forbidden(
                    f"XML1.MA_CSKCB {item_facility!r} is not the batch's facility {facility!r}"
                ),
            )
        assert key is not None  # MA_LK is required by the XML1 schema
        payload["tables"] = sorted(hoso.tables)
        payload["format"] = {"name": "QD130", "version": "4750"}
        item = NormalizedItem(
            key=key,
            subject=subject,
            payload=payload,
            facility_code=facility,
            content_sha256=hoso.sha256,
        )
        judgement = history.judge(
            payload,
            facility=facility,
            key=key,
            content_sha256=hoso.sha256,
            history=reader,
            policy=self.policy,
        )
        if judgement.links:
            payload["history"] = judgement.links
        return replace(item, signals=item.signals + judgement.signals, same_as=judgement.same_as)


def _decode(hoso: etree._Element, index: int, limits: XmlLimits) -> _Hoso:
    tables: dict[str, etree._Element] = {}
    digest = hashlib.sha256()
    for file in hoso.iterfind("FILEHOSO"):
        kind = (file.findtext("LOAIHOSO") or "").strip().upper()
        data = decode_base64(
            file.findtext("NOIDUNGFILE"), limits, what=f"HOSO {index} table {kind}"
        )
        try:
            table = parse(data, limits)
        except XmlMalformed as exc:
            raise XmlMalformed(f"HOSO {index} table {kind}: {exc.detail}") from exc
        if kind in tables:
            return _Hoso(index, {}, "", SchemaInvalid(f"HOSO {index} has table {kind} twice"))
        tables[kind] = table
        digest.update(f"{kind}:{len(data)}:".encode())
        digest.update(data)
    return _Hoso(index, tables, digest.hexdigest())


def _refuse_qd4210(summary: etree._Element) -> None:
    """A summary table in the QĐ 4210 layout gets a message naming the version, not a list of
    schema errors about fields it was never meant to have."""
    present = {child.tag for child in summary}
    old = [name for name in _QD4210_ONLY if name in present]
    if old and not any(name in present for name in _QD130_NAMES):
        raise SchemaInvalid(
            "this HOSO is in the QĐ 4210/QĐ-BYT (2017) layout (XML1 has "
            f"{', '.join(old)}); the gateway accepts QĐ 130/QĐ-BYT as amended by QĐ 4750/QĐ-BYT: "
            "export the visit again in the QĐ 130 layout",
            issues=[Issue("QĐ 4210 layout", table="XML1", path=f"/TONG_HOP/{old[0]}")],
        )
