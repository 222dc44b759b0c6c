"""The PostgreSQL claims store: the store of record that several gateway processes on several hosts
share (psycopg 3 and its connection pool).

How concurrent writers agree, without SERIALIZABLE:

- Duplicates: an accepted submission first inserts its (partner, SHA-256) row into ``accepted``
  with ``ON CONFLICT DO NOTHING``. A second process inserting the same key waits on the unique
  index until the first commits, then finds the conflict and returns the winner's receipt; if the
  first rolled back, the second goes on. The unique index decides, once, who won: no retries.
- Index lists (visit history, signals): the submission takes a transaction-scoped advisory lock
  per list it read or appends to, in one global order (no deadlock), then counts what each list
  read holds now. Whoever appends to a list holds its lock until commit, so the count cannot miss
  a concurrent append, and appends land in commit order.

SERIALIZABLE with retry would give the same answers, but it aborts on predicate-lock conflicts
that are not real ones (unrelated lists sharing an index page), and every abort replays a whole
batch (hundreds of records) against the server; here a conflict costs a wait, never a replay.

Every write is one transaction (receipt, records, original, index entries): a server that goes
away mid-way rolls it back, so nothing is half-written; the partner gets ``Unavailable`` (503
with Retry-After) and retries. The store checks at startup that the server confirms commits only
once they are durable (``fsync``, ``synchronous_commit``), that its schema is current (``gateway
db upgrade``), and makes the monthly partitions ahead (``gw_month_partitions``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from gateway.store.index_values import pack_entry, unpack_entry
from gateway.store.originals import Packed, pack
from gateway.store.pg_database import Connection
from gateway.store.pg_partitions import received_at, time_of
from gateway.store.pg_receipts import PostgresReceiptDatabase
from gateway.store.ports import IndexChanged, StoredReceipt, StoredRecord, Submission
from gateway.store.receipt_rows import (
    RECEIPT_COLUMNS,
    RECEIPT_VALUES,
    ReceiptValues,
    receipt_of,
    receipt_values,
)
from gateway.store.record_json import RECORD_COLUMNS, pack_record, record_of

# received_at, then the receipt's columns.
_RECEIPT_MARKS = ", ".join(["%s"] * (1 + RECEIPT_VALUES))


def _lock_key(name: str) -> int:
    """A list's advisory-lock key, the same in every process (not Python's salted ``hash``)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresStore(PostgresReceiptDatabase):
    """A ``Store`` in a PostgreSQL database migrated by ``gateway db upgrade``."""

    RECEIPTS, ORIGINALS = "receipts", "originals"

    def __init__(self, url: str, *, require_durable: bool = True) -> None:
        super().__init__(url, name="claims", require_durable=require_durable)

    def find_accepted(self, partner_id: str, sha256: str) -> StoredReceipt | None:
        with self._conn() as conn:
            return self._find_accepted(conn, partner_id, sha256)

    @staticmethod
    def _find_accepted(conn: Connection, partner_id: str, sha256: str) -> StoredReceipt | None:
        key = conn.execute(
            "SELECT receipt_id, received_at FROM accepted WHERE partner_id = %s AND sha256 = %s",
            (partner_id, sha256),
        ).fetchone()
        if key is None:
            return None
        row = conn.execute(
            f"SELECT {RECEIPT_COLUMNS} FROM receipts WHERE id = %s AND received_at = %s",  # noqa: S608
            key,
        ).fetchone()
        return receipt_of(row)

    def save_accepted(self, submission: Submission) -> StoredReceipt:
        receipt = submission.receipt
        at = time_of(receipt.id)
        record_times = [time_of(r.id) for r in submission.records]
        self._partitions.ensure(at, *record_times)
        original = pack(submission.original)
        records = [pack_record(r.json) for r in submission.records]
        values = receipt_values(receipt)
        index = [(e.name, pack_entry(e.value)) for e in submission.index]
        with self._conn() as conn:
            with conn.transaction():
                won = conn.execute(
                    "INSERT INTO accepted (partner_id, sha256, receipt_id, received_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                    (receipt.partner_id, receipt.sha256, receipt.id, at),
                ).fetchone()
                if won is not None:
                    self._check_unchanged(conn, submission)
                    self._write(
                        conn,
                        submission,
                        at,
                        record_times,
                        receipt=values,
                        original=original,
                        records=records,
                        index=index,
                    )
                    return receipt
            # Accepted by another submission, committed meanwhile: its receipt.
            stored = self._find_accepted(conn, receipt.partner_id, receipt.sha256)
        assert stored is not None  # receipts are deleted only with their month, by retention
        return stored

    @staticmethod
    def _check_unchanged(conn: Connection, submission: Submission) -> None:
        """Lock every list the submission reads or appends to, then compare the lengths read."""
        names = {r.name for r in submission.read} | {e.name for e in submission.index}
        if not names:
            return
        keys = sorted({_lock_key(name) for name in names})
        conn.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) k", (keys,))
        if not submission.read:
            return
        lengths: dict[str, int] = dict(
            conn.execute(
                "SELECT name, count(*) FROM entries WHERE name = ANY(%s) GROUP BY name",
                ([r.name for r in submission.read],),
            ).fetchall()
        )
        for read in submission.read:
            if lengths.get(read.name, 0) > read.length:
                raise IndexChanged(read.name)

    @staticmethod
    def _write(
        conn: Connection,
        submission: Submission,
        at: datetime,
        record_times: list[datetime],
        *,
        receipt: ReceiptValues,
        original: Packed,
        records: list[Packed],
        index: list[tuple[str, bytes]],
    ) -> None:
        conn.execute(
            f"INSERT INTO receipts (received_at, {RECEIPT_COLUMNS}) "  # noqa: S608
            f"VALUES ({_RECEIPT_MARKS})",
            (at, *receipt),
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO records (id, received_at, receipt_id, partner_id, codec, size, json) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (r.id, t, r.receipt_id, r.partner_id, p.codec, p.size, p.blob)
                    for r, t, p in zip(submission.records, record_times, records, strict=True)
                ],
            )
            cursor.executemany("INSERT INTO entries (name, value) VALUES (%s, %s)", index)
        conn.execute(
            "INSERT INTO originals (sha256, received_at, codec, size, body) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (submission.receipt.sha256, at, original.codec, original.size, original.blob),
        )

    def save_rejection(self, receipt: StoredReceipt) -> None:
        at = time_of(receipt.id)
        self._partitions.ensure(at)
        values = receipt_values(receipt)
        with self._conn() as conn:
            conn.execute(
                f"INSERT INTO receipts (received_at, {RECEIPT_COLUMNS}) "  # noqa: S608
                f"VALUES ({_RECEIPT_MARKS})",
                (at, *values),
            )

    def get_record(self, record_id: str) -> StoredRecord | None:
        at = received_at(record_id)
        if at is None:
            return None
        with self._conn() as conn:
            row = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM records "  # noqa: S608
                "WHERE id = %s AND received_at = %s",
                (record_id, at),
            ).fetchone()
        return record_of(record_id, row)

    def entries(self, name: str, *, start: int = 0, limit: int | None = None) -> list[bytes]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT value FROM entries WHERE name = %s ORDER BY seq LIMIT %s OFFSET %s",
                (name, limit, start),
            ).fetchall()
        return [unpack_entry(bytes(row[0]), name=name) for row in rows]
