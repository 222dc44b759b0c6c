"""What the pipeline needs from a document format adapter (QĐ 130 batches, e-dossiers, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.errors import GatewayError
from gateway.records.model import CommonRecord, RecordKind, Signal, Subject
from gateway.store.ports import IndexEntry, IndexReader
from gateway.trust.verify import VerifiedDocument
from gateway.xml.parser import XmlLimits
from gateway.xml.schemas import SchemaRegistry


@dataclass(frozen=True)
class ValidatedDocument:
    """A verified document whose envelope passed its XSD; formats read items only from this."""

    verified: VerifiedDocument
    schema: str


@dataclass(frozen=True)
class NormalizedItem:
    """One item that becomes a common record, unless it repeats one unchanged (``same_as``)."""

    key: str
    subject: Subject
    payload: dict[str, Any]
    facility_code: str | None = None
    signals: tuple[Signal, ...] = field(default=())
    content_sha256: str = ""
    same_as: str | None = None


@dataclass(frozen=True)
class RejectedItem:
    """One item that is refused, with its own error; the others are judged on their own."""

    key: str | None
    error: GatewayError


class BatchFormat(Protocol):
    """A signed batch format: where its signature is, its envelope schema, how to split it."""

    name: str
    version: str
    envelope_schema: str

    @property
    def schema_names(self) -> tuple[str, ...]:
        """Every XSD the format validates with (the envelope's first): loaded at startup."""

    @property
    def record_kind(self) -> RecordKind:
        """The kind of the records it makes (read-only: a format may declare a narrower type)."""

    @property
    def signature_location(self) -> tuple[str, ...]:
        """Tags from the document element to the parent of its one signature."""

    def facility_codes(self, document: ValidatedDocument) -> set[str]:
        """Every facility code the batch speaks for (checked against the partner)."""

    def items(
        self,
        document: ValidatedDocument,
        *,
        schemas: SchemaRegistry,
        limits: XmlLimits,
        history: IndexReader,
    ) -> list[NormalizedItem | RejectedItem]:
        """Decode, validate and normalize every item, judging it against what ``history``
        holds of earlier ones; raise for a batch-fatal problem."""

    def payload_schema(self) -> dict[str, Any]:
        """JSON Schema of the payload of this format's records."""

    def index_entries(self, record: CommonRecord, item: NormalizedItem) -> tuple[IndexEntry, ...]:
        """What the store must index of an accepted item's record."""
