"""The audit log in the store's SQLite database: a table of entries and a one-row head, written
with the same durability as the store (WAL, every commit fsynced); each entry's citizen (a
pseudonym) in an indexed column, so that a citizen's accesses are found without a scan."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from gateway.audit.chain import AuditEntry, AuditHead, AuditReport, head_of, link, verify
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
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


_END = 2**63 - 1  # above every seq: SQLite's largest integer


def _bytes(value: object) -> bytes:
    # Written as a BLOB; an entry edited by hand may come back as TEXT (or worse).
    return value if isinstance(value, bytes) else str(value).encode()


def _add_citizen_column(db: sqlite3.Connection) -> None:
    """The ``citizen`` column and its index, in a log made before they existed (inside a write
    transaction, so that two processes starting at once add it once)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(audit)")}
    if "citizen" not in columns:
        db.execute("ALTER TABLE audit ADD COLUMN citizen TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS audit_by_citizen ON audit (citizen, seq)")


class SqliteAuditLog:
    """Its own connection to the store's database file. ``BEGIN IMMEDIATE`` takes the database's
    write lock before the head is read, so appends from several processes form one chain."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path, _SCHEMA)
        self._lock = threading.Lock()
        with translate("the audit log"), immediate(self._db):
            _add_citizen_column(self._db)

    def append(self, event: AuditEvent) -> AuditEntry:
        with translate("the audit log"), self._lock, immediate(self._db):
            entry = link(self._head(), event)
            self._db.execute(
                "INSERT INTO audit (seq, hash, entry, citizen) VALUES (?, ?, ?, ?)",
                (entry.seq, entry.hash, entry.body, event.citizen),
            )
            self._db.execute(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (entry.seq, entry.hash),
            )
        return entry

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
        return [AuditEntry(row[0], _bytes(row[1]), str(row[2])) for row in rows]

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
        return [AuditEntry(row[0], _bytes(row[1]), str(row[2])) for row in rows]

    def verify(self) -> AuditReport:
        return verify(self.head, self.entries)

    def close(self) -> None:
        with self._lock:
            self._db.close()
