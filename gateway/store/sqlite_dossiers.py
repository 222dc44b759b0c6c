"""The dossiers' SQLite store: dossiers, history, documents, outbox and department queues."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from gateway.dossiers.lifecycle import DECIDED, DEPARTMENT_WORK, State
from gateway.dossiers.ports import (
    Claim,
    Dossier,
    HistoryEntry,
    NewDocuments,
    NewDossier,
    OutboxMessage,
    Page,
    StatusChange,
)
from gateway.errors import NotFound
from gateway.sirecords.ports import GrantedBenefit
from gateway.store import dossier_rows
from gateway.store import sqlite_dossier_rows as rows
from gateway.store import sqlite_sirecords as sirecords
from gateway.store.originals import Packed, pack
from gateway.store.ports import StoredReceipt
from gateway.store.receipt_rows import RECEIPT_COLUMNS, RECEIPT_VALUES, receipt_of, receipt_values
from gateway.store.sqlite import SqliteReceiptDatabase, snapshot


class SqliteDossierStore(SqliteReceiptDatabase):
    """Each write is one ``BEGIN IMMEDIATE`` transaction (``SqliteReceiptDatabase``): it takes the
    database's write lock before its first read, so what it decides on (a version, a free task,
    a duplicate) cannot change under it, in this process or any other.

    The department queue holds one task per dossier in ``DEPARTMENT_WORK``. A task stays while
    a worker holds its claim even if the dossier leaves that work meanwhile (the worker's move
    comes before its ack), so that the ack is taken; such a task is never handed out again."""

    RECEIPTS, ORIGINALS = "dossier_receipts", "dossier_originals"

    def __init__(self, path: Path) -> None:
        # The SI records share the file: a finished dossier's benefit is written with its move.
        super().__init__(path, rows.SCHEMA + sirecords.SCHEMA)

    # -- dossiers ------------------------------------------------------------------------------

    def create(self, new: NewDossier) -> Dossier:
        dossier, receipt = new.dossier, new.receipt
        original = pack(new.original)  # outside the write lock
        with self._writing() as db:
            existing = self._find(db, dossier.partner_id, dossier.ma_ho_so, receipt.sha256)
            if existing is not None:
                return existing
            db.execute(
                "INSERT INTO dossier_dossiers (id, partner_id, ma_ho_so, sha256, ma_tthc, "
                "procedure, department, state, received_at, due_date, receipt_id, record_id, "
                "applicant_kind, applicant_id, applicant_name, version, requested_documents, "
                "supplement_due, finished_at, finished_on, reminded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                dossier_rows.dossier_row(rows.ENCODING, dossier, receipt.sha256),
            )
            db.executemany(
                f"INSERT INTO dossier_history (dossier_id, n, {dossier_rows.HISTORY_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    dossier_rows.history_row(rows.ENCODING, dossier.id, n, e)
                    for n, e in enumerate(dossier.history, 1)
                ],
            )
            self._keep(
                db,
                dossier.id,
                receipt=receipt,
                record_id=dossier.record_id,
                record_json=new.record_json,
                original=original,
                documents=False,
            )
            self._enqueue(db, new.changes, at=dossier.received_at)
            if dossier.state in DEPARTMENT_WORK:
                self._add_task(db, dossier)
            return self._load(db, dossier.id)

    def find(self, partner_id: str, *, ma_ho_so: str, sha256: str) -> Dossier | None:
        with self._reading() as db, snapshot(db):
            return self._find(db, partner_id, ma_ho_so, sha256)

    def get(self, dossier_id: str) -> Dossier | None:
        with self._reading() as db, snapshot(db):
            found = self._select(db, "id = ?", (dossier_id,), limit=1)
        return found[0] if found else None

    def get_record(self, record_id: str) -> bytes | None:
        with self._reading() as db:
            row = db.execute("SELECT json FROM dossier_records WHERE id = ?", (record_id,))
            found = row.fetchone()
        return None if found is None else bytes(found[0])

    def move(
        self,
        dossier_id: str,
        entry: HistoryEntry,
        *,
        version: int,
        changes: tuple[StatusChange, ...],
        requested_documents: tuple[str, ...] = (),
        supplement_due: date | None = None,
        benefit: GrantedBenefit | None = None,
    ) -> Dossier:
        with self._writing() as db:
            self._check_version(db, dossier_id, version)
            if benefit is not None:
                sirecords.write_benefit(db, benefit)
            self._apply(
                db,
                dossier_id,
                entry,
                changes=changes,
                requested_documents=requested_documents,
                supplement_due=supplement_due,
            )
            return self._load(db, dossier_id)

    def add_documents(
        self,
        dossier_id: str,
        documents: NewDocuments,
        *,
        version: int,
        entry: HistoryEntry | None = None,
        changes: tuple[StatusChange, ...] = (),
    ) -> StoredReceipt:
        dossier_rows.require_entry(entry, changes)
        receipt = documents.receipt
        original = pack(documents.original)
        with self._writing() as db:
            first = db.execute(
                f"SELECT {RECEIPT_COLUMNS} FROM dossier_receipts "  # noqa: S608
                "WHERE dossier_id = ? AND sha256 = ? AND documents = 1",
                (dossier_id, receipt.sha256),
            ).fetchone()
            if first is not None:
                stored = receipt_of(first)
                assert stored is not None
                return stored
            self._check_version(db, dossier_id, version)
            self._keep(
                db,
                dossier_id,
                receipt=receipt,
                record_id=documents.record_id,
                record_json=documents.record_json,
                original=original,
                documents=True,
            )
            if entry is not None:
                self._apply(db, dossier_id, entry, changes=changes)
        return receipt

    def search(
        self,
        *,
        state: State | None = None,
        department: str | None = None,
        late_at: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        where, params = dossier_rows.search_filters(
            rows.ENCODING, state=state, department=department, late_at=late_at
        )
        return self._page(where, params, cursor, limit)

    # -- the department queue ------------------------------------------------------------------

    def claim(
        self, department: str, *, worker: str, at: datetime, visibility: float
    ) -> Claim | None:
        now = dossier_rows.instant(at)
        until = at + timedelta(seconds=visibility)
        token = secrets.token_urlsafe(18)
        with self._writing() as db:
            # Tasks kept for an ack that never came, of dossiers no longer in the work.
            db.execute(
                "DELETE FROM dossier_queue WHERE department = ? "  # noqa: S608
                "AND claimed_until <= ? AND dossier_id IN (SELECT id FROM dossier_dossiers "
                f"WHERE department = ? AND state NOT IN ({dossier_rows.WORK}))",
                (department, now, department),
            )
            row = db.execute(
                "SELECT q.dossier_id FROM dossier_queue q "  # noqa: S608
                "JOIN dossier_dossiers d ON d.id = q.dossier_id "
                "WHERE q.department = ? AND (q.claimed_until IS NULL OR q.claimed_until <= ?) "
                f"AND d.state IN ({dossier_rows.WORK}) "
                "ORDER BY q.received_at, q.dossier_id LIMIT 1",
                (department, now),
            ).fetchone()
            if row is None:
                return None
            (deliveries,) = db.execute(
                "UPDATE dossier_queue SET token = ?, worker = ?, claimed_until = ?, "
                "deliveries = deliveries + 1 WHERE dossier_id = ? RETURNING deliveries",
                (token, worker, dossier_rows.instant(until), row[0]),
            ).fetchone()
        return Claim(token, row[0], department, worker, until, deliveries)

    def ack(self, token: str, *, at: datetime) -> bool:
        with self._writing() as db:
            row = db.execute(
                "SELECT q.dossier_id, d.state FROM dossier_queue q "
                "JOIN dossier_dossiers d ON d.id = q.dossier_id "
                "WHERE q.token = ? AND q.claimed_until > ?",
                (token, dossier_rows.instant(at)),
            ).fetchone()
            if row is None:
                return False
            if State(row[1]) in DEPARTMENT_WORK:
                db.execute(
                    "UPDATE dossier_queue SET token = NULL, worker = NULL, claimed_until = NULL "
                    "WHERE dossier_id = ?",
                    (row[0],),
                )
            else:
                db.execute("DELETE FROM dossier_queue WHERE dossier_id = ?", (row[0],))
        return True

    def queued(self, department: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        where = [
            f"state IN ({dossier_rows.WORK})",
            "id IN (SELECT dossier_id FROM dossier_queue WHERE department = ?)",
        ]
        return self._page(where, [department], cursor, limit)

    # -- reminders -----------------------------------------------------------------------------

    def awaiting_supplement(self, *, overdue_on: date, reminded_before: datetime) -> list[Dossier]:
        with self._reading() as db, snapshot(db):
            return self._select(
                db,
                "state = 'supplement_requested' AND supplement_due < ? "
                "AND (reminded_at IS NULL OR reminded_at < ?)",
                (overdue_on.isoformat(), dossier_rows.instant(reminded_before)),
                limit=dossier_rows.MAX_PAGE,
                order="supplement_due, received_at, id",
            )

    def remind(self, dossier_id: str, *, at: datetime, change: StatusChange) -> None:
        """A dossier that is no longer waiting on supplements (a move raced the reminder) is
        not reminded: nothing is written."""
        with self._writing() as db:
            updated = db.execute(
                "UPDATE dossier_dossiers SET reminded_at = ? "
                "WHERE id = ? AND state = 'supplement_requested'",
                (dossier_rows.instant(at), dossier_id),
            )
            if updated.rowcount:
                self._enqueue(db, (change,), at=at)

    # -- the outbox ----------------------------------------------------------------------------

    def due_messages(self, *, at: datetime, limit: int) -> list[OutboxMessage]:
        with self._reading() as db:
            found = db.execute(
                f"SELECT {dossier_rows.OUTBOX_COLUMNS} FROM dossier_outbox o "  # noqa: S608
                "WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND NOT EXISTS ("
                "SELECT 1 FROM dossier_outbox e WHERE e.dossier_id = o.dossier_id "
                "AND e.status != 'delivered' AND e.seq < o.seq) ORDER BY o.seq LIMIT ?",
                (dossier_rows.instant(at), dossier_rows.bounded(limit)),
            ).fetchall()
        return [dossier_rows.outbox_message(row) for row in found]

    def delivered(self, seq: int, *, at: datetime) -> None:
        self._update_message(
            "status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL",
            (dossier_rows.instant(at),),
            seq,
        )

    def failed(self, seq: int, *, error: str, next_attempt_at: datetime | None) -> None:
        assignments, params = dossier_rows.failure(
            rows.ENCODING, error=error, next_attempt_at=next_attempt_at
        )
        self._update_message(assignments, params, seq)

    def dead_letters(self, *, limit: int = 100) -> list[OutboxMessage]:
        with self._reading() as db:
            found = db.execute(
                f"SELECT {dossier_rows.OUTBOX_COLUMNS} FROM dossier_outbox "  # noqa: S608
                "WHERE status = 'dead' ORDER BY seq LIMIT ?",
                (dossier_rows.bounded(limit),),
            ).fetchall()
        return [dossier_rows.outbox_message(row) for row in found]

    def redrive(self, *, seq: int | None = None, at: datetime) -> int:
        """Re-driven messages start a new retry budget (``attempts`` back to 0)."""
        with self._writing() as db:
            updated = db.execute(
                "UPDATE dossier_outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
                "WHERE status = 'dead' AND (? IS NULL OR seq = ?)",
                (dossier_rows.instant(at), seq, seq),
            )
            return updated.rowcount

    def delivery_paused(self) -> bool:
        with self._reading() as db:
            row = db.execute(
                "SELECT value FROM dossier_settings WHERE name = ?", (dossier_rows.PAUSED,)
            ).fetchone()
        return row is not None and row[0] == "1"

    def pause_delivery(self, paused: bool) -> None:
        with self._writing() as db:
            db.execute(
                "INSERT INTO dossier_settings (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (dossier_rows.PAUSED, "1" if paused else "0"),
            )

    # -- inside a transaction ------------------------------------------------------------------

    def _find(
        self, db: sqlite3.Connection, partner_id: str, ma_ho_so: str, sha256: str
    ) -> Dossier | None:
        found = self._select(
            db,
            "partner_id = ? AND (ma_ho_so = ? OR sha256 = ?)",
            (partner_id, ma_ho_so, sha256),
            limit=1,
        )
        return found[0] if found else None

    def _load(self, db: sqlite3.Connection, dossier_id: str) -> Dossier:
        return dossier_rows.the_one(self._select(db, "id = ?", (dossier_id,), limit=1), dossier_id)

    def _select(
        self,
        db: sqlite3.Connection,
        where: str,
        params: Sequence[Any],
        *,
        limit: int,
        order: str = "received_at, id",
    ) -> list[Dossier]:
        """Dossiers with their history; ``where`` and ``order`` are the store's own SQL."""
        found = db.execute(
            f"SELECT {dossier_rows.DOSSIER_COLUMNS} FROM dossier_dossiers "  # noqa: S608
            f"WHERE {where} ORDER BY {order} LIMIT ?",
            (*params, limit),
        ).fetchall()
        if not found:
            return []
        ids = [row[0] for row in found]
        history = db.execute(
            f"SELECT dossier_id, {dossier_rows.HISTORY_COLUMNS} FROM dossier_history "  # noqa: S608
            f"WHERE dossier_id IN ({', '.join('?' * len(ids))}) ORDER BY dossier_id, n",
            ids,
        )
        return dossier_rows.with_history(found, history)

    def _page(self, where: list[str], params: list[Any], cursor: str | None, limit: int) -> Page:
        if cursor is not None:
            condition, bounds = dossier_rows.after(rows.ENCODING, cursor)
            where, params = [*where, condition], [*params, *bounds]
        size = dossier_rows.bounded(limit)
        with self._reading() as db, snapshot(db):
            found = self._select(db, " AND ".join(where) or "1", params, limit=size + 1)
        return dossier_rows.page_of(found, size)

    def _check_version(self, db: sqlite3.Connection, dossier_id: str, version: int) -> None:
        row = db.execute(
            "SELECT version FROM dossier_dossiers WHERE id = ?", (dossier_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no dossier {dossier_id}")
        dossier_rows.check_version(dossier_id, version, row[0])

    def _apply(
        self,
        db: sqlite3.Connection,
        dossier_id: str,
        entry: HistoryEntry,
        *,
        changes: tuple[StatusChange, ...],
        requested_documents: tuple[str, ...] = (),
        supplement_due: date | None = None,
    ) -> None:
        """One change: history, dossier, outbox, queue (the caller checked the version)."""
        (n,) = db.execute(
            "SELECT coalesce(max(n), 0) + 1 FROM dossier_history WHERE dossier_id = ?",
            (dossier_id,),
        ).fetchone()
        db.execute(
            f"INSERT INTO dossier_history (dossier_id, n, {dossier_rows.HISTORY_COLUMNS}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            dossier_rows.history_row(rows.ENCODING, dossier_id, n, entry),
        )
        decided = entry.state in DECIDED
        db.execute(
            "UPDATE dossier_dossiers SET state = ?, due_date = coalesce(?, due_date), "
            "requested_documents = ?, supplement_due = ?, "
            "finished_at = CASE WHEN ? THEN coalesce(finished_at, ?) ELSE finished_at END, "
            "finished_on = CASE WHEN ? THEN coalesce(finished_on, ?) ELSE finished_on END, "
            "version = version + 1 WHERE id = ?",
            (
                str(entry.state),
                rows.ENCODING.day_or_none(entry.due_date),
                rows.ENCODING.texts(requested_documents),
                rows.ENCODING.day_or_none(supplement_due),
                decided,
                dossier_rows.instant(entry.at),
                decided,
                rows.ENCODING.finished_on(entry.at),
                dossier_id,
            ),
        )
        self._enqueue(db, changes, at=entry.at)
        if entry.state in DEPARTMENT_WORK:
            self._add_task(db, self._load(db, dossier_id))
        else:
            # A claim still held keeps its task until the worker's ack (see the class).
            db.execute(
                "DELETE FROM dossier_queue WHERE dossier_id = ? "
                "AND (claimed_until IS NULL OR claimed_until <= ?)",
                (dossier_id, dossier_rows.instant(entry.at)),
            )

    def _add_task(self, db: sqlite3.Connection, dossier: Dossier) -> None:
        """The dossier's task, available at once; one already there is kept with its claim."""
        db.execute(
            "INSERT INTO dossier_queue (dossier_id, department, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT (dossier_id) DO NOTHING",
            (dossier.id, dossier.department, dossier_rows.instant(dossier.received_at)),
        )

    def _enqueue(
        self, db: sqlite3.Connection, changes: tuple[StatusChange, ...], *, at: datetime
    ) -> None:
        """Outbox messages due at ``at``; each keyed by its dossier and its place among the
        dossier's messages, which the portal may use to drop a message delivered twice."""
        for change in changes:
            (n,) = db.execute(
                "SELECT count(*) + 1 FROM dossier_outbox WHERE dossier_id = ?",
                (change.dossier_id,),
            ).fetchone()
            db.execute(
                "INSERT INTO dossier_outbox (dossier_id, ma_ho_so, kind, body, "
                "idempotency_key, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    change.dossier_id,
                    change.ma_ho_so,
                    change.kind,
                    orjson.dumps(change.body),
                    f"{change.dossier_id}:{n}",
                    dossier_rows.instant(at),
                ),
            )

    def _keep(
        self,
        db: sqlite3.Connection,
        dossier_id: str,
        *,
        receipt: StoredReceipt,
        record_id: str,
        record_json: bytes,
        original: Packed,
        documents: bool,
    ) -> None:
        """A receipt, its record and the original bytes: the dossier's own or additional
        documents'."""
        db.execute(
            f"INSERT INTO dossier_receipts (dossier_id, documents, {RECEIPT_COLUMNS}) "  # noqa: S608
            f"VALUES ({', '.join('?' * (2 + RECEIPT_VALUES))})",
            (dossier_id, int(documents), *receipt_values(receipt)),
        )
        db.execute(
            "INSERT INTO dossier_records (id, receipt_id, json) VALUES (?, ?, ?)",
            (record_id, receipt.id, record_json),
        )
        self._insert_original(db, receipt.sha256, original)

    def _update_message(self, assignments: str, params: tuple[Any, ...], seq: int) -> None:
        with self._writing() as db:
            updated = db.execute(
                f"UPDATE dossier_outbox SET {assignments} WHERE seq = ?",  # noqa: S608
                (*params, seq),
            )
            if not updated.rowcount:
                raise NotFound(f"no outbox message {seq}")
