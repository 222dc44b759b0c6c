"""The card checks' PostgreSQL log (table ``si_card_checks``, migration 0004)."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.sirecords.checks import CardCheckEntry
from gateway.store.pg_database import PostgresDatabase

_COLUMNS = "at, partner_id, facility, account, card, staff_name, staff_id, code"
# A check is one insert, a history one indexed read: a few connections serve a process.
_POOL_SIZE = 3


class PostgresCardCheckLog(PostgresDatabase):
    """Each check one autocommitted insert; times as ``timestamptz``, read back in UTC."""

    def __init__(self, url: str, *, require_durable: bool = True) -> None:
        super().__init__(url, name="card-checks", size=_POOL_SIZE, require_durable=require_durable)

    def record(self, card_key: str, entry: CardCheckEntry) -> None:
        with self._conn() as conn:
            conn.execute(
                f"INSERT INTO si_card_checks (card_key, {_COLUMNS}) "  # noqa: S608 (constants)
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    card_key,
                    entry.at,
                    entry.partner,
                    entry.facility,
                    entry.account,
                    entry.card,
                    entry.staff_name,
                    entry.staff_id,
                    entry.code,
                ),
            )

    def history(self, card_key: str, *, limit: int) -> list[CardCheckEntry]:
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM si_card_checks WHERE card_key = %s "  # noqa: S608
                "ORDER BY at DESC, id DESC LIMIT %s",
                (card_key, max(0, limit)),
            ).fetchall()
        return [CardCheckEntry(row[0].astimezone(UTC), *row[1:]) for row in rows]

    def purge(self, *, before: datetime) -> int:
        with self._conn() as conn:
            return conn.execute("DELETE FROM si_card_checks WHERE at < %s", (before,)).rowcount
