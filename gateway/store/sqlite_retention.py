"""Retention on the SQLite claims store: rows past their period deleted in bounded batches, each
batch its own transaction, so that the gateway's writers wait for one batch at most.

A row's time is the time in a ULID: a receipt's id, a record's receipt's id (a record goes with
the receipts of its time, never leaving one pointing at a receipt that is gone), an original's
receipts (it is past once no receipt from after the cut names its SHA-256). A receipt whose
records are kept longer than it stays until they go (the records point to it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ulid import ULID

from gateway.errors import translate
from gateway.retention import CLAIM_KINDS, ClaimKind, Expired
from gateway.store.sqlite import connect, immediate

# What the batches look rows up by, made when the pruner opens (the store's schema has neither).
_INDEXES = """
CREATE INDEX IF NOT EXISTS records_by_receipt ON records (receipt_id);
CREATE INDEX IF NOT EXISTS receipts_by_sha256 ON receipts (sha256, id);
"""
BATCH = 1000

# An original is past once no receipt from after the cut names it; a receipt, once its records
# go in this run (its id below the records' cut) or are gone already.
_COUNT: dict[ClaimKind, str] = {
    "originals": "SELECT count(*) FROM originals o WHERE NOT EXISTS "
    "(SELECT 1 FROM receipts r WHERE r.sha256 = o.sha256 AND r.id >= ?)",
    "records": "SELECT count(*) FROM records WHERE receipt_id < ?",
    "receipts": "SELECT count(*) FROM receipts WHERE id < ? AND (id < ? OR NOT EXISTS "
    "(SELECT 1 FROM records WHERE receipt_id = receipts.id))",
}
# Keyset: the originals up to the last one a batch dropped were judged by that batch.
_ORIGINALS_BATCH = (
    "SELECT sha256 FROM originals o WHERE sha256 > ? AND NOT EXISTS "
    "(SELECT 1 FROM receipts r WHERE r.sha256 = o.sha256 AND r.id >= ?) "
    "ORDER BY sha256 LIMIT ?"
)
_DROP_BATCH: dict[ClaimKind, str] = {
    "records": "DELETE FROM records WHERE rowid IN "
    "(SELECT rowid FROM records WHERE receipt_id < ? LIMIT ?)",
    "receipts": "DELETE FROM receipts WHERE rowid IN (SELECT rowid FROM receipts "
    "WHERE id < ? AND (id < ? OR NOT EXISTS "
    "(SELECT 1 FROM records WHERE receipt_id = receipts.id)) LIMIT ?)",
}


def ulid_floor(at: datetime) -> str:
    """The smallest ULID of the millisecond of ``at``: ids below it are from before ``at``."""
    return str(ULID.from_datetime(at))[:10] + "0" * 16


def _described(cut: datetime) -> str:
    return f"rows received before {cut.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


class SqlitePruner:
    """A connection of its own to the store's database file."""

    def __init__(self, path: Path, *, batch: int = BATCH) -> None:
        self._db = connect(path, _INDEXES)
        self._batch = batch

    def _params(self, kind: ClaimKind, cuts: dict[ClaimKind, datetime | None]) -> tuple[str, ...]:
        cut = cuts[kind]
        assert cut is not None
        if kind == "receipts":
            records = cuts["records"]
            return ulid_floor(cut), "" if records is None else ulid_floor(records)
        return (ulid_floor(cut),)

    def _count(self, kind: ClaimKind, params: tuple[str, ...]) -> int:
        row = self._db.execute(_COUNT[kind], params).fetchone()
        return int(row[0])

    def _drop_batch(self, kind: ClaimKind, params: tuple[str, ...], after: str) -> tuple[int, str]:
        """One batch deleted in one transaction: its rows, and the key to resume after."""
        with immediate(self._db):
            if kind == "originals":
                found = self._db.execute(_ORIGINALS_BATCH, (after, *params, self._batch)).fetchall()
                self._db.executemany("DELETE FROM originals WHERE sha256 = ?", found)
                return len(found), found[-1][0] if found else after
            deleted = self._db.execute(_DROP_BATCH[kind], (*params, self._batch))
            return deleted.rowcount, after

    def expired(self, cuts: dict[ClaimKind, datetime | None]) -> list[Expired]:
        found = []
        with translate("the store"):
            for kind in CLAIM_KINDS:
                cut = cuts[kind]
                if cut is not None and (rows := self._count(kind, self._params(kind, cuts))):
                    found.append(Expired(kind, _described(cut), rows))
        return found

    def drop(self, cuts: dict[ClaimKind, datetime | None]) -> list[Expired]:
        dropped = []
        with translate("the store"):
            for kind in CLAIM_KINDS:
                cut = cuts[kind]
                if cut is None:
                    continue
                params, total, after = self._params(kind, cuts), 0, ""
                while True:
                    rows, after = self._drop_batch(kind, params, after)
                    total += rows
                    if rows == 0:
                        break
                if total:
                    dropped.append(Expired(kind, _described(cut), total))
        return dropped

    def close(self) -> None:
        self._db.close()
