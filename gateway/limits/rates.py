"""Request rates: ``Rate`` ("100/s"), the ``RateLimiter`` port, and ``MemoryRates``, its
implementation in this process's memory (GCRA)."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*([0-9]{1,9})\s*/\s*(s|min|h)\s*$")


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``period`` seconds, of which all ``count`` may come at once (the
    burst): after a burst, one more every ``period / count`` seconds."""

    count: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"<count>/<s|min|h>"``, e.g. ``"100/s"``; a ``ValueError`` names the mistake."""
        found = _RATE.match(text)
        if found is None or not 0 < int(found[1]) <= _UNITS[found[2]] * 1_000_000:
            raise ValueError(
                f"{text!r} is not a rate: write <count>/s, <count>/min or <count>/h, at most "
                "1000000/s"
            )
        return cls(int(found[1]), _UNITS[found[2]])

    @property
    def interval_us(self) -> int:
        """Microseconds between two requests at the sustained rate (GCRA's emission interval).
        Whole microseconds, so that shared and local counts agree to the last request."""
        return int(self.period * 1_000_000) // self.count

    @property
    def burst_us(self) -> int:
        """GCRA's tolerance: ``count`` intervals, so that ``count`` requests fit at once."""
        return self.interval_us * self.count

    def __str__(self) -> str:
        unit = {v: k for k, v in _UNITS.items()}.get(self.period, f"{self.period:g}s")
        return f"{self.count}/{unit}"


class RateLimiter(Protocol):
    """Allowances per key (a partner, a citizen) at a ``Rate``.

    Calls are made on the event loop before any thread is taken: an implementation answers
    within one network round trip, and a shared one raises ``Unavailable`` when it cannot."""

    def take(self, key: str, rate: Rate) -> float:
        """Take one request from ``key``'s allowance: 0 when it is let through, else the seconds
        until it would be (nothing is taken then)."""


class MemoryRates:
    """``RateLimiter`` in this process's memory, by the same GCRA as ``gateway.limits.redis``:
    per key one number, the theoretical arrival time (TAT) of its next request. For at most
    ``max_keys`` keys: past that, the key used least recently is forgotten (its next request
    starts a fresh allowance); a key whose TAT has passed holds nothing a fresh one does not."""

    def __init__(self, *, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_keys = max_keys
        self._clock = clock
        self._tats: OrderedDict[str, int] = OrderedDict()  # key → TAT, in µs of ``clock``
        self._lock = threading.Lock()

    def take(self, key: str, rate: Rate) -> float:
        with self._lock:
            now = int(self._clock() * 1_000_000)
            later = max(self._tats.get(key, now), now) + rate.interval_us
            wait = later - rate.burst_us - now
            if wait > 0:
                self._tats.move_to_end(key)  # a refused key is in use: the last to forget
                return wait / 1_000_000
            self._tats[key] = later
            self._tats.move_to_end(key)
            while len(self._tats) > self._max_keys:
                self._tats.popitem(last=False)
            return 0.0
