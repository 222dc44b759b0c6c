"""The common record: one JSON shape for every accepted claim record and dossier."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

Channel = Literal["rest", "soap", "vss-portal"]
# hi_claim: a QĐ 130 visit (GIAMDINHHS); hi_checkin: its check-in row; hi_assessment: a medical
# assessment row (QĐ 130 table 12); dossier: a VSS e-dossier.
RecordKind = Literal["hi_claim", "hi_checkin", "hi_assessment", "dossier"]
Gender = Literal["male", "female", "undetermined"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    """Who sent the document, how, and for which facility."""

    partner_id: str
    channel: Channel
    facility_code: str | None = None


class SignatureBlock(_Frozen):
    """The verified signer of the original document."""

    subject: str
    issuer: str
    serial: str
    algorithm: str
    fingerprint: str = Field(description="SHA-256 of the signer's DER certificate, hex")


class Original(_Frozen):
    """The archived original: the exact bytes received, retrievable by digest."""

    format: str = Field(examples=["QD130"])
    version: str = Field(examples=["4750"])
    sha256: str
    size: int
    receipt_id: str
    item: str | None = Field(default=None, description="the item's key inside the original")


class Subject(_Frozen):
    """The person the record is about; any part may be unknown."""

    citizen_id: str | None = None
    si_number: str | None = None
    hi_card_number: str | None = None
    full_name: str | None = None
    date_of_birth: str | None = Field(default=None, description="ISO 8601, possibly partial")
    gender: Gender | None = None


class Signal(_Frozen):
    """A fraud or review flag: the record is accepted but an assessor should look."""

    code: str
    reason: str


def facility_signals(facility: str) -> str:
    """Name of the index list of a facility's signals (written with each record, read by
    ``GET /api/v1/signals``)."""
    return f"signals-facility:{facility}"


def card_signals(card: str) -> str:
    """Name of the index list of an HI card's signals."""
    return f"signals-card:{card}"


class SignalEntry(_Frozen):
    """One entry of a facility's or a card's signal list, as ``GET /api/v1/signals`` answers it."""

    record_id: str
    facility: str = Field(description="facility code (MACSKCB)")
    key: str = Field(description="the visit's key (MA_LK)")
    cards: list[str] = Field(description="the HI card numbers of the visit")
    code: str
    reason: str
    received_at: datetime = Field(description="RFC 3339")


class Routing(_Frozen):
    """Where the record goes next."""

    department: str | None = None


class CommonRecord(_Frozen):
    """One accepted claim record or dossier, normalized."""

    id: str = Field(description="ULID")
    kind: RecordKind
    schema_version: str = SCHEMA_VERSION
    source: Source
    received_at: datetime = Field(description="RFC 3339, UTC")
    signature: SignatureBlock
    original: Original
    subject: Subject
    payload: dict[str, Any] = Field(
        description="normalized content: English snake_case names, ISO 8601 dates, "
        "money as decimal strings in VND, codes verbatim"
    )
    routing: Routing = Routing()
    signals: list[Signal] = Field(default_factory=list)
