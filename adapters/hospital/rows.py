"""Signed single-table documents (check-in, medical assessment): one record per row.

Both documents put their rows under a list element of the root and the facility's signature in
the root's last child ``CHUKYDONVI`` (CV 3190/BHXH-CNTT, Phụ lục I.2.4 and I.4.4). A subclass
names its root, rows, field table and XSD, and turns one row into an item; the rest is here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from lxml import etree

from adapters.hospital import history
from adapters.hospital import values as v
from gateway.pipeline.ports import NormalizedItem, RejectedItem, ValidatedDocument
from gateway.records.model import CommonRecord
from gateway.store.ports import IndexEntry, IndexReader
from gateway.xml.parser import XmlLimits
from gateway.xml.schemas import SchemaRegistry

Fields = Mapping[str, tuple[str, str, Callable[[str], Any]]]


class RowFormat:
    """A ``BatchFormat`` for a signed document whose rows each become a record."""

    version = "4750"
    root: ClassVar[str]
    rows: ClassVar[str]  # path of the row elements under the root
    fields: ClassVar[Fields]

    envelope_schema: str

    @property
    def schema_names(self) -> tuple[str, ...]:
        return (self.envelope_schema,)

    @property
    def signature_location(self) -> tuple[str, ...]:
        return (self.root, "CHUKYDONVI")

    def rows_of(self, document: ValidatedDocument) -> list[etree._Element]:
        return list(document.verified.root.iterfind(self.rows))

    def items(
        self,
        document: ValidatedDocument,
        *,
        schemas: SchemaRegistry,
        limits: XmlLimits,
        history: IndexReader,
    ) -> list[NormalizedItem | RejectedItem]:
        # The document already passed its XSD as a whole; a row can still hold a value its
        # pattern lets through but that is no date (20240230), refused for that row alone.
        return [self.item(row, index) for index, row in enumerate(self.rows_of(document), 1)]

    def item(self, row: etree._Element, index: int) -> NormalizedItem | RejectedItem:
        raise NotImplementedError

    def payload_schema(self) -> dict[str, Any]:
        """JSON Schema of a payload, derived from the field table."""
        properties: dict[str, dict[str, Any]] = {}
        for section, name, convert in self.fields.values():
            kind: dict[str, Any] = {"type": "integer" if convert is v.integer else "string"}
            if convert is v.split_list:
                kind = {"type": "array", "items": {"type": "string"}}
            properties.setdefault(section, {"type": "object", "properties": {}})
            properties[section]["properties"][name] = kind
        properties["cards"] = {"type": "array", "items": {"type": "object"}}
        return {"type": "object", "properties": properties}

    def index_entries(self, record: CommonRecord, item: NormalizedItem) -> tuple[IndexEntry, ...]:
        return history.index_entries(record, content_sha256=item.content_sha256)
