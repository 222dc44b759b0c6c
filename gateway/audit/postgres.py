"""The audit log in the PostgreSQL store of record (migration 0006_audit.sql): a table of entries,
a one-row head and the signed checkpoints of retention, shared by every gateway process on every
host.

Invariant: appends from any process form one chain. Each append is one transaction that first
takes a transaction-scoped advisory lock (the same key everywhere), then reads the head, links
the entry and writes it with the new head; the lock is held to the commit, so the next append
reads the head this one wrote. ``append`` returns after the commit, which the server has made
durable (``PostgresDatabase`` refuses a server without fsync and synchronous commits).
"""

from __future__ import annotations

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
from gateway.store.pg_database import Connection, PostgresDatabase

# pg_advisory_xact_lock's key for appends: a constant of our own ("gw audit" in ASCII).
_APPEND_LOCK = 0x6777_2061_7564_6974
_END = 2**63 - 1  # above every seq


def _head(conn: Connection) -> AuditHead:
    row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    return AuditHead() if row is None else head_of(row[0], row[1])


class PostgresAuditLog(PostgresDatabase):
    """Its own pool on the store's database (``gateway db upgrade`` made its tables)."""

    def __init__(self, url: str, *, require_durable: bool = True) -> None:
        super().__init__(url, name="audit", require_durable=require_durable)

    def append(self, event: AuditEvent) -> AuditEntry:
        with self._writing() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
            entry = link(_head(conn), event)
            conn.execute(
                "INSERT INTO audit (seq, hash, entry, citizen) VALUES (%s, %s, %s, %s)",
                (entry.seq, entry.hash, entry.body, event.citizen),
            )
            conn.execute(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (entry.seq, entry.hash),
            )
        return entry

    def head(self) -> AuditHead:
        with self._conn() as conn:
            return _head(conn)

    def entries(self, after_seq: int = 0, limit: int = 100) -> list[AuditEntry]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT seq, entry, hash FROM audit WHERE seq > %s ORDER BY seq LIMIT %s",
                (after_seq, max(limit, 0)),
            ).fetchall()
        return entries_of(rows)

    def of_citizen(
        self, citizen: str, *, before_seq: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        before = _END if before_seq is None else before_seq
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT seq, entry, hash FROM audit WHERE citizen = %s AND seq < %s "
                "ORDER BY seq DESC LIMIT %s",
                (citizen, before, max(limit, 0)),
            ).fetchall()
        return entries_of(rows)

    def checkpoint(self) -> Checkpoint | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT body, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return checkpoint_of(row)

    def verify(self) -> AuditReport:
        return verify(self.head, self.entries, start=start_of(self.checkpoint()))

    def drop_through(self, checkpoint: Checkpoint, *, batch: int = 1000) -> int:
        cut = checkpoint.head
        with self._writing() as conn:
            found = conn.execute("SELECT hash FROM audit WHERE seq = %s", (cut.seq,)).fetchone()
            stored = conn.execute(
                "SELECT 1 FROM audit_checkpoints WHERE seq = %s", (cut.seq,)
            ).fetchone()
            if stored is None:
                require_entry(cut, None if found is None else str(found[0]))
                conn.execute(
                    "INSERT INTO audit_checkpoints (seq, body, signature) VALUES (%s, %s, %s)",
                    (cut.seq, checkpoint.body, checkpoint.signature),
                )
        dropped = 0
        while True:
            with self._writing() as conn:
                gone = conn.execute(
                    "DELETE FROM audit WHERE seq IN "
                    "(SELECT seq FROM audit WHERE seq <= %s ORDER BY seq LIMIT %s)",
                    (cut.seq, batch),
                ).rowcount
            dropped += gone
            if gone == 0:
                return dropped
