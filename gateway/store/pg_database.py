"""A PostgreSQL database as every store of the gateway opens it: its connection pool (psycopg
3's), the startup checks (durable commits, a current schema) and the translation of the
driver's errors (``gateway.errors.translate``). The claim, dossier and SI-record stores extend it,
as the SQLite ones extend ``SqliteDatabase``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from gateway.errors import ConfigError, translate
from gateway.store import pg_schema
from gateway.store.health import DatabaseState, PoolState, reachable

Connection = psycopg.Connection[TupleRow]

# Connections per store and process, and the seconds a request waits for one (the pool full, or
# the server down while the pool reconnects) before it is answered 503.
POOL_SIZE = 10
POOL_WAIT = 2.0
_CONNECT_TIMEOUT = 2  # seconds, unless the URL says otherwise (connect_timeout=)
# The pool retries a lost connection with a doubling delay (1, 2, 4 s...) for this many seconds,
# then gives up on it, and the next request asks for a new one at once: after an outage the
# store answers again within a few seconds, not after the pool's default backoff (up to 5 min).
_RECONNECT_FOR = 5.0
_DURABLE_COMMITS = {"on", "local", "remote_write", "remote_apply"}


def where(url: str) -> str:
    """The database of ``url`` named for a message, without its password."""
    params = conninfo_to_dict(url)
    host, port = params.get("host", "localhost"), params.get("port", 5432)
    return f"PostgreSQL at {host}:{port} (database {params.get('dbname', '')})"


class PostgresDatabase:
    """An open pool of autocommit connections to a database migrated by ``gateway db upgrade``;
    ``_conn()`` lends one, its errors translated (the server out of reach: ``Unavailable``)."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        size: int = POOL_SIZE,
        require_durable: bool = True,
    ) -> None:
        self._where = where(url)
        params = conninfo_to_dict(url)
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in params:
            kwargs["connect_timeout"] = _CONNECT_TIMEOUT
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            kwargs=kwargs,
            min_size=1,
            max_size=size,
            timeout=POOL_WAIT,
            reconnect_timeout=_RECONNECT_FOR,
            # A connection the server dropped (a restart) is replaced before it is handed out.
            check=ConnectionPool.check_connection,
            open=False,
            name=name,
        )
        try:
            with translate("the store"):
                self._pool.open(wait=True, timeout=POOL_WAIT * 2)
                with self._pool.connection() as conn:
                    pg_schema.require_current(conn, self._where)
                    if require_durable:
                        self._check_durable(conn)
        except BaseException:
            self._pool.close()
            raise

    def _check_durable(self, conn: Connection) -> None:
        """Refuse a server that may confirm a commit it has not written to disk."""
        fsync = conn.execute("SHOW fsync").fetchone()
        commit = conn.execute("SHOW synchronous_commit").fetchone()
        fsync_value = fsync[0] if fsync else "?"
        commit_value = commit[0] if commit else "?"
        if fsync_value != "on" or commit_value not in _DURABLE_COMMITS:
            raise ConfigError(
                f"{self._where} may lose acknowledged commits (fsync {fsync_value}, "
                f"synchronous_commit {commit_value}): set `fsync = on` and "
                "`synchronous_commit = on` in postgresql.conf (or ALTER SYSTEM SET ...; SELECT "
                "pg_reload_conf()), and no synchronous_commit=off in the role, the database or "
                "GATEWAY_STORE_URL's options"
            )

    @contextmanager
    def _conn(self) -> Iterator[Connection]:
        with translate("the store"), self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A connection in a transaction, committed when the block ends (rolled back if it
        raises)."""
        with self._conn() as conn, conn.transaction():
            yield conn

    def ping(self) -> None:
        with self._conn() as conn:
            conn.execute("SELECT 1")

    def state(self) -> DatabaseState:
        """Whether the server answers now (through the pool, so a pool exhausted for
        ``POOL_WAIT`` seconds counts as not), and the pool as that left it; never raises."""
        answers = reachable(self)
        stats = self._pool.get_stats()
        size = stats.get("pool_size", 0)
        pool = PoolState(
            size=size,
            max_size=stats.get("pool_max", self._pool.max_size),
            in_use=size - stats.get("pool_available", 0),
            waiting=stats.get("requests_waiting", 0),
        )
        return DatabaseState("postgresql", answers, pool)

    def close(self) -> None:
        self._pool.close()
