"""Retention on the PostgreSQL claims store: whole monthly partitions of receipts, records and
originals dropped once every row they can hold is past its period (a month goes when its end is
before the cut), never a row deleted from them; with a receipts month, the rows of the
unpartitioned ``accepted`` table that point into it, in the same transaction (docs/postgres.md).

The dossier store's partitioned tables are not touched: a dossier's receipt lives as long as the
dossier does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg import sql

from gateway.retention import CLAIM_KINDS, ClaimKind, Expired
from gateway.store.pg_database import Connection, PostgresDatabase


@dataclass(frozen=True)
class _Partition:
    name: str
    start: datetime  # its first instant; it ends where the next month starts

    @property
    def end(self) -> datetime:
        return (self.start + timedelta(days=32)).replace(day=1)


def _partitions(conn: Connection, parent: str) -> list[_Partition]:
    """The monthly partitions of ``parent`` in the current schema, oldest first (named
    ``<parent>_YYYY_MM`` by gw_month_partitions)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "JOIN pg_namespace n ON n.oid = p.relnamespace "
        "WHERE p.relname = %s AND n.nspname = current_schema()",
        (parent,),
    ).fetchall()
    found = []
    for (name,) in rows:
        year, _, month = name.removeprefix(f"{parent}_").partition("_")
        if year.isdigit() and month.isdigit():
            found.append(_Partition(name, datetime(int(year), int(month), 1, tzinfo=UTC)))
    return sorted(found, key=lambda part: part.start)


class PostgresPruner(PostgresDatabase):
    """Its own small pool on the store's database."""

    def __init__(self, url: str) -> None:
        super().__init__(url, name="retention", size=1, require_durable=False)

    def _past(self, conn: Connection, kind: ClaimKind, cut: datetime) -> list[_Partition]:
        return [part for part in _partitions(conn, kind) if part.end <= cut]

    def _plan(
        self, conn: Connection, cuts: dict[ClaimKind, datetime | None]
    ) -> list[tuple[Expired, _Partition]]:
        found = []
        for kind in CLAIM_KINDS:
            cut = cuts[kind]
            for part in [] if cut is None else self._past(conn, kind, cut):
                count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(part.name))
                row = conn.execute(count).fetchone()
                rows = 0 if row is None else int(row[0])
                found.append((Expired(kind, f"partition {part.name}", rows), part))
        return found

    def expired(self, cuts: dict[ClaimKind, datetime | None]) -> list[Expired]:
        with self._conn() as conn:
            return [expired for expired, _ in self._plan(conn, cuts)]

    def drop(self, cuts: dict[ClaimKind, datetime | None]) -> list[Expired]:
        with self._conn() as conn:
            plan = self._plan(conn, cuts)
        for expired, part in plan:
            with self._writing() as conn:
                if expired.kind == "receipts":
                    conn.execute(
                        "DELETE FROM accepted WHERE received_at >= %s AND received_at < %s",
                        (part.start, part.end),
                    )
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(part.name)))
        return [expired for expired, _ in plan]
