"""The QĐ 130 claim batch format: the GIAMDINHHS envelope and its HOSO items.

Envelope and signature layout from QD130.md sections A and D: ``GIAMDINHHS`` with
``THONGTINDONVI/MACSKCB``, ``THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO`` (``LOAIHOSO``,
``NOIDUNGFILE`` = base64 of the table's own UTF-8 XML) and the facility's signature in
``CHUKYDONVI``. Each HOSO is one visit and becomes one common record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any, Literal

from lxml import etree

from adapters.hospital import flags, history, payload, rules
from adapters.hospital.visit import normalize_visit
from gateway.errors import (
    Forbidden,
    GatewayError,
    Issue,
    RuleViolation,
    SchemaInvalid,
    XmlMalformed,
)
from gateway.pipeline.ports import NormalizedItem, RejectedItem, ValidatedDocument
from gateway.records.model import CommonRecord
from gateway.sirecords.ports import CardRegister
from gateway.store.ports import IndexEntry, IndexReader
from gateway.xml.parser import XmlLimits, decode_base64, parse
from gateway.xml.schemas import SchemaRegistry

# XML1 fields that QĐ 4210 had and QĐ 130 renamed (QD130.md section E): a summary table with
# them and without their successors was exported for the old decision.
_QD4210_ONLY = ("MA_THE", "MA_BENH", "T_TONGCHI")
_QD130_NAMES = ("MA_THE_BHYT", "MA_BENH_CHINH", "T_TONGCHI_BV")

# Tables the gateway validates and normalizes, with their XSDs in xsd/; the others that QĐ 130
# as amended defines (XML6..XML15, QD130.md section A) are recognized and kept verbatim in the
# archived original until they are understood.
SCHEMAS = {f"XML{n}": f"qd130/xml{n}" for n in range(1, 6)}
KEPT_VERBATIM = frozenset(f"XML{n}" for n in range(6, 16))


@dataclass(frozen=True)
class Hoso:
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

    @property
    def schema_names(self) -> tuple[str, ...]:
        return (self.envelope_schema, *SCHEMAS.values())

    def __init__(
        self, policy: history.SignalPolicy | None = None, *, register: CardRegister | None = None
    ) -> None:
        self.policy = policy or history.SignalPolicy()
        self.register = register  # the SI records' cards, where claims are checked against them

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
            decode_hoso(hoso, index, limits)
            for index, hoso in enumerate(root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO"), 1)
        ]
        batch_issues = rules.check_batch(root, len(decoded))
        if batch_issues:
            raise RuleViolation("the batch breaks a QĐ 130 rule", issues=batch_issues)
        # Each HOSO's tables are let go as soon as it is judged: dropped all at once with the
        # list, the trees of a 3,000-HOSO batch took 0.3 s to free, in one call that holds the GIL.
        decoded.reverse()
        earlier: dict[str, int] = {}  # MA_LK -> the first HOSO before this one that has it
        items: list[NormalizedItem | RejectedItem] = []
        while decoded:
            hoso = decoded.pop()
            items.append(self._item(hoso, facility, schemas, history, earlier=earlier))
            key = _key(hoso)
            if key is not None:
                earlier.setdefault(key, hoso.index)
        return items

    def payload_schema(self) -> dict[str, Any]:
        return payload.payload_json_schema()

    def index_entries(self, record: CommonRecord, item: NormalizedItem) -> tuple[IndexEntry, ...]:
        return history.index_entries(record, content_sha256=item.content_sha256)

    def _item(
        self,
        hoso: Hoso,
        facility: str,
        schemas: SchemaRegistry,
        reader: IndexReader,
        *,
        earlier: dict[str, int],
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
        key = _key(hoso)
        try:
            _refuse_qd4210(summary)
            validate_tables(hoso.tables, schemas)
            subject, content = normalize_visit(hoso.tables)
            broken = rules.check_visit(
                hoso.tables, content, earlier=earlier, register=self.register
            )
            if broken:
                raise RuleViolation("the visit breaks QĐ 130 rules", issues=broken)
        except GatewayError as exc:
            return RejectedItem(key=key, error=exc)
        item_facility = content.get("visit", {}).get("facility_code")
        if item_facility != facility:
            return RejectedItem(
                key=key,
                error=Forbidden(
                    f"XML1.MA_CSKCB {item_facility!r} is not the batch's facility {facility!r}"
                ),
            )
        assert key is not None  # MA_LK is required by the XML1 schema
        content["tables"] = sorted(hoso.tables)
        content["format"] = {"name": "QD130", "version": "4750"}
        signals = flags.record_signals(content, max_units_per_day=self.policy.max_units_per_day)
        item = NormalizedItem(
            key=key,
            subject=subject,
            payload=content,
            facility_code=facility,
            signals=tuple(signals),
            content_sha256=hoso.sha256,
        )
        judgement = history.judge(
            content,
            facility=facility,
            key=key,
            content_sha256=hoso.sha256,
            history=reader,
            policy=self.policy,
        )
        if judgement.links:
            content["history"] = judgement.links
        return replace(item, signals=item.signals + judgement.signals, same_as=judgement.same_as)


def decode_hoso(hoso: etree._Element, index: int, limits: XmlLimits) -> Hoso:
    """One HOSO's tables through the hardened parser; a table twice is this HOSO's error."""
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
            return Hoso(index, {}, "", SchemaInvalid(f"HOSO {index} has table {kind} twice"))
        tables[kind] = table
        digest.update(f"{kind}:{len(data)}:".encode())
        digest.update(data)
    return Hoso(index, tables, digest.hexdigest())


def _key(hoso: Hoso) -> str | None:
    summary = hoso.tables.get("XML1")
    return None if summary is None else (summary.findtext("MA_LK") or "").strip() or None


def validate_tables(tables: dict[str, etree._Element], schemas: SchemaRegistry) -> None:
    """Each understood table against its XSD; a table of unknown type refuses the HOSO."""
    for kind, table in tables.items():
        if kind in SCHEMAS:
            schemas.validate(SCHEMAS[kind], table, table=kind)
        elif kind not in KEPT_VERBATIM:
            raise SchemaInvalid(
                f"table type {kind!r} is not one of QĐ 130's (XML1..XML15)",
                issues=[Issue(f"unknown LOAIHOSO {kind!r}", table=kind, path="/FILEHOSO/LOAIHOSO")],
            )


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
