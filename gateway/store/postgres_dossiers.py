"""The dossiers' PostgreSQL store: dossiers, history, documents, outbox and department queues,
shared by the gateway processes of every host (migration 0003).

How concurrent writers agree, at READ COMMITTED:

- A change of a dossier (a move, documents, a reminder) first locks the dossier's row (``FOR
  UPDATE``): the version it was decided on, the history's next number and the outbox's next key
  cannot change under it, and the dossier's outbox messages are numbered in commit order.
- A new dossier is decided by the unique (partner, ``ma_ho_so``) and (partner, SHA-256) indexes:
  ``INSERT ... ON CONFLICT DO NOTHING`` waits for a concurrent insert of the same key to commit,
  then finds the winner's dossier; nothing else of the loser is written.
- A claim takes the oldest available task ``FOR UPDATE SKIP LOCKED``: two workers never wait on
  each other, nor get the same task; a claim expires at ``claimed_until`` (the visibility
  timeout), after which the task is available again.
- Lock order: only a move holds a dossier's row while it touches its task; claims and acks lock
  tasks only, so no two transactions wait on each other in a cycle.

A state change and its outbox messages, the documents' receipt, record and original, and the
benefit a finished dossier grants (the SI records, ``postgres_sirecords.write_benefit``) are one
transaction: a server lost mid-way rolls all of it back (``Unavailable``, 503).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from gateway.dossiers.calendar import vietnam_date
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
from gateway.store import dossier_rows as rows
from gateway.store import postgres_sirecords as sirecords
from gateway.store.originals import Packed, pack
from gateway.store.pg_database import Connection
from gateway.store.pg_partitions import received_at, time_of
from gateway.store.pg_receipts import PostgresReceiptDatabase
from gateway.store.ports import StoredReceipt
from gateway.store.receipt_rows import RECEIPT_COLUMNS, RECEIPT_VALUES, receipt_of, receipt_values

# The driver takes instants, dates and lists as they are.
_ENCODING = rows.Encoding(mark="%s", at=lambda at: at, day=lambda day: day, texts=list)


class PostgresDossierStore(PostgresReceiptDatabase):
    """A ``DossierStore`` in a PostgreSQL database migrated by ``gateway db upgrade``.

    As in SQLite, a task stays while a worker holds its claim even if the dossier leaves the
    department's work meanwhile (the worker's move comes before its ack), so that the ack is
    taken; such a task is never handed out again."""

    RECEIPTS, ORIGINALS = "dossier_receipts", "dossier_originals"

    def __init__(self, url: str, *, require_durable: bool = True) -> None:
        super().__init__(url, name="dossiers", require_durable=require_durable)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection in a read-only transaction on one snapshot (a dossier and its history
        read together)."""
        with self._conn() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    # -- dossiers ------------------------------------------------------------------------------

    def create(self, new: NewDossier) -> Dossier:
        dossier, receipt = new.dossier, new.receipt
        at, record_at = time_of(receipt.id), time_of(dossier.record_id)
        original = pack(new.original)
        self._partitions.ensure(at, record_at)
        with self._writing() as conn:
            won = conn.execute(
                "INSERT INTO dossier_dossiers (id, partner_id, ma_ho_so, sha256, ma_tthc, "
                "procedure, department, state, received_at, due_date, receipt_id, record_id, "
                "applicant_kind, applicant_id, applicant_name, version, requested_documents, "
                "supplement_due, finished_at, finished_on, reminded_at) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s) ON CONFLICT DO NOTHING RETURNING 1",
                rows.dossier_row(_ENCODING, dossier, receipt.sha256),
            ).fetchone()
            if won is None:
                # Stored by another submission, committed meanwhile: that one.
                existing = self._find(conn, dossier.partner_id, dossier.ma_ho_so, receipt.sha256)
                assert existing is not None  # dossiers are never deleted
                return existing
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO dossier_history (dossier_id, n, {rows.HISTORY_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        rows.history_row(_ENCODING, dossier.id, n, e)
                        for n, e in enumerate(dossier.history, 1)
                    ],
                )
            self._keep(
                conn,
                dossier.id,
                receipt=receipt,
                at=at,
                record=(dossier.record_id, record_at, new.record_json),
                original=original,
                documents=False,
            )
            self._enqueue(conn, new.changes, at=dossier.received_at)
            if dossier.state in DEPARTMENT_WORK:
                self._add_task(conn, dossier)
            return self._load(conn, dossier.id)

    def find(self, partner_id: str, *, ma_ho_so: str, sha256: str) -> Dossier | None:
        with self._reading() as conn:
            return self._find(conn, partner_id, ma_ho_so, sha256)

    def get(self, dossier_id: str) -> Dossier | None:
        with self._reading() as conn:
            found = self._select(conn, "id = %s", (dossier_id,), limit=1)
        return found[0] if found else None

    def get_record(self, record_id: str) -> bytes | None:
        at = received_at(record_id)
        if at is None:
            return None
        with self._conn() as conn:
            row = conn.execute(
                "SELECT json FROM dossier_records WHERE id = %s AND received_at = %s",
                (record_id, at),
            ).fetchone()
        return None if row is None else bytes(row[0])

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
        with self._writing() as conn:
            rows.check_version(dossier_id, version, self._lock(conn, dossier_id))
            self._apply(
                conn,
                dossier_id,
                entry,
                changes=changes,
                requested_documents=requested_documents,
                supplement_due=supplement_due,
            )
            moved = self._load(conn, dossier_id)
            if benefit is not None:
                sirecords.write_benefit(conn, benefit)  # last: it takes the SI change lock
            return moved

    def add_documents(
        self,
        dossier_id: str,
        documents: NewDocuments,
        *,
        version: int,
        entry: HistoryEntry | None = None,
        changes: tuple[StatusChange, ...] = (),
    ) -> StoredReceipt:
        rows.require_entry(entry, changes)
        receipt = documents.receipt
        at, record_at = time_of(receipt.id), time_of(documents.record_id)
        original = pack(documents.original)
        self._partitions.ensure(at, record_at)
        with self._writing() as conn:
            current = self._lock(conn, dossier_id)
            first = conn.execute(
                f"SELECT {RECEIPT_COLUMNS} FROM dossier_receipts "  # noqa: S608
                "WHERE dossier_id = %s AND sha256 = %s AND documents LIMIT 1",
                (dossier_id, receipt.sha256),
            ).fetchone()
            if first is not None:
                stored = receipt_of(first)
                assert stored is not None
                return stored
            rows.check_version(dossier_id, version, current)
            self._keep(
                conn,
                dossier_id,
                receipt=receipt,
                at=at,
                record=(documents.record_id, record_at, documents.record_json),
                original=original,
                documents=True,
            )
            if entry is not None:
                self._apply(conn, dossier_id, entry, changes=changes)
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
        where, params = rows.search_filters(
            _ENCODING, state=state, department=department, late_at=late_at
        )
        return self._page(where, params, cursor, limit)

    # -- the department queue ------------------------------------------------------------------

    def claim(
        self, department: str, *, worker: str, at: datetime, visibility: float
    ) -> Claim | None:
        until = at + timedelta(seconds=visibility)
        token = secrets.token_urlsafe(18)
        with self._writing() as conn:
            # Tasks kept for an ack that never came, of dossiers no longer in the work.
            conn.execute(
                "DELETE FROM dossier_queue WHERE dossier_id IN (SELECT q.dossier_id "  # noqa: S608
                "FROM dossier_queue q JOIN dossier_dossiers d ON d.id = q.dossier_id "
                "WHERE q.department = %s AND q.claimed_until <= %s "
                f"AND d.state NOT IN ({rows.WORK}) FOR UPDATE OF q SKIP LOCKED)",
                (department, at),
            )
            row = conn.execute(
                "UPDATE dossier_queue SET token = %s, worker = %s, claimed_until = %s, "  # noqa: S608
                "deliveries = deliveries + 1 WHERE dossier_id = (SELECT q.dossier_id "
                "FROM dossier_queue q JOIN dossier_dossiers d ON d.id = q.dossier_id "
                "WHERE q.department = %s AND (q.claimed_until IS NULL OR q.claimed_until <= %s) "
                f"AND d.state IN ({rows.WORK}) ORDER BY q.received_at, q.dossier_id "
                "LIMIT 1 FOR UPDATE OF q SKIP LOCKED) RETURNING dossier_id, deliveries",
                (token, worker, until, department, at),
            ).fetchone()
        if row is None:
            return None
        return Claim(token, row[0], department, worker, until, row[1])

    def ack(self, token: str, *, at: datetime) -> bool:
        with self._writing() as conn:
            row = conn.execute(
                "SELECT q.dossier_id, d.state FROM dossier_queue q "
                "JOIN dossier_dossiers d ON d.id = q.dossier_id "
                "WHERE q.token = %s AND q.claimed_until > %s FOR UPDATE OF q",
                (token, at),
            ).fetchone()
            if row is None:
                return False
            if State(row[1]) in DEPARTMENT_WORK:
                conn.execute(
                    "UPDATE dossier_queue SET token = NULL, worker = NULL, claimed_until = NULL "
                    "WHERE dossier_id = %s",
                    (row[0],),
                )
            else:
                conn.execute("DELETE FROM dossier_queue WHERE dossier_id = %s", (row[0],))
        return True

    def queued(self, department: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        where = [
            f"state IN ({rows.WORK})",
            "id IN (SELECT dossier_id FROM dossier_queue WHERE department = %s)",
        ]
        return self._page(where, [department], cursor, limit)

    # -- reminders -----------------------------------------------------------------------------

    def awaiting_supplement(self, *, overdue_on: date, reminded_before: datetime) -> list[Dossier]:
        with self._reading() as conn:
            return self._select(
                conn,
                "state = 'supplement_requested' AND supplement_due < %s "
                "AND (reminded_at IS NULL OR reminded_at < %s)",
                (overdue_on, reminded_before),
                limit=rows.MAX_PAGE,
                order="supplement_due, received_at, id",
            )

    def remind(self, dossier_id: str, *, at: datetime, change: StatusChange) -> None:
        """A dossier that is no longer waiting on supplements (a move raced the reminder) is
        not reminded: nothing is written."""
        with self._writing() as conn:
            updated = conn.execute(
                "UPDATE dossier_dossiers SET reminded_at = %s "
                "WHERE id = %s AND state = 'supplement_requested'",
                (at, dossier_id),
            )
            if updated.rowcount:
                self._enqueue(conn, (change,), at=at)

    # -- the outbox ----------------------------------------------------------------------------

    def due_messages(self, *, at: datetime, limit: int) -> list[OutboxMessage]:
        with self._conn() as conn:
            found = conn.execute(
                f"SELECT {rows.OUTBOX_COLUMNS} FROM dossier_outbox o "  # noqa: S608
                "WHERE o.status = 'pending' AND o.next_attempt_at <= %s AND NOT EXISTS ("
                "SELECT 1 FROM dossier_outbox e WHERE e.dossier_id = o.dossier_id "
                "AND e.status <> 'delivered' AND e.seq < o.seq) ORDER BY o.seq LIMIT %s",
                (at, rows.bounded(limit)),
            ).fetchall()
        return [rows.outbox_message(row) for row in found]

    def delivered(self, seq: int, *, at: datetime) -> None:
        self._update_message(
            "status = 'delivered', attempts = attempts + 1, delivered_at = %s, last_error = NULL",
            (at,),
            seq,
        )

    def failed(self, seq: int, *, error: str, next_attempt_at: datetime | None) -> None:
        assignments, params = rows.failure(_ENCODING, error=error, next_attempt_at=next_attempt_at)
        self._update_message(assignments, params, seq)

    def dead_letters(self, *, limit: int = 100) -> list[OutboxMessage]:
        with self._conn() as conn:
            found = conn.execute(
                f"SELECT {rows.OUTBOX_COLUMNS} FROM dossier_outbox "  # noqa: S608
                "WHERE status = 'dead' ORDER BY seq LIMIT %s",
                (rows.bounded(limit),),
            ).fetchall()
        return [rows.outbox_message(row) for row in found]

    def redrive(self, *, seq: int | None = None, at: datetime) -> int:
        """Re-driven messages start a new retry budget (``attempts`` back to 0)."""
        redrive = (
            "UPDATE dossier_outbox SET status = 'pending', attempts = 0, next_attempt_at = %s "
            "WHERE status = 'dead'"
        )
        with self._conn() as conn:
            if seq is None:
                return conn.execute(redrive, (at,)).rowcount
            return conn.execute(redrive + " AND seq = %s", (at, seq)).rowcount

    def delivery_paused(self) -> bool:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT value FROM dossier_settings WHERE name = %s", (rows.PAUSED,)
            ).fetchone()
        return row is not None and row[0] == "1"

    def pause_delivery(self, paused: bool) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO dossier_settings (name, value) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (rows.PAUSED, "1" if paused else "0"),
            )

    # -- inside a transaction ------------------------------------------------------------------

    def _find(
        self, conn: Connection, partner_id: str, ma_ho_so: str, sha256: str
    ) -> Dossier | None:
        found = self._select(
            conn,
            "partner_id = %s AND (ma_ho_so = %s OR sha256 = %s)",
            (partner_id, ma_ho_so, sha256),
            limit=1,
        )
        return found[0] if found else None

    def _load(self, conn: Connection, dossier_id: str) -> Dossier:
        return rows.the_one(self._select(conn, "id = %s", (dossier_id,), limit=1), dossier_id)

    @staticmethod
    def _select(
        conn: Connection,
        where: str,
        params: Sequence[Any],
        *,
        limit: int,
        order: str = "received_at, id",
    ) -> list[Dossier]:
        """Dossiers with their history; ``where`` and ``order`` are the store's own SQL."""
        found = conn.execute(
            f"SELECT {rows.DOSSIER_COLUMNS} FROM dossier_dossiers "  # noqa: S608
            f"WHERE {where} ORDER BY {order} LIMIT %s",
            (*params, limit),
        ).fetchall()
        if not found:
            return []
        history = conn.execute(
            f"SELECT dossier_id, {rows.HISTORY_COLUMNS} FROM dossier_history "  # noqa: S608
            "WHERE dossier_id = ANY(%s) ORDER BY dossier_id, n",
            ([row[0] for row in found],),
        )
        return rows.with_history(found, history)

    def _page(self, where: list[str], params: list[Any], cursor: str | None, limit: int) -> Page:
        if cursor is not None:
            condition, bounds = rows.after(_ENCODING, cursor)
            where, params = [*where, condition], [*params, *bounds]
        size = rows.bounded(limit)
        with self._reading() as conn:
            found = self._select(conn, " AND ".join(where) or "true", params, limit=size + 1)
        return rows.page_of(found, size)

    @staticmethod
    def _lock(conn: Connection, dossier_id: str) -> int:
        """Lock the dossier's row until the transaction ends; its version."""
        row = conn.execute(
            "SELECT version FROM dossier_dossiers WHERE id = %s FOR UPDATE", (dossier_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no dossier {dossier_id}")
        return int(row[0])

    def _apply(
        self,
        conn: Connection,
        dossier_id: str,
        entry: HistoryEntry,
        *,
        changes: tuple[StatusChange, ...],
        requested_documents: tuple[str, ...] = (),
        supplement_due: date | None = None,
    ) -> None:
        """One change: history, dossier, outbox, queue (the caller holds the dossier's row and
        checked the version)."""
        last = conn.execute(
            "SELECT coalesce(max(n), 0) FROM dossier_history WHERE dossier_id = %s", (dossier_id,)
        ).fetchone()
        assert last is not None
        conn.execute(
            f"INSERT INTO dossier_history (dossier_id, n, {rows.HISTORY_COLUMNS}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows.history_row(_ENCODING, dossier_id, last[0] + 1, entry),
        )
        decided = entry.state in DECIDED
        conn.execute(
            "UPDATE dossier_dossiers SET state = %s, due_date = coalesce(%s, due_date), "
            "requested_documents = %s, supplement_due = %s, "
            "finished_at = CASE WHEN %s THEN coalesce(finished_at, %s) ELSE finished_at END, "
            "finished_on = CASE WHEN %s THEN coalesce(finished_on, %s) ELSE finished_on END, "
            "version = version + 1 WHERE id = %s",
            (
                str(entry.state),
                entry.due_date,
                list(requested_documents),
                supplement_due,
                decided,
                entry.at,
                decided,
                vietnam_date(entry.at),
                dossier_id,
            ),
        )
        self._enqueue(conn, changes, at=entry.at)
        if entry.state in DEPARTMENT_WORK:
            self._add_task(conn, self._load(conn, dossier_id))
        else:
            # A claim still held keeps its task until the worker's ack (see the class).
            conn.execute(
                "DELETE FROM dossier_queue WHERE dossier_id = %s "
                "AND (claimed_until IS NULL OR claimed_until <= %s)",
                (dossier_id, entry.at),
            )

    @staticmethod
    def _add_task(conn: Connection, dossier: Dossier) -> None:
        """The dossier's task, available at once; one already there is kept with its claim."""
        conn.execute(
            "INSERT INTO dossier_queue (dossier_id, department, received_at) "
            "VALUES (%s, %s, %s) ON CONFLICT (dossier_id) DO NOTHING",
            (dossier.id, dossier.department, dossier.received_at),
        )

    @staticmethod
    def _enqueue(conn: Connection, changes: tuple[StatusChange, ...], *, at: datetime) -> None:
        """Outbox messages due at ``at``; each keyed by its dossier and its place among the
        dossier's messages, which the portal may use to drop a message delivered twice."""
        for change in changes:
            body = orjson.dumps(change.body)
            conn.execute(
                "INSERT INTO dossier_outbox (dossier_id, ma_ho_so, kind, body, "
                "idempotency_key, next_attempt_at) SELECT %s, %s, %s, %s, "
                "%s::text || ':' || (count(*) + 1), %s FROM dossier_outbox WHERE dossier_id = %s",
                (
                    change.dossier_id,
                    change.ma_ho_so,
                    change.kind,
                    body,
                    change.dossier_id,
                    at,
                    change.dossier_id,
                ),
            )

    @staticmethod
    def _keep(
        conn: Connection,
        dossier_id: str,
        *,
        receipt: StoredReceipt,
        at: datetime,
        record: tuple[str, datetime, bytes],
        original: Packed,
        documents: bool,
    ) -> None:
        """A receipt, its record (id, time, JSON) and the original bytes, all of the receipt's
        month but the record (of its id's): the dossier's own or additional documents'."""
        conn.execute(
            "INSERT INTO dossier_receipts (dossier_id, documents, received_at, "  # noqa: S608
            f"{RECEIPT_COLUMNS}) VALUES ({', '.join(['%s'] * (3 + RECEIPT_VALUES))})",
            (dossier_id, documents, at, *receipt_values(receipt)),
        )
        record_id, record_at, record_json = record
        conn.execute(
            "INSERT INTO dossier_records (id, received_at, receipt_id, json) "
            "VALUES (%s, %s, %s, %s)",
            (record_id, record_at, receipt.id, record_json),
        )
        conn.execute(
            "INSERT INTO dossier_originals (sha256, received_at, codec, size, body) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (receipt.sha256, at, original.codec, original.size, original.blob),
        )

    def _update_message(self, assignments: str, params: tuple[Any, ...], seq: int) -> None:
        with self._conn() as conn:
            updated = conn.execute(
                f"UPDATE dossier_outbox SET {assignments} WHERE seq = %s",  # noqa: S608
                (*params, seq),
            )
            if not updated.rowcount:
                raise NotFound(f"no outbox message {seq}")
