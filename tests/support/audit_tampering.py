"""Editing a stored audit log behind the gateway's back, as someone with access to the database
would: the tests show that ``verify`` catches it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import redis

from gateway.audit.redis import HEAD, LIST


class SqliteTamperer:
    """Edits the audit tables with a connection of its own, as someone with the file would,
    dropping the append-only triggers first."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _edit(self, sql: str, *params: object) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("DROP TRIGGER IF EXISTS audit_no_update")
            db.execute("DROP TRIGGER IF EXISTS audit_no_delete")
            db.execute(sql, params)

    def change(self, seq: int, old: bytes, new: bytes) -> None:
        with sqlite3.connect(self.path) as db:
            (entry,) = db.execute("SELECT entry FROM audit WHERE seq = ?", (seq,)).fetchone()
        assert old in entry
        self._edit("UPDATE audit SET entry = ? WHERE seq = ?", bytes(entry).replace(old, new), seq)

    def delete(self, seq: int) -> None:
        self._edit("DELETE FROM audit WHERE seq = ?", seq)

    def swap(self, first: int, second: int) -> None:
        """Entries ``first`` and ``second`` change places, each with its hash and citizen."""
        with sqlite3.connect(self.path) as db:
            rows = {
                seq: (entry, hash_hex, citizen)
                for seq, entry, hash_hex, citizen in db.execute(
                    "SELECT seq, entry, hash, citizen FROM audit WHERE seq IN (?, ?)",
                    (first, second),
                )
            }
        for seq, other in ((first, second), (second, first)):
            entry, hash_hex, citizen = rows[other]
            sql = "UPDATE audit SET entry = ?, hash = ?, citizen = ? WHERE seq = ?"
            self._edit(sql, entry, hash_hex, citizen, seq)

    def remove_head(self) -> None:
        self._edit("DELETE FROM audit_head")

    def change_checkpoint(self, old: bytes, new: bytes) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_update")
            (body,) = db.execute("SELECT body FROM audit_checkpoint").fetchone()
            assert old in body
            db.execute("UPDATE audit_checkpoint SET body = ?", (bytes(body).replace(old, new),))


class PostgresTamperer:
    """Edits the audit tables as the database's owner would, with the triggers off for its
    session (``session_replication_role = replica``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _edit(self, sql: str, *params: object) -> None:
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute("SET session_replication_role = replica")
            db.execute(sql, params)

    def _entry(self, seq: int) -> tuple[bytes, str, str | None]:
        with psycopg.connect(self.url) as db:
            row = db.execute(
                "SELECT entry, hash, citizen FROM audit WHERE seq = %s", (seq,)
            ).fetchone()
        assert row is not None
        return bytes(row[0]), str(row[1]), row[2]

    def change(self, seq: int, old: bytes, new: bytes) -> None:
        entry = self._entry(seq)[0]
        assert old in entry
        self._edit("UPDATE audit SET entry = %s WHERE seq = %s", entry.replace(old, new), seq)

    def delete(self, seq: int) -> None:
        self._edit("DELETE FROM audit WHERE seq = %s", seq)

    def swap(self, first: int, second: int) -> None:
        """Entries ``first`` and ``second`` change places, each with its hash and citizen."""
        rows = {seq: self._entry(seq) for seq in (first, second)}
        for seq, other in ((first, second), (second, first)):
            sql = "UPDATE audit SET entry = %s, hash = %s, citizen = %s WHERE seq = %s"
            self._edit(sql, *rows[other], seq)

    def remove_head(self) -> None:
        self._edit("DELETE FROM audit_head")

    def change_checkpoint(self, old: bytes, new: bytes) -> None:
        with psycopg.connect(self.url) as db:
            row = db.execute("SELECT body FROM audit_checkpoints").fetchone()
        assert row is not None and old in bytes(row[0])
        self._edit("UPDATE audit_checkpoints SET body = %s", bytes(row[0]).replace(old, new))


class RedisTamperer:
    """Edits the ``gw:audit`` list with a plain client."""

    def __init__(self, url: str) -> None:
        self.url = url

    def change(self, seq: int, old: bytes, new: bytes) -> None:
        with redis.Redis.from_url(self.url) as client:
            value = client.lindex(LIST, seq - 1)
            assert isinstance(value, bytes) and old in value
            client.lset(LIST, seq - 1, value.replace(old, new))

    def delete(self, seq: int) -> None:
        with redis.Redis.from_url(self.url) as client:
            value = client.lindex(LIST, seq - 1)
            assert client.lrem(LIST, 1, value) == 1

    def swap(self, first: int, second: int) -> None:
        """Entries ``first`` and ``second`` change places, each with its hash."""
        with redis.Redis.from_url(self.url) as client:
            one, two = client.lindex(LIST, first - 1), client.lindex(LIST, second - 1)
            assert isinstance(one, bytes) and isinstance(two, bytes)
            client.lset(LIST, first - 1, two)
            client.lset(LIST, second - 1, one)

    def remove_head(self) -> None:
        with redis.Redis.from_url(self.url) as client:
            client.delete(HEAD)
