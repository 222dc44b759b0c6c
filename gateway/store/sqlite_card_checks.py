"""The card checks' SQLite log (table ``si_card_checks``), in the SI records' database file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.audit.events import rfc3339
from gateway.sirecords.checks import CardCheckEntry
from gateway.store.sirecord_rows import CARD_CHECK_COLUMNS, card_check_entry, card_check_row
from gateway.store.sqlite import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS si_card_checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    card_key TEXT NOT NULL,
    at TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    facility TEXT NOT NULL,
    account TEXT NOT NULL,
    card TEXT NOT NULL,
    staff_name TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    code TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS si_card_checks_by_card ON si_card_checks (card_key, at);
CREATE INDEX IF NOT EXISTS si_card_checks_by_time ON si_card_checks (at);
"""


class SqliteCardCheckLog(SqliteDatabase):
    """Writes through one connection under a lock, each one transaction; reads from a pool
    (``SqliteDatabase``). Times are stored as fixed-width RFC 3339 UTC text, which sorts as the
    time does."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def record(self, card_key: str, entry: CardCheckEntry) -> None:
        with self._writing() as db:
            db.execute(
                f"INSERT INTO si_card_checks (card_key, {CARD_CHECK_COLUMNS}) "  # noqa: S608 (constants)
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                card_check_row(card_key, entry, rfc3339(entry.at)),
            )

    def history(self, card_key: str, *, limit: int) -> list[CardCheckEntry]:
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {CARD_CHECK_COLUMNS} FROM si_card_checks WHERE card_key = ? "  # noqa: S608
                "ORDER BY at DESC, id DESC LIMIT ?",
                (card_key, max(0, limit)),
            ).fetchall()
        return [card_check_entry(row) for row in rows]

    def purge(self, *, before: datetime) -> int:
        with self._writing() as db:
            deleted = db.execute(
                "DELETE FROM si_card_checks WHERE at < ?", (rfc3339(before.astimezone(UTC)),)
            ).rowcount
        return int(deleted)
