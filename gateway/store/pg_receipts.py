"""A PostgreSQL store that keeps receipts and the original bytes they answer in month-partitioned
tables of its own names (the claims' and the dossiers'): its partitions, made when it opens, and
its receipts and originals read back, both checked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from gateway.store.originals import unpack
from gateway.store.packing import packed_row
from gateway.store.pg_database import PostgresDatabase
from gateway.store.pg_partitions import MONTHS_AHEAD, MonthPartitions, received_at
from gateway.store.ports import StoredReceipt
from gateway.store.receipt_rows import RECEIPT_COLUMNS, receipt_of


class PostgresReceiptDatabase(PostgresDatabase):
    """``PostgresDatabase`` with the month partitions of its tables made ``MONTHS_AHEAD``."""

    RECEIPTS: ClassVar[str]  # its receipts table, of ``RECEIPT_COLUMNS`` and ``received_at``
    ORIGINALS: ClassVar[str]  # its originals table: sha256, codec, size, body

    def __init__(self, url: str, *, name: str, require_durable: bool = True) -> None:
        super().__init__(url, name=name, require_durable=require_durable)
        self._partitions = MonthPartitions(self._conn)
        try:
            self._partitions.make(datetime.now(UTC), MONTHS_AHEAD)
        except BaseException:
            self.close()
            raise

    def get_receipt(self, receipt_id: str) -> StoredReceipt | None:
        at = received_at(receipt_id)
        if at is None:
            return None
        with self._conn() as conn:
            row = conn.execute(
                f"SELECT {RECEIPT_COLUMNS} FROM {self.RECEIPTS} "  # noqa: S608
                "WHERE id = %s AND received_at = %s",
                (receipt_id, at),
            ).fetchone()
        return receipt_of(row)

    def get_original(self, sha256: str) -> bytes | None:
        with self._conn() as conn:
            row = conn.execute(
                f"SELECT codec, size, body FROM {self.ORIGINALS} "  # noqa: S608
                "WHERE sha256 = %s LIMIT 1",
                (sha256,),
            ).fetchone()
        if row is None:
            return None
        return unpack(packed_row(row[0], row[1], bytes(row[2])), sha256=sha256)
