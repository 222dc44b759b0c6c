"""Dossiers and their changes for the status-delivery tests, built from the port's values."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from gateway.dossiers.changes import changes
from gateway.dossiers.lifecycle import Actor, State
from gateway.dossiers.ports import (
    Applicant,
    Dossier,
    DossierStore,
    HistoryEntry,
    NewDossier,
    OutboxMessage,
    StatusChange,
)
from gateway.store.ports import StoredReceipt

T0 = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # 09:30 in Hanoi, a Monday
CITIZEN = Applicant(kind="citizen", id="001090012345", name="Nguyễn Văn An")
UNIT = Applicant(kind="unit", id="0101234567", name="Công ty TNHH Minh Phát")
# A dossier's usual path, and who makes each move.
PATH: tuple[tuple[State, Actor], ...] = (
    (State.ACCEPTED, "department"),
    (State.PROCESSING, "department"),
    (State.SUPPLEMENT_REQUESTED, "department"),
    (State.PROCESSING, "portal"),
    (State.FINISHED, "department"),
    (State.RESULT_DELIVERED, "department"),
)


def dossier(
    n: int = 1, *, applicant: Applicant = CITIZEN, procedure: str = "REISSUE_HI_CARD"
) -> Dossier:
    """A dossier just received, as the service would store it."""
    entry = HistoryEntry(state=State.RECEIVED, at=T0, actor="gateway", by="gateway")
    return Dossier(
        id=f"01JDOSSIER{n:016d}",
        partner_id="portal-dvcqg",
        ma_ho_so=f"000.00.12.G24-260302-{n:05d}",
        ma_tthc="1.009104",
        procedure=procedure,
        department="book-and-card",
        state=State.RECEIVED,
        received_at=T0,
        due_date=date(2026, 3, 11),
        receipt_id=f"01JRECEIPT{n:016d}",
        record_id=f"01JRECORD0{n:016d}",
        applicant=applicant,
        version=1,
        history=(entry,),
    )


def new_dossier(d: Dossier) -> NewDossier:
    """What the service writes for a new dossier: it, its receipt, record, original, changes."""
    receipt = StoredReceipt(
        id=d.receipt_id,
        partner_id=d.partner_id,
        sha256=hashlib.sha256(d.id.encode()).hexdigest(),
        accepted=True,
        json=b"{}",
        xml=b"<Receipt/>",
    )
    return NewDossier(
        dossier=d,
        receipt=receipt,
        record_json=b"{}",
        original=d.id.encode(),
        changes=changes(None, d, d.history[0]),
    )


def move(before: Dossier, to: State, actor: Actor, *, at: datetime) -> tuple[Dossier, HistoryEntry]:
    """The dossier after one move, and its history entry (officer, reason, documents as a
    department would give them)."""
    supplement = to is State.SUPPLEMENT_REQUESTED
    due = before.due_date + timedelta(days=7) if supplement else before.due_date
    entry = HistoryEntry(
        state=to,
        at=at,
        actor=actor,
        by="dept-book-and-card" if actor == "department" else before.partner_id,
        reason="Thiếu ảnh CCCD mặt sau" if supplement else None,
        documents=("Bản chụp CCCD hai mặt",) if supplement else (),
        due_date=due,
        officer="Trần Thị Bình" if actor == "department" else None,
    )
    after = dataclasses.replace(
        before,
        state=to,
        version=before.version + 1,
        due_date=due,
        history=(*before.history, entry),
        requested_documents=entry.documents,
        supplement_due=before.due_date if supplement else None,
        finished_at=at if to is State.FINISHED else before.finished_at,
    )
    return after, entry


def moves(
    d: Dossier, path: Iterable[tuple[State, Actor]] = PATH
) -> Iterator[tuple[Dossier, Dossier, HistoryEntry]]:
    """Each move of ``d`` along ``path``, an hour apart: the dossier before, after, the entry."""
    for hour, (to, actor) in enumerate(path, start=1):
        after, entry = move(d, to, actor, at=T0 + timedelta(hours=hour))
        yield d, after, entry
        d = after


def walk(d: Dossier, path: Iterable[tuple[State, Actor]] = PATH) -> Iterator[StatusChange]:
    """Every change of ``d`` along ``path``, from its reception on."""
    yield from changes(None, d, d.history[0])
    for before, after, entry in moves(d, path):
        yield from changes(before, after, entry)


def store_walk(
    store: DossierStore, d: Dossier, path: Iterable[tuple[State, Actor]] = PATH
) -> Dossier:
    """``d`` created in ``store`` and moved along ``path``, as the service would."""
    store.create(new_dossier(d))
    for before, after, entry in moves(d, path):
        store.move(
            d.id,
            entry,
            version=before.version,
            changes=changes(before, after, entry),
            requested_documents=after.requested_documents,
            supplement_due=after.supplement_due,
        )
        d = after
    return d


class MovableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


_seq = itertools.count(1)


def message(change: StatusChange, *, attempts: int = 0) -> OutboxMessage:
    """An outbox message of ``change``, as the store would hand it out."""
    seq = next(_seq)
    return OutboxMessage(
        seq=seq,
        change=change,
        idempotency_key=f"{change.dossier_id}-{seq}",
        attempts=attempts,
        next_attempt_at=T0,
        status="pending",
    )
