"""The embedded default store: SQLite in WAL mode with full fsync on every commit."""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from gateway.errors import translate
from gateway.store.index_values import pack_entry, unpack_entry
from gateway.store.originals import IDENTITY, Packed, pack, unpack
from gateway.store.packing import packed_row
from gateway.store.ports import IndexChanged, IndexRead, StoredReceipt, StoredRecord, Submission
from gateway.store.receipt_rows import (
    RECEIPT_COLUMNS,
    RECEIPT_VALUES,
    ReceiptValues,
    receipt_of,
    receipt_values,
)
from gateway.store.record_json import RECORD_COLUMNS, pack_record, record_of

# The sizes of a receipts table's two packed blobs (``RECEIPT_COLUMNS``).
RECEIPT_SIZES = ("json_size", "xml_size")
# The placeholders of ``RECEIPT_COLUMNS``.
_RECEIPT_MARKS = ", ".join("?" * RECEIPT_VALUES)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    json BLOB NOT NULL,
    xml BLOB NOT NULL,
    codec TEXT NOT NULL DEFAULT 'identity',
    json_size INTEGER,
    xml_size INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS receipts_accepted_digest
    ON receipts (partner_id, sha256) WHERE accepted = 1;
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    receipt_id TEXT NOT NULL REFERENCES receipts (id),
    partner_id TEXT NOT NULL,
    json BLOB NOT NULL,
    codec TEXT NOT NULL DEFAULT 'identity',
    size INTEGER
);
CREATE TABLE IF NOT EXISTS originals (
    sha256 TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    codec TEXT NOT NULL DEFAULT 'identity',
    size INTEGER
);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_name ON entries (name, seq);
"""


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, every commit fsynced,
    with ``schema`` created if it is not there yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit, so an answer follows a durable write.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(schema)
    return db


def add_codec_columns(
    db: sqlite3.Connection, table: str, sizes: tuple[str, ...] = ("size",)
) -> None:
    """A table of a gateway that stored its blobs uncompressed gets the codec and ``sizes``
    columns, its rows the codec ``identity``: they read as they are. Adding a column with a
    constant default rewrites no row; call it in a write transaction, so that two processes
    opening the same file do not both add it."""
    columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    if "codec" not in columns:
        db.execute(f"ALTER TABLE {table} ADD COLUMN codec TEXT NOT NULL DEFAULT '{IDENTITY}'")
        for size in sizes:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {size} INTEGER")


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, begun before the first read so that what the block reads cannot
    change under it; committed when the block ends, rolled back when it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class ReadPool:
    """Read-only connections to one database, each used by one reader at a time: in WAL mode a
    reader never waits for a writer, so reads do not stall behind a commit's fsync, nor behind
    another process that holds the database's write lock."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._opened: list[sqlite3.Connection] = []  # every one opened, to close them all
        self._lock = threading.Lock()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read connection, returned to the pool after use (one per concurrent reader)."""
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA query_only=ON")
            with self._lock:
                self._opened.append(db)
        try:
            yield db
        finally:
            self._idle.put(db)

    def close(self) -> None:
        with self._lock:
            for db in self._opened:
                db.close()


@contextmanager
def snapshot(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Several reads on a read connection that see one state of the database (a dossier and
    its history, a citizen and their record's lists)."""
    db.execute("BEGIN")
    try:
        yield db
    finally:
        db.execute("COMMIT")


class SqliteDatabase:
    """What every SQLite store shares: one write connection, serialized by a lock, each write
    one ``BEGIN IMMEDIATE`` transaction (``synchronous=FULL`` makes each commit durable); reads
    on connections of their own from a ``ReadPool``, never behind a commit."""

    def __init__(self, path: Path, schema: str) -> None:
        self._db = connect(path, schema)
        self._lock = threading.Lock()
        self._reads = ReadPool(path)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with translate("the store"), self._lock, immediate(self._db):
            yield self._db

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with translate("the store"), self._reads.reading() as db:
            yield db

    def ping(self) -> None:
        with self._reading() as db:
            db.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()
        self._reads.close()


class SqliteReceiptDatabase(SqliteDatabase):
    """A store that also keeps receipts and the original bytes they answer, in tables of its
    own names; originals packed by ``gateway.store.originals``, receipts by
    ``gateway.store.receipt_rows``, both checked when read."""

    RECEIPTS: ClassVar[str]  # its receipts table, of ``RECEIPT_COLUMNS``
    ORIGINALS: ClassVar[str]  # its originals table: sha256, body, codec, size

    def __init__(self, path: Path, schema: str) -> None:
        super().__init__(path, schema)
        with self._writing() as db:
            add_codec_columns(db, self.ORIGINALS)
            add_codec_columns(db, self.RECEIPTS, RECEIPT_SIZES)

    def _insert_original(self, db: sqlite3.Connection, sha256: str, original: Packed) -> None:
        """Inside a write transaction; the first copy of the same bytes stays."""
        db.execute(
            f"INSERT OR IGNORE INTO {self.ORIGINALS} (sha256, codec, size, body) "  # noqa: S608
            "VALUES (?, ?, ?, ?)",
            (sha256, original.codec, original.size, original.blob),
        )

    def get_receipt(self, receipt_id: str) -> StoredReceipt | None:
        with self._reading() as db:
            row = db.execute(
                f"SELECT {RECEIPT_COLUMNS} FROM {self.RECEIPTS} WHERE id = ?",  # noqa: S608
                (receipt_id,),
            ).fetchone()
        return receipt_of(row)

    def get_original(self, sha256: str) -> bytes | None:
        with self._reading() as db:
            row = db.execute(
                f"SELECT codec, size, body FROM {self.ORIGINALS} WHERE sha256 = ?",  # noqa: S608
                (sha256,),
            ).fetchone()
        if row is None:
            return None
        return unpack(packed_row(row[0], row[1], bytes(row[2])), sha256=sha256)


class SqliteStore(SqliteReceiptDatabase):
    """The claim store: a worker's history look-ups read on their own connections, so they do
    not stall behind its own commit."""

    RECEIPTS, ORIGINALS = "receipts", "originals"

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        with self._writing() as db:
            add_codec_columns(db, "records")

    def find_accepted(self, partner_id: str, sha256: str) -> StoredReceipt | None:
        with self._reading() as db:
            row = db.execute(
                f"SELECT {RECEIPT_COLUMNS} FROM receipts "  # noqa: S608 - constant columns
                "WHERE partner_id = ? AND sha256 = ? AND accepted = 1",
                (partner_id, sha256),
            ).fetchone()
        return receipt_of(row)

    def save_accepted(self, submission: Submission) -> StoredReceipt:
        receipt = submission.receipt
        original = pack(submission.original)  # outside the write lock
        records = [(r, pack_record(r.json)) for r in submission.records]
        values = receipt_values(receipt)
        index = [(e.name, pack_entry(e.value)) for e in submission.index]
        with self._writing() as db:
            existing = db.execute(
                f"SELECT {RECEIPT_COLUMNS} FROM receipts "  # noqa: S608
                "WHERE partner_id = ? AND sha256 = ? AND accepted = 1",
                (receipt.partner_id, receipt.sha256),
            ).fetchone()
            if existing is not None:
                stored = receipt_of(existing)  # nothing was written: the commit is empty
                assert stored is not None
                return stored
            self._check_unchanged(submission.read)
            self._insert_receipt(values)
            self._db.executemany(
                "INSERT INTO records (id, receipt_id, partner_id, codec, size, json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(r.id, r.receipt_id, r.partner_id, p.codec, p.size, p.blob) for r, p in records],
            )
            self._insert_original(db, receipt.sha256, original)
            self._db.executemany("INSERT INTO entries (name, value) VALUES (?, ?)", index)
        return receipt

    def _check_unchanged(self, reads: tuple[IndexRead, ...]) -> None:
        """Inside the write transaction, which no other connection can interleave with."""
        for read in reads:
            (length,) = self._db.execute(
                "SELECT count(*) FROM entries WHERE name = ?", (read.name,)
            ).fetchone()
            if length > read.length:
                raise IndexChanged(read.name)

    def _insert_receipt(self, values: ReceiptValues) -> None:
        self._db.execute(
            f"INSERT INTO receipts ({RECEIPT_COLUMNS}) VALUES ({_RECEIPT_MARKS})",  # noqa: S608
            values,
        )

    def save_rejection(self, receipt: StoredReceipt) -> None:
        values = receipt_values(receipt)
        with translate("the store"), self._lock:
            self._insert_receipt(values)

    def get_record(self, record_id: str) -> StoredRecord | None:
        with self._reading() as db:
            row = db.execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE id = ?",  # noqa: S608
                (record_id,),
            ).fetchone()
        return record_of(record_id, row)

    def entries(self, name: str, *, start: int = 0, limit: int | None = None) -> list[bytes]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT value FROM entries WHERE name = ? ORDER BY seq LIMIT ? OFFSET ?",
                (name, -1 if limit is None else limit, start),
            ).fetchall()
        return [unpack_entry(bytes(row[0]), name=name) for row in rows]
