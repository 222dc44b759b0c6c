"""The login limits' counters, in this process's memory and in the machine's Redis (db 15)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from gateway.legacy.counters import Counters, MemoryCounters
from gateway.limits.redis import Breaker, RedisCounters
from gateway.store.redis import connect

MakeCounters = Callable[..., Counters]


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def make_counters(request: pytest.FixtureRequest) -> Iterator[MakeCounters]:
    """``make_counters(kind, window, max_keys=, clock=)``: counters of one kind in this process's
    memory, or in the machine's Redis (db 15) on the test's clock."""
    if request.param == "memory":
        yield lambda _kind, window, **options: MemoryCounters(window, **options)
        return
    client = connect(request.getfixturevalue("redis_url"))

    def in_redis(kind: str, window: timedelta, *, max_keys: int, clock: Ticks) -> Counters:
        return RedisCounters(client, Breaker(), kind, window, max_keys=max_keys, clock=clock)

    yield in_redis
    client.close()
