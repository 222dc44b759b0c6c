"""What the SQL dossier stores (SQLite, PostgreSQL) share: their column lists and the SQL lists of
states, page bounds and cursors, and how a row, as either database returns it, maps back to a
dossier, a history entry or an outbox message."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from typing import Any

import orjson

from gateway.dossiers.lifecycle import DECIDED, DEPARTMENT_WORK, FINAL, State
from gateway.dossiers.ports import Applicant, Dossier, HistoryEntry, OutboxMessage, StatusChange
from gateway.errors import XmlMalformed

MAX_PAGE = 200  # the most rows any one call returns
PAUSED = "delivery_paused"  # the kill switch's row in dossier_settings

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


def _in(states: frozenset[State]) -> str:
    """A SQL list of constant state names (never a partner's input)."""
    return ", ".join(f"'{state}'" for state in sorted(states))


WORK = _in(DEPARTMENT_WORK)
DECIDED_STATES = _in(DECIDED)
OPEN_STATES = _in(frozenset(State) - DECIDED - FINAL)  # may still be decided late


def bounded(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def instant(at: datetime) -> str:
    """``at`` as SQLite stores it and cursors name it: UTC, microseconds, so that text order is
    time order."""
    if at.tzinfo is None:
        raise ValueError(f"a naive datetime cannot be stored: {at!r}")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


# A column as SQLite returns it (ISO text, JSON lists) or PostgreSQL does (datetime, date, list).
def _at(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _at_or_none(value: datetime | str | None) -> datetime | None:
    return None if value is None else _at(value)


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _day_or_none(value: date | str | None) -> date | None:
    return None if value is None else _day(value)


def _texts(value: list[str] | bytes) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else tuple(orjson.loads(value))


def history_entry(row: tuple[Any, ...]) -> HistoryEntry:
    """An entry from a row of ``HISTORY_COLUMNS``."""
    state, at, actor, by, reason, documents, due, officer = row
    return HistoryEntry(
        state=State(state),
        at=_at(at),
        actor=actor,
        by=by,
        reason=reason,
        documents=_texts(documents),
        due_date=_day_or_none(due),
        officer=officer,
    )


def dossier(row: tuple[Any, ...], history: list[HistoryEntry]) -> Dossier:
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
        received_at=_at(received_at),
        due_date=_day(due_date),
        receipt_id=receipt_id,
        record_id=record_id,
        applicant=Applicant(applicant_kind, applicant_id, applicant_name),
        version=version,
        history=tuple(history),
        requested_documents=_texts(requested_documents),
        supplement_due=_day_or_none(supplement_due),
        finished_at=_at_or_none(finished_at),
        reminded_at=_at_or_none(reminded_at),
    )


def outbox_message(row: tuple[Any, ...]) -> OutboxMessage:
    """A message from a row of ``OUTBOX_COLUMNS``."""
    seq, dossier_id, ma_ho_so, kind, body, key, attempts, next_at, status, error = row
    return OutboxMessage(
        seq=seq,
        change=StatusChange(dossier_id, ma_ho_so, kind, orjson.loads(body)),
        idempotency_key=key,
        attempts=attempts,
        next_attempt_at=_at(next_at),
        status=status,
        last_error=error,
    )


def cursor_of(received_at: datetime, dossier_id: str) -> str:
    """The opaque cursor of the page after the dossier it names (pages go oldest first)."""
    text = f"{instant(received_at)} {dossier_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def position(cursor: str) -> tuple[str, str]:
    """The (``instant`` of ``received_at``, id) a cursor of ``cursor_of`` names; ``XmlMalformed``
    for anything else, since a cursor comes from the query of a request."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, dossier_id = text.split(" ")
        if len(cursor) > 200 or not dossier_id or instant(datetime.fromisoformat(at)) != at:
            raise ValueError(cursor)
    except (ValueError, binascii.Error) as exc:
        raise XmlMalformed("the cursor is not one that a page of this listing gave") from exc
    return at, dossier_id
