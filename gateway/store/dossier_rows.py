"""What the SQL dossier stores (SQLite, PostgreSQL) share: their column lists and the SQL lists of
states, page bounds and cursors, the filters of a search, how a dossier and a history entry are
written to rows (in each driver's ``Encoding``), and how a row, as either database returns it,
maps back to a dossier, a history entry or an outbox message."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from gateway.dossiers.calendar import vietnam_date
from gateway.dossiers.lifecycle import DECIDED, DEPARTMENT_WORK, FINAL, State
from gateway.dossiers.ports import (
    Applicant,
    Dossier,
    HistoryEntry,
    OutboxMessage,
    Page,
    StatusChange,
)
from gateway.errors import Conflict, NotFound, XmlMalformed

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


@dataclass(frozen=True)
class Encoding:
    """How a store's driver takes what it writes: its placeholder, and its values of instants,
    calendar dates and lists of texts (SQLite's text and JSON, PostgreSQL's own types)."""

    mark: str
    at: Callable[[datetime], Any]
    day: Callable[[date], Any]
    texts: Callable[[Iterable[str]], Any]

    def day_or_none(self, value: date | None) -> Any:
        return None if value is None else self.day(value)

    def at_or_none(self, value: datetime | None) -> Any:
        return None if value is None else self.at(value)

    def finished_on(self, at: datetime) -> Any:
        """The Vietnam calendar date of a decision, which the portal compares with the due
        date."""
        return self.day(vietnam_date(at))


def history_row(enc: Encoding, dossier_id: str, n: int, entry: HistoryEntry) -> tuple[Any, ...]:
    """The values of ``dossier_history``'s columns, in their order."""
    return (
        dossier_id,
        n,
        str(entry.state),
        enc.at(entry.at),
        entry.actor,
        entry.by,
        entry.reason,
        enc.texts(entry.documents),
        enc.day_or_none(entry.due_date),
        entry.officer,
    )


def dossier_row(enc: Encoding, dossier: Dossier, sha256: str) -> tuple[Any, ...]:
    """The values of ``dossier_dossiers``'s columns, in their order."""
    finished = dossier.finished_at
    return (
        dossier.id,
        dossier.partner_id,
        dossier.ma_ho_so,
        sha256,
        dossier.ma_tthc,
        dossier.procedure,
        dossier.department,
        str(dossier.state),
        enc.at(dossier.received_at),
        enc.day(dossier.due_date),
        dossier.receipt_id,
        dossier.record_id,
        dossier.applicant.kind,
        dossier.applicant.id,
        dossier.applicant.name,
        dossier.version,
        enc.texts(dossier.requested_documents),
        enc.day_or_none(dossier.supplement_due),
        enc.at_or_none(finished),
        None if finished is None else enc.finished_on(finished),
        enc.at_or_none(dossier.reminded_at),
    )


def search_filters(
    enc: Encoding, *, state: State | None, department: str | None, late_at: datetime | None
) -> tuple[list[str], list[Any]]:
    """The conditions on ``dossier_dossiers`` of a search, and their parameters."""
    mark = enc.mark
    where: list[str] = []
    params: list[Any] = []
    if state is not None:
        where.append(f"state = {mark}")
        params.append(str(state))
    if department is not None:
        where.append(f"department = {mark}")
        params.append(department)
    if late_at is not None:
        # As the portal measures it: decided after the due date (Vietnam dates), or not
        # decided yet, still open, and the due date already past.
        where.append(
            f"((state IN ({DECIDED_STATES}) AND finished_on > due_date) OR "
            f"(finished_on IS NULL AND state IN ({OPEN_STATES}) AND due_date < {mark}))"
        )
        params.append(enc.finished_on(late_at))
    return where, params


def after(enc: Encoding, cursor: str) -> tuple[str, list[Any]]:
    """The condition, and its parameters, of the dossiers after the one a cursor names."""
    at, dossier_id = position(cursor)
    return f"(received_at, id) > ({enc.mark}, {enc.mark})", [
        enc.at(datetime.fromisoformat(at)),
        dossier_id,
    ]


def page_of(found: list[Dossier], size: int) -> Page:
    """A page of ``size`` dossiers from up to ``size + 1`` found (one more: a next page)."""
    if len(found) <= size:
        return Page(tuple(found))
    last = found[size - 1]
    return Page(tuple(found[:size]), cursor_of(last.received_at, last.id))


def with_history(found: list[tuple[Any, ...]], history: Iterable[tuple[Any, ...]]) -> list[Dossier]:
    """Dossiers from rows of ``DOSSIER_COLUMNS`` and their history's rows of ``dossier_id,
    HISTORY_COLUMNS`` in order."""
    entries: dict[str, list[HistoryEntry]] = {row[0]: [] for row in found}
    for row in history:
        entries[row[0]].append(history_entry(row[1:]))
    return [dossier(row, entries[row[0]]) for row in found]


def failure(
    enc: Encoding, *, error: str, next_attempt_at: datetime | None
) -> tuple[str, tuple[Any, ...]]:
    """The assignments to an outbox message, and their parameters, of a failed delivery: dead
    with no next attempt, else due again then."""
    mark = enc.mark
    if next_attempt_at is None:
        return f"status = 'dead', attempts = attempts + 1, last_error = {mark}", (error,)
    return (
        f"attempts = attempts + 1, last_error = {mark}, next_attempt_at = {mark}",
        (error, enc.at(next_attempt_at)),
    )


def require_entry(entry: HistoryEntry | None, changes: tuple[StatusChange, ...]) -> None:
    """Outbox messages are those of a change: ``ValueError`` for messages without its entry."""
    if changes and entry is None:
        raise ValueError("outbox messages are those of a change: give its entry")


def the_one(found: list[Dossier], dossier_id: str) -> Dossier:
    """The dossier of a lookup by id; ``NotFound`` if there is none."""
    if not found:
        raise NotFound(f"no dossier {dossier_id}")
    return found[0]


def check_version(dossier_id: str, version: int, current: int) -> None:
    """``Conflict`` unless the dossier is still at the version a change was decided on."""
    if current != version:
        raise Conflict(
            f"dossier {dossier_id} changed since version {version} (it is at {current}); "
            "decide again on what it is now"
        )


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
