"""The card checks' PostgreSQL log (table ``si_card_checks``, migration 0004)."""

from __future__ import annotations

from datetime import datetime

from gateway.sirecords.checks import CardCheckEntry
from gateway.store.pg_database import PostgresDatabase
from gateway.store.sirecord_rows import CARD_CHECK_COLUMNS, card_check_entry, card_check_row

# A check is one insert, a history one indexed read: a few connections serve a process.
_POOL_SIZE = 3


class PostgresCardCheckLog(PostgresDatabase):
    """Each check one autocommitted insert; times as ``timestamptz``, read back in UTC."""

    def __init__(self, url: str, *, require_durable: bool = True) -> None:
        super().__init__(url, name="card-checks", size=_POOL_SIZE, require_durable=require_durable)

    def record(self, card_key: str, entry: CardCheckEntry) -> None:
        with self._conn() as conn:
            conn.execute(
                f"INSERT INTO si_card_checks (card_key, {CARD_CHECK_COLUMNS}) "  # noqa: S608 (constants)
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                card_check_row(card_key, entry, entry.at),
            )

    def history(self, card_key: str, *, limit: int) -> list[CardCheckEntry]:
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT {CARD_CHECK_COLUMNS} FROM si_card_checks WHERE card_key = %s "  # noqa: S608
                "ORDER BY at DESC, id DESC LIMIT %s",
                (card_key, max(0, limit)),
            ).fetchall()
        return [card_check_entry(row) for row in rows]

    def purge(self, *, before: datetime) -> int:
        with self._conn() as conn:
            return conn.execute("DELETE FROM si_card_checks WHERE at < %s", (before,)).rowcount
