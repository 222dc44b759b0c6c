"""The QĐ 130 claim batch format: the GIAMDINHHS envelope and its HOSO items.

Envelope and signature layout from QD130.md sections A and D: ``GIAMDINHHS`` with
``THONGTINDONVI/MACSKCB``, ``THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO`` (``LOAIHOSO``,
``NOIDUNGFILE`` = base64 of the table's own UTF-8 XML) and the facility's signature in
``CHUKYDONVI``. Each HOSO is one visit and becomes one common record.
"""

from __future__ import annotations

from typing import Literal

from lxml import etree

from adapters.hospital import xml1
from gateway.errors import Forbidden, GatewayError, Issue, SchemaInvalid, XmlMalformed
from gateway.pipeline.ports import NormalizedItem, RejectedItem, ValidatedDocument
from gateway.xml.parser import XmlLimits, decode_base64, parse
from gateway.xml.schemas import SchemaRegistry


def _facility(root: etree._Element) -> str:
    return (root.findtext("THONGTINDONVI/MACSKCB") or "").strip()


class Qd130Format:
    """QĐ 130/QĐ-BYT claim batches as amended by QĐ 4750/QĐ-BYT."""

    name = "QD130"
    version = "4750"
    record_kind: Literal["hi_claim", "hi_checkin", "dossier"] = "hi_claim"
    signature_location: tuple[str, ...] = ("GIAMDINHHS", "CHUKYDONVI")
    envelope_schema = "qd130/giamdinhhs"

    def facility_codes(self, document: ValidatedDocument) -> set[str]:
        return {_facility(document.verified.root)}

    def items(
        self, document: ValidatedDocument, *, schemas: SchemaRegistry, limits: XmlLimits
    ) -> list[NormalizedItem | RejectedItem]:
        root = document.verified.root
        facility = _facility(root)
        # Every embedded table goes through the hardened parser first: an XML attack anywhere
        # in the batch refuses the whole batch, before anything is normalized.
        decoded = [
            self._tables(hoso, index, limits)
            for index, hoso in enumerate(root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO"), 1)
        ]
        return [self._item(tables, facility, schemas) for tables in decoded]

    @staticmethod
    def _tables(
        hoso: etree._Element, index: int, limits: XmlLimits
    ) -> dict[str, etree._Element] | GatewayError:
        tables: dict[str, etree._Element] = {}
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
                return SchemaInvalid(f"HOSO {index} has table {kind} twice")
            tables[kind] = table
        return tables

    @staticmethod
    def _item(
        tables: dict[str, etree._Element] | GatewayError, facility: str, schemas: SchemaRegistry
    ) -> NormalizedItem | RejectedItem:
        if isinstance(tables, GatewayError):
            return RejectedItem(key=None, error=tables)
        summary = tables.get("XML1")
        if summary is None:
            return RejectedItem(
                key=None,
                error=SchemaInvalid(
                    "the HOSO has no summary table", issues=[Issue("XML1 is missing", table="XML1")]
                ),
            )
        key = (summary.findtext("MA_LK") or "").strip() or None
        try:
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
        payload["tables"] = sorted(tables)
        payload["format"] = {"name": "QD130", "version": "4750"}
        assert key is not None  # MA_LK is required by the XML1 schema
        return NormalizedItem(key=key, subject=subject, payload=payload, facility_code=facility)
