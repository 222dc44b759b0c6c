"""Versioned migrations of the PostgreSQL database: the SQL files of ``pg_migrations/``, applied in
order by ``gateway db upgrade`` and recorded in ``schema_version``.

Each file ``NNNN_name.sql`` is one version, applied in one transaction together with its row in
``schema_version``, so a failed migration leaves the database at the version before it. Two
upgrades started at once (two hosts deploying) run one after the other: the runner holds a
session advisory lock. A store refuses a database older than its code (``require_current``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import psycopg
from psycopg.rows import TupleRow

from gateway.errors import ConfigError, translate

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
# pg_advisory_lock's key for the runner: any constant of our own ("gw schema" in ASCII).
_LOCK = 0x6777_2073_6368_656D

_VERSION_TABLE = b"""
CREATE TABLE IF NOT EXISTS schema_version (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    """One version of the schema: its number, name and SQL."""

    version: int
    name: str
    sql: bytes

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database stands: its version (0: no gateway schema) and what it lacks."""

    current: int
    latest: int
    pending: tuple[Migration, ...]


@cache
def migrations() -> tuple[Migration, ...]:
    """The migrations packaged with this code, oldest first, numbered 1, 2, ... without gaps."""
    found = []
    for entry in resources.files("gateway.store").joinpath("pg_migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_bytes()))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise ConfigError(f"the packaged migrations are not numbered 1..n: {found}")
    return tuple(found)


def latest() -> int:
    """The schema version this code needs."""
    return migrations()[-1].version


def current(conn: psycopg.Connection[TupleRow]) -> int:
    """The database's schema version, 0 when it has no ``schema_version`` table."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if exists is None or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def _connect(url: str) -> psycopg.Connection[TupleRow]:
    with translate("the database"):
        return psycopg.connect(url, autocommit=True, connect_timeout=5)


def status(url: str) -> SchemaStatus:
    """The schema version of the database at ``url`` and the migrations it lacks."""
    with _connect(url) as conn, translate("the database"):
        version = current(conn)
    return SchemaStatus(version, latest(), tuple(m for m in migrations() if m.version > version))


def upgrade(url: str, *, target: int | None = None) -> list[Migration]:
    """Apply the migrations the database at ``url`` lacks, up to ``target`` (all when None), each
    in its own transaction; returns those applied."""
    applied: list[Migration] = []
    with _connect(url) as conn, translate("the database"):
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
        try:
            conn.execute(_VERSION_TABLE)
            version = current(conn)
            for migration in migrations():
                if migration.version <= version or (
                    target is not None and migration.version > target
                ):
                    continue
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name),
                    )
                applied.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
    return applied


def require_current(conn: psycopg.Connection[TupleRow], where: str) -> None:
    """Refuse a database whose schema is older than this code (``where`` names it)."""
    version, needed = current(conn), latest()
    if version < needed:
        what = "has no gateway schema" if version == 0 else f"is at schema version {version}"
        raise ConfigError(
            f"{where} {what}; this gateway needs version {needed}: run `gateway db upgrade` "
            "(with the same GATEWAY_STORE_URL) before starting it"
        )
