"""The counters behind the login limits (``gateway.legacy.limiter``): a port, ``Counters``, and
its in-memory implementation, ``MemoryCounters`` (the Redis one is ``gateway.limits.redis``)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol


@dataclass(frozen=True)
class Window:
    """A key's count of events in its current window, and whole seconds until the window ends
    (0 when no window is open)."""

    events: int
    retry_after: int


class Counters(Protocol):
    """Events per key in fixed windows: a key's window opens at its first event and lasts a
    fixed time, after which the key counts from zero again.

    ``MemoryCounters`` counts in one process (with N workers a limit is N times looser);
    ``gateway.limits.redis.RedisCounters`` in Redis, shared by every process, and raises
    ``Unavailable`` when Redis does not answer. Calls are made on the event loop, before any
    thread is taken, so an implementation must answer within a network round trip and never
    wait for a lock held over I/O."""

    def hit(self, key: str) -> Window:
        """Count one event for ``key``: its window with this event in it."""

    def peek(self, key: str) -> Window:
        """``key``'s current window, counting nothing."""

    def clear(self, key: str) -> None:
        """Forget ``key``'s window."""


class MemoryCounters:
    """``Counters`` in this process's memory, for at most ``max_keys`` keys: past that, the key
    whose window opened first is forgotten (its window ends early). Keys are kept in the order
    their windows opened, so ended windows are dropped from the front as time goes on."""

    def __init__(
        self,
        window: timedelta,
        *,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window.total_seconds()
        self._max_keys = max_keys
        self._clock = clock
        self._opened: OrderedDict[str, tuple[float, int]] = OrderedDict()  # key → (opened, events)
        self._lock = threading.Lock()

    def hit(self, key: str) -> Window:
        with self._lock:
            now = self._clock()
            self._drop_ended(now)
            opened, events = self._opened.get(key, (now, 0))
            self._opened[key] = (opened, events + 1)  # a new key goes last, an old one stays
            while len(self._opened) > self._max_keys:
                self._opened.popitem(last=False)
            return self._window_of(opened, events + 1, now)

    def peek(self, key: str) -> Window:
        with self._lock:
            now = self._clock()
            self._drop_ended(now)
            opened, events = self._opened.get(key, (now, 0))
            return self._window_of(opened, events, now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._opened.pop(key, None)

    def _drop_ended(self, now: float) -> None:
        while self._opened:
            opened, _ = next(iter(self._opened.values()))
            if opened + self._window > now:
                break
            self._opened.popitem(last=False)

    def _window_of(self, opened: float, events: int, now: float) -> Window:
        retry_after = math.ceil(opened + self._window - now) if events else 0
        return Window(events, retry_after)
