"""The lookup cache: serialized answers by citizen pseudonym and record version (``AnswerCache``),
and ``MemoryCache``, its implementation in this process's memory (an LRU with a TTL).

Why the version is in the key: an answer cached under ``(citizen, version)`` can never become
wrong, since every change of a record bumps its version in the change's transaction
(``SiRecordStore``). A lookup reads the version (one indexed row) and then the cache; a change
made by any process (a claim's treatment, a dossier's benefit, a seeding) is seen by the next
lookup of every process, with no message between them, and an entry of an old version is never
asked for again and expires. Keys name the citizen by pseudonym only (``gateway.identity``)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


def cache_key(pseudonym: str, version: int) -> str:
    return f"{pseudonym}:{version}"


class AnswerCache(Protocol):
    """Serialized answers for ``ttl`` seconds. A cache that cannot answer misses: the store is
    the record's source, the cache only spares it."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, answer: bytes) -> None: ...

    def close(self) -> None: ...


class MemoryCache:
    """``AnswerCache`` in this process's memory: at most ``max_entries``, the least recently
    used forgotten first, each for ``ttl`` seconds of ``clock``."""

    def __init__(
        self, *, max_entries: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_entries = max_entries
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # key → (until, …)
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            until, answer = found
            if until <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return answer

    def put(self, key: str, answer: bytes) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
