"""The audit log in the store's SQLite database: a table of entries and a one-row head, written
with the same durability as the store (WAL, every commit fsynced); each entry's citizen (a
pseudonym) in an indexed column, so that a citizen's accesses are found without a scan.

Appends made at the same time share one transaction and its one fsync (group commit): an fsync
costs about 1.5 ms, which one commit per lookup made the lookups' bottleneck (bench/README.md,
``bench.lookups``). Invariant: ``append`` returns only once the commit holding its entry is
durable, and fails, writing nothing of its group, when that commit fails; one thread at a time
(the group's leader) reads the head and links the group's entries in the order they came, so
the chain stays one strictly ordered sequence."""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.audit.chain import (
    AuditEntry,
    AuditHead,
    AuditReport,
    entries_of,
    head_of,
    link,
    verify,
)
from gateway.audit.checkpoint import Checkpoint, checkpoint_of, require_entry, start_of
from gateway.audit.events import AuditEvent
from gateway.errors import translate
from gateway.store.sqlite import connect, immediate

# The triggers keep the gateway's own code, and anyone using the database casually, from
# changing the log; someone who drops them is caught by the chain instead.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    entry BLOB NOT NULL,
    -- the event's citizen (a pseudonym) or NULL, copied from the entry, which the chain covers;
    -- added to logs made before it existed by _add_citizen_column
    citizen TEXT
);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
-- Signed checkpoints retention stored where it cut the log (gateway/audit/checkpoint.py); seq
-- is the checkpoint's, which its signed body repeats.
CREATE TABLE IF NOT EXISTS audit_checkpoint (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL,
    signature BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

# Only entries a stored checkpoint covers may go (retention's drop_through); made, or remade
# over the older trigger that refused every delete, by _add_retention_trigger.
_NO_DELETE = """
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN OLD.seq > coalesce((SELECT max(seq) FROM audit_checkpoint), 0)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
"""


_END = 2**63 - 1  # above every seq: SQLite's largest integer
# Entries in one transaction at most: bounds the time a group holds the write lock.
MAX_GROUP = 256


def _add_citizen_column(db: sqlite3.Connection) -> None:
    """The ``citizen`` column and its index, in a log made before they existed (inside a write
    transaction, so that two processes starting at once add it once)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(audit)")}
    if "citizen" not in columns:
        db.execute("ALTER TABLE audit ADD COLUMN citizen TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS audit_by_citizen ON audit (citizen, seq)")


def _add_retention_trigger(db: sqlite3.Connection) -> None:
    """``audit_no_delete`` as ``_NO_DELETE`` has it, in a log made before checkpoints (inside a
    write transaction, as ``_add_citizen_column``)."""
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_no_delete'"
    ).fetchone()
    if row is None or "audit_checkpoint" not in row[0]:
        db.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        db.execute(_NO_DELETE)


class _Pending:
    """One ``append`` waiting for the commit that holds its entry."""

    __slots__ = ("entry", "error", "event")

    def __init__(self, event: AuditEvent) -> None:
        self.event = event
        self.entry: AuditEntry | None = None
        self.error: BaseException | None = None

    @property
    def answered(self) -> bool:
        return self.entry is not None or self.error is not None


class SqliteAuditLog:
    """Its own connection to the store's database file. ``BEGIN IMMEDIATE`` takes the database's
    write lock before the head is read, so appends from several processes form one chain.

    Group commit: the thread whose append finds no commit under way leads; it takes every append
    waiting (``MAX_GROUP`` at most), writes them in one transaction and wakes them once it is
    committed (or failed); appends that came meanwhile wait, and the first of them to wake leads
    the next group."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path, _SCHEMA)
        self._lock = threading.Lock()  # the connection, one user at a time
        self._queue: deque[_Pending] = deque()
        self._writing = False  # a leader is writing a group
        self._in_flight = 0  # appends not yet answered: queued or in the group being written
        self._turn = threading.Condition()
        with translate("the audit log"), immediate(self._db):
            _add_citizen_column(self._db)
            _add_retention_trigger(self._db)

    @property
    def waiting(self) -> int:
        """Appends not answered yet: queued, or in the group being committed."""
        with self._turn:
            return self._in_flight

    def append(self, event: AuditEvent) -> AuditEntry:
        mine = _Pending(event)
        with self._turn:
            self._queue.append(mine)
            self._in_flight += 1
        while (group := self._next_group(mine)) is not None:
            self._commit(group)
        if mine.error is not None:
            with translate("the audit log"):
                raise mine.error
        assert mine.entry is not None  # answered without an error: written
        return mine.entry

    def _next_group(self, mine: _Pending) -> list[_Pending] | None:
        """None once ``mine`` is answered; else, when no group is being written, the next group
        (``MAX_GROUP`` at most, the oldest first), which the caller then leads."""
        with self._turn:
            while self._writing and not mine.answered:
                self._turn.wait()
            if mine.answered:
                return None
            self._writing = True
            return [self._queue.popleft() for _ in range(min(len(self._queue), MAX_GROUP))]

    def _commit(self, group: list[_Pending]) -> None:
        """Write ``group`` in one transaction, in order, then answer each of its appends: with
        its entry once committed, or all with the error that undid the transaction."""
        entries: list[AuditEntry] = []
        error: BaseException | None = None
        try:
            with self._lock, self._undone_on_failure(), immediate(self._db):
                head = self._head()
                for pending in group:
                    entry = link(head, pending.event)
                    self._db.execute(
                        "INSERT INTO audit (seq, hash, entry, citizen) VALUES (?, ?, ?, ?)",
                        (entry.seq, entry.hash, entry.body, pending.event.citizen),
                    )
                    entries.append(entry)
                    head = AuditHead(entry.seq, entry.hash)
                self._db.execute(
                    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                    (head.seq, head.hash),
                )
        except BaseException as exc:  # every caller of the group learns it, the leader too
            error = exc
        with self._turn:
            for n, pending in enumerate(group):
                if error is None:
                    pending.entry = entries[n]
                else:
                    pending.error = error
            self._in_flight -= len(group)
            self._writing = False
            self._turn.notify_all()

    @contextmanager
    def _undone_on_failure(self) -> Iterator[None]:
        """A COMMIT that fails may leave its transaction open (``immediate`` rolls back only
        what fails before it): undo it, so that the next group starts from the durable head."""
        try:
            yield
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _head(self) -> AuditHead:
        row = self._db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        return AuditHead() if row is None else head_of(row[0], row[1])

    def head(self) -> AuditHead:
        with translate("the audit log"), self._lock:
            return self._head()

    def entries(self, after_seq: int = 0, limit: int = 100) -> list[AuditEntry]:
        with translate("the audit log"), self._lock:
            rows = self._db.execute(
                "SELECT seq, entry, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return entries_of(rows)

    def of_citizen(
        self, citizen: str, *, before_seq: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        before = _END if before_seq is None else before_seq
        with translate("the audit log"), self._lock:
            rows = self._db.execute(
                "SELECT seq, entry, hash FROM audit WHERE citizen = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT ?",
                (citizen, before, limit),
            ).fetchall()
        return entries_of(rows)

    def checkpoint(self) -> Checkpoint | None:
        with translate("the audit log"), self._lock:
            row = self._db.execute(
                "SELECT body, signature FROM audit_checkpoint ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return checkpoint_of(row)

    def verify(self) -> AuditReport:
        return verify(self.head, self.entries, start=start_of(self.checkpoint()))

    def drop_through(self, checkpoint: Checkpoint, *, batch: int = 1000) -> int:
        cut = checkpoint.head
        with translate("the audit log"), self._lock:
            with immediate(self._db):
                row = self._db.execute("SELECT hash FROM audit WHERE seq = ?", (cut.seq,))
                found = row.fetchone()
                stored = self._db.execute(
                    "SELECT 1 FROM audit_checkpoint WHERE seq = ?", (cut.seq,)
                ).fetchone()
                if stored is None:
                    require_entry(cut, None if found is None else str(found[0]))
                    self._db.execute(
                        "INSERT INTO audit_checkpoint (seq, body, signature) VALUES (?, ?, ?)",
                        (cut.seq, checkpoint.body, checkpoint.signature),
                    )
            dropped = 0
            while True:
                with immediate(self._db):
                    gone = self._db.execute(
                        "DELETE FROM audit WHERE seq IN "
                        "(SELECT seq FROM audit WHERE seq <= ? ORDER BY seq LIMIT ?)",
                        (cut.seq, batch),
                    ).rowcount
                dropped += gone
                if gone == 0:
                    return dropped

    def close(self) -> None:
        with self._lock:
            self._db.close()
