"""The audit log in the store's Redis: a list of entries and a head key.

    gw:audit         list    one entry per element: "<hash hex> <canonical JSON>", oldest first
    gw:audit:head    string  "<seq> <hash hex>" of the last entry
    gw:audit:citizen:<pseudonym>  zset  the seq of each entry whose event names that citizen

Lua in Redis 7.0 has no SHA-256, so the hash is computed here and the entry is appended by an
optimistic transaction: WATCH the head, read it, link the entry, then MULTI / RPUSH / SET / EXEC.
If another writer moved the head in between, EXEC does nothing and the append starts again from
the new head; so writers in several processes still form one chain. The list, the head and the
citizen's index change together (one MULTI/EXEC, written to the AOF as one unit).
"""

from __future__ import annotations

from typing import cast

import redis
import redis.exceptions

from gateway.audit.chain import AuditEntry, AuditHead, AuditReport, head_of, link, verify
from gateway.audit.checkpoint import Checkpoint
from gateway.audit.events import AuditEvent
from gateway.errors import ConfigError, Unavailable, translate
from gateway.store.redis import connect

LIST = "gw:audit"
HEAD = "gw:audit:head"
CITIZEN = "gw:audit:citizen:"
# Each lost race means another append succeeded, so this bounds only a pathological pile-up.
_ATTEMPTS = 100


def _head(value: bytes | None) -> AuditHead:
    if value is None:
        return AuditHead()
    seq, _, hash_hex = value.decode(errors="replace").partition(" ")
    return head_of(seq, hash_hex)


def _entry(seq: int, value: bytes) -> AuditEntry:
    hash_hex, _, body = value.partition(b" ")
    return AuditEntry(seq, body, hash_hex.decode(errors="replace"))


class RedisAuditLog:
    """The audit log on the Redis server the store uses (its durability is checked there)."""

    def __init__(self, url: str) -> None:
        self._redis = connect(url)

    def append(self, event: AuditEvent) -> AuditEntry:
        with translate("the audit log"), self._redis.pipeline() as pipe:
            for _ in range(_ATTEMPTS):
                try:
                    pipe.watch(HEAD)  # type: ignore[no-untyped-call]  # redis-py 8 leaves it untyped
                    entry = link(_head(cast("bytes | None", pipe.get(HEAD))), event)
                    pipe.multi()
                    pipe.rpush(LIST, entry.hash.encode() + b" " + entry.body)
                    pipe.set(HEAD, f"{entry.seq} {entry.hash}")
                    if event.citizen is not None:
                        pipe.zadd(CITIZEN + event.citizen, {str(entry.seq): entry.seq})
                    pipe.execute()
                    return entry
                except redis.exceptions.WatchError:
                    continue
        raise Unavailable(f"the audit log: {_ATTEMPTS} appends in a row lost the race")

    def head(self) -> AuditHead:
        with translate("the audit log"):
            return _head(cast("bytes | None", self._redis.get(HEAD)))

    def entries(self, after_seq: int = 0, limit: int = 100) -> list[AuditEntry]:
        if limit <= 0:
            return []
        with translate("the audit log"):
            values = cast("list[bytes]", self._redis.lrange(LIST, after_seq, after_seq + limit - 1))
        return [_entry(seq, value) for seq, value in enumerate(values, start=after_seq + 1)]

    def of_citizen(
        self, citizen: str, *, before_seq: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        if limit <= 0:
            return []
        before = "+inf" if before_seq is None else f"({before_seq}"
        with translate("the audit log"):
            found = cast(
                "list[bytes]",
                self._redis.zrevrangebyscore(CITIZEN + citizen, before, "-inf", start=0, num=limit),
            )
            seqs = [int(seq) for seq in found]
            with self._redis.pipeline(transaction=False) as pipe:
                for seq in seqs:
                    pipe.lindex(LIST, seq - 1)
                values = cast("list[bytes | None]", pipe.execute())
        return [_entry(seq, value) for seq, value in zip(seqs, values, strict=True) if value]

    def verify(self) -> AuditReport:
        return verify(self.head, self.entries)

    def checkpoint(self) -> Checkpoint | None:
        return None  # nothing is ever dropped from a Redis log

    def drop_through(self, checkpoint: Checkpoint, *, batch: int = 1000) -> int:
        raise ConfigError(
            "retention does not drop audit entries from Redis, which is not a store of record: "
            "keep the audit log in SQLite or PostgreSQL (GATEWAY_STORE_URL)"
        )

    def close(self) -> None:
        self._redis.close()
