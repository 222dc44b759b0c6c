"""Calls to a partner that may fail: bounded retries, a circuit breaker and a bulkhead.

An adapter wraps each call in ``Guard.call`` and sorts its failures into ``Transient`` (no
answer: a timeout, a refused connection, an HTTP 5xx; the same call may work again) and
``Refused`` (an answer that is not one: a SOAP Fault, a reply to another question; the same call
gets the same). The guard turns every failure it cannot wait out into ``Unavailable`` (503 with
``Retry-After``), so that a request never waits on a partner longer than its retries allow.

- Bulkhead: at most ``max_in_flight`` calls at once; one over it waits ``max_wait`` seconds at
  most for a slot, then fails, so that a slow partner holds a bounded number of the gateway's
  threads, each for a bounded time, instead of all of them. The short wait is what keeps a
  burst over the cap from failing while the partner answers in time (bench/lookups.py: 32
  connections over 16 slots at 20 ms lost lookups when an extra call failed at once).
- Retries: a ``Transient`` failure is tried again, ``retries`` times at most, after a jittered
  pause; only calls that change nothing (reads, checks) may be guarded, since a timed-out call
  may have been done.
- Circuit breaker: ``failures`` failed calls in a row open it; while open every call fails at
  once; after ``cool_down`` seconds one call (the probe) goes through: its success closes the
  breaker, its failure opens it for another ``cool_down``.

Written here rather than taken from a library: docs/resilience.md says why.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from gateway.errors import Unavailable

T = TypeVar("T")


class Transient(Exception):
    """A call got no answer; the same call may get one later."""


class Refused(Exception):
    """A call got an answer that is not one it can use; the same call would get the same."""


@dataclass(frozen=True)
class GuardPolicy:
    """How patient the gateway is with one partner."""

    retries: int = 1  # tries after the first, for transient failures only
    backoff: float = 0.2  # the largest pause before the first retry, doubling at each
    failures: int = 5  # failed calls in a row that open the breaker
    cool_down: float = 30.0  # seconds the breaker stays open before its probe
    max_in_flight: int = 16  # calls at once
    max_wait: float = 0.25  # seconds a call over the cap waits for a slot before it fails

    def __post_init__(self) -> None:
        if self.retries < 0 or self.failures < 1 or self.max_in_flight < 1:
            raise ValueError("retries >= 0, failures >= 1 and max_in_flight >= 1")
        if self.backoff < 0 or self.cool_down <= 0 or self.max_wait < 0:
            raise ValueError("backoff >= 0, cool_down > 0 and max_wait >= 0")


class CircuitBreaker:
    """Closed, open or half-open, from consecutive failures; time from ``clock`` (monotonic
    seconds). Thread-safe; never holds its lock during a call."""

    def __init__(self, *, failures: int, cool_down: float, clock: Callable[[], float]) -> None:
        self._threshold = failures
        self._cool_down = cool_down
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            ready = self._clock() >= self._opened_at + self._cool_down
            return "half-open" if ready or self._probing else "open"

    def remaining(self) -> float | None:
        """Seconds until the open breaker lets a probe through; None when it is closed."""
        with self._lock:
            if self._opened_at is None:
                return None
            return max(self._opened_at + self._cool_down - self._clock(), 0.0)

    def admit(self) -> float | None:
        """None if a call may go now; otherwise the seconds until one may."""
        with self._lock:
            if self._opened_at is None:
                return None
            left = self._opened_at + self._cool_down - self._clock()
            if left > 0:
                return left
            if self._probing:  # one probe at a time; the others wait for its outcome
                return self._cool_down
            self._probing = True
            return None

    def succeeded(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self._threshold:
                self._opened_at, self._probing = self._clock(), False


class Bulkhead:
    """At most ``size`` holders at once; one more waits ``max_wait`` seconds at most for a slot
    (0: refused at once), then is refused."""

    def __init__(self, size: int, *, max_wait: float = 0.0) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._max_wait = max_wait

    @contextmanager
    def slot(self, what: str) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._max_wait):
            raise Unavailable(f"{what}: too many calls in flight", retry_after=1)
        try:
            yield
        finally:
            self._slots.release()


class Guard:
    """The bulkhead, retries and breaker of one partner, shared by every call to it."""

    def __init__(
        self,
        policy: GuardPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy
        self.breaker = CircuitBreaker(
            failures=policy.failures, cool_down=policy.cool_down, clock=clock
        )
        self.bulkhead = Bulkhead(policy.max_in_flight, max_wait=policy.max_wait)
        self._sleep = sleep

    def call(self, what: str, attempt: Callable[[], T]) -> T:
        """``attempt()``'s result; ``Unavailable`` (``from`` the last failure) when there is
        none. ``what`` names the partner in the message a caller reads."""
        with self.bulkhead.slot(what):
            tried = 0
            while True:
                wait = self.breaker.admit()
                if wait is not None:
                    raise Unavailable(f"{what} is unavailable", retry_after=math.ceil(wait))
                try:
                    result = attempt()
                except Transient as exc:
                    self.breaker.failed()
                    if tried == self.policy.retries:
                        raise self._unavailable(what) from exc
                except Refused as exc:
                    self.breaker.failed()
                    raise self._unavailable(what) from exc
                except BaseException:
                    self.breaker.failed()  # a probe that broke must not hold the breaker
                    raise
                else:
                    self.breaker.succeeded()
                    return result
                self._sleep(random.uniform(0, self.policy.backoff * 2**tried))  # noqa: S311
                tried += 1

    def _unavailable(self, what: str) -> Unavailable:
        # Retry once the breaker lets a probe through, if this failure opened it.
        left = self.breaker.remaining()
        return Unavailable(f"{what} is unavailable", retry_after=math.ceil(left or 5))
