"""The dossier store's SQLite tables, and how dossiers, history and outbox messages map to rows."""

from __future__ import annotations

import base64
import binascii
import sqlite3
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import orjson

from gateway.dossiers.calendar import vietnam_date
from gateway.dossiers.lifecycle import State
from gateway.dossiers.ports import Applicant, Dossier, HistoryEntry, OutboxMessage, StatusChange
from gateway.errors import XmlMalformed

# Instants are stored in UTC with microseconds (``_instant``), so that text order is time order
# and comparisons in SQL are plain string comparisons; dates are ISO (Vietnam calendar dates).
SCHEMA = """
CREATE TABLE IF NOT EXISTS dossier_dossiers (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL,
    ma_ho_so TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    ma_tthc TEXT NOT NULL,
    procedure TEXT NOT NULL,
    department TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at TEXT NOT NULL,
    due_date TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    applicant_kind TEXT NOT NULL,
    applicant_id TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    requested_documents BLOB NOT NULL,
    supplement_due TEXT,
    finished_at TEXT,
    finished_on TEXT,
    reminded_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS dossier_by_code ON dossier_dossiers (partner_id, ma_ho_so);
CREATE UNIQUE INDEX IF NOT EXISTS dossier_by_digest ON dossier_dossiers (partner_id, sha256);
CREATE INDEX IF NOT EXISTS dossier_by_age ON dossier_dossiers (received_at, id);
CREATE INDEX IF NOT EXISTS dossier_by_state ON dossier_dossiers (state, received_at, id);
CREATE INDEX IF NOT EXISTS dossier_by_department
    ON dossier_dossiers (department, received_at, id);
CREATE INDEX IF NOT EXISTS dossier_open_by_due
    ON dossier_dossiers (due_date) WHERE finished_on IS NULL;
CREATE INDEX IF NOT EXISTS dossier_decided_late
    ON dossier_dossiers (received_at, id) WHERE finished_on > due_date;
CREATE INDEX IF NOT EXISTS dossier_awaiting_supplement
    ON dossier_dossiers (supplement_due) WHERE state = 'supplement_requested';
CREATE TABLE IF NOT EXISTS dossier_history (
    dossier_id TEXT NOT NULL REFERENCES dossier_dossiers (id),
    n INTEGER NOT NULL,
    state TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    by_partner TEXT NOT NULL,
    reason TEXT,
    documents BLOB NOT NULL,
    due_date TEXT,
    officer TEXT,
    PRIMARY KEY (dossier_id, n)
);
CREATE TABLE IF NOT EXISTS dossier_receipts (
    id TEXT PRIMARY KEY,
    dossier_id TEXT NOT NULL REFERENCES dossier_dossiers (id),
    documents INTEGER NOT NULL,
    partner_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    json BLOB NOT NULL,
    xml BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dossier_documents_by_digest
    ON dossier_receipts (dossier_id, sha256) WHERE documents = 1;
CREATE TABLE IF NOT EXISTS dossier_records (
    id TEXT PRIMARY KEY,
    receipt_id TEXT NOT NULL REFERENCES dossier_receipts (id),
    json BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dossier_originals (
    sha256 TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    codec TEXT NOT NULL DEFAULT 'identity',
    size INTEGER
);
CREATE TABLE IF NOT EXISTS dossier_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id TEXT NOT NULL REFERENCES dossier_dossiers (id),
    ma_ho_so TEXT NOT NULL,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS dossier_outbox_undelivered
    ON dossier_outbox (dossier_id, seq) WHERE status != 'delivered';
CREATE INDEX IF NOT EXISTS dossier_outbox_due
    ON dossier_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS dossier_outbox_dead ON dossier_outbox (seq) WHERE status = 'dead';
CREATE TABLE IF NOT EXISTS dossier_queue (
    dossier_id TEXT PRIMARY KEY REFERENCES dossier_dossiers (id),
    department TEXT NOT NULL,
    received_at TEXT NOT NULL,
    token TEXT UNIQUE,
    worker TEXT,
    claimed_until TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dossier_queue_order
    ON dossier_queue (department, received_at, dossier_id);
CREATE TABLE IF NOT EXISTS dossier_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

DOSSIER_COLUMNS = (
    "id, partner_id, ma_ho_so, ma_tthc, procedure, department, state, received_at, due_date, "
    "receipt_id, record_id, applicant_kind, applicant_id, applicant_name, version, "
    "requested_documents, supplement_due, finished_at, reminded_at"
)
HISTORY_COLUMNS = "state, at, actor, by_partner, reason, documents, due_date, officer"
OUTBOX_COLUMNS = (
    "seq, dossier_id, ma_ho_so, kind, body, idempotency_key, attempts, next_attempt_at, "
    "status, last_error"
)


def instant(at: datetime) -> str:
    """``at`` as stored: UTC, microseconds, so that text order is time order."""
    if at.tzinfo is None:
        raise ValueError(f"a naive datetime cannot be stored: {at!r}")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def finished_on(at: datetime) -> str:
    """The Vietnam calendar date of a decision, which the portal compares with the due date."""
    return vietnam_date(at).isoformat()


def _instant_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _day_or_none(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def json_list(values: Iterable[str]) -> bytes:
    return orjson.dumps(list(values))


def history_row(dossier_id: str, n: int, entry: HistoryEntry) -> tuple[Any, ...]:
    return (
        dossier_id,
        n,
        str(entry.state),
        instant(entry.at),
        entry.actor,
        entry.by,
        entry.reason,
        json_list(entry.documents),
        day(entry.due_date),
        entry.officer,
    )


def history_entry(row: sqlite3.Row | tuple[Any, ...]) -> HistoryEntry:
    state, at, actor, by, reason, documents, due, officer = row
    return HistoryEntry(
        state=State(state),
        at=datetime.fromisoformat(at),
        actor=actor,
        by=by,
        reason=reason,
        documents=tuple(orjson.loads(documents)),
        due_date=_day_or_none(due),
        officer=officer,
    )


def dossier_row(dossier: Dossier, sha256: str) -> tuple[Any, ...]:
    """The values of ``dossier_dossiers``'s columns, in their order."""
    return (
        dossier.id,
        dossier.partner_id,
        dossier.ma_ho_so,
        sha256,
        dossier.ma_tthc,
        dossier.procedure,
        dossier.department,
        str(dossier.state),
        instant(dossier.received_at),
        dossier.due_date.isoformat(),
        dossier.receipt_id,
        dossier.record_id,
        dossier.applicant.kind,
        dossier.applicant.id,
        dossier.applicant.name,
        dossier.version,
        json_list(dossier.requested_documents),
        day(dossier.supplement_due),
        instant(dossier.finished_at) if dossier.finished_at else None,
        finished_on(dossier.finished_at) if dossier.finished_at else None,
        instant(dossier.reminded_at) if dossier.reminded_at else None,
    )


def dossier(row: tuple[Any, ...], history: Iterable[HistoryEntry]) -> Dossier:
    """A dossier from a row of ``DOSSIER_COLUMNS`` and its history, oldest first."""
    (
        dossier_id,
        partner_id,
        ma_ho_so,
        ma_tthc,
        procedure,
        department,
        state,
        received_at,
        due_date,
        receipt_id,
        record_id,
        applicant_kind,
        applicant_id,
        applicant_name,
        version,
        requested_documents,
        supplement_due,
        finished_at,
        reminded_at,
    ) = row
    return Dossier(
        id=dossier_id,
        partner_id=partner_id,
        ma_ho_so=ma_ho_so,
        ma_tthc=ma_tthc,
        procedure=procedure,
        department=department,
        state=State(state),
        received_at=datetime.fromisoformat(received_at),
        due_date=date.fromisoformat(due_date),
        receipt_id=receipt_id,
        record_id=record_id,
        applicant=Applicant(applicant_kind, applicant_id, applicant_name),
        version=version,
        history=tuple(history),
        requested_documents=tuple(orjson.loads(requested_documents)),
        supplement_due=_day_or_none(supplement_due),
        finished_at=_instant_or_none(finished_at),
        reminded_at=_instant_or_none(reminded_at),
    )


def outbox_message(row: tuple[Any, ...]) -> OutboxMessage:
    """A message from a row of ``OUTBOX_COLUMNS``."""
    seq, dossier_id, ma_ho_so, kind, body, key, attempts, next_at, status, error = row
    return OutboxMessage(
        seq=seq,
        change=StatusChange(dossier_id, ma_ho_so, kind, orjson.loads(body)),
        idempotency_key=key,
        attempts=attempts,
        next_attempt_at=datetime.fromisoformat(next_at),
        status=status,
        last_error=error,
    )


def cursor_of(received_at: datetime, dossier_id: str) -> str:
    """The opaque cursor of the page after the dossier it names (pages go oldest first)."""
    text = f"{instant(received_at)} {dossier_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def position(cursor: str) -> tuple[str, str]:
    """The (stored ``received_at``, id) a cursor of ``cursor_of`` names; ``XmlMalformed`` for
    anything else, since a cursor comes from the query of a request."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, dossier_id = text.split(" ")
        if len(cursor) > 200 or not dossier_id or instant(datetime.fromisoformat(at)) != at:
            raise ValueError(cursor)
    except (ValueError, binascii.Error) as exc:
        raise XmlMalformed("the cursor is not one that a page of this listing gave") from exc
    return at, dossier_id
