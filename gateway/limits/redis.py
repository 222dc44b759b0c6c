"""Limits shared by every gateway process in ``GATEWAY_REDIS_URL``'s Redis: request rates
(``RedisRates``, GCRA) and the login limits' fixed windows (``RedisCounters``), each one Lua
script, so one round trip and atomic whatever the number of processes.

Key layout (every key expires once it holds nothing a missing key does not):

    gw:limit:rate:{key}                   string  the key's TAT, µs of the server's clock
    gw:limit:{<kind>}:events              hash    key → events in its current window
    gw:limit:{<kind>}:opened              zset    key → when its window opened, ms

Why GCRA for rates: one integer per key (no list of timestamps as a sliding log keeps), no burst
of twice the limit at a window's edge (as fixed windows allow), an exact ``Retry-After``, and a
key that expires when its allowance is whole again. Fixed windows for logins, because that is
what ``gateway.legacy.counters.Counters`` promises (a lock lasts from a username's first failure).

Time is the Redis server's (``TIME``), one clock for every process whatever their machines; a
test may inject its own. A Redis that does not answer within ``timeout`` is ``Unavailable``, and
is not asked again for ``pause`` seconds (``Breaker``): calls are made on the event loop, which a
hung Redis would otherwise stall for every request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import cast

import redis

from gateway.errors import Unavailable, translate
from gateway.legacy.counters import Window
from gateway.limits.rates import Rate

log = logging.getLogger(__name__)

_PREFIX = "gw:limit:"

# The server's clock, or the caller's (ARGV now, for tests): µs for rates, ms for windows.
_NOW_US = """
local now
if ARGV[#ARGV] ~= '' then
  now = tonumber(ARGV[#ARGV])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

# GCRA. KEYS[1]: the key's TAT. ARGV: interval µs, tolerance µs, now µs or ''.
# Returns 0 (let through, the TAT moved one interval on) or the µs to wait (nothing changed).
_TAKE = (
    _NOW_US
    + """
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = stored and tonumber(stored) or now
if tat < now then
  tat = now
end
local later = tat + interval
local wait = later - tolerance - now
if wait > 0 then
  return wait
end
-- %d: a Lua number prints as %.14g, which would round a TAT of 16 digits.
redis.call('SET', KEYS[1], string.format('%d', later), 'PX', math.ceil((later - now) / 1000))
return 0
"""
)

# Fixed windows with at most ARGV[4] keys of a kind. KEYS: events hash, opened zset.
# ARGV: hit | peek | clear, key, window ms, max keys, now µs or ''.
# Returns {events, ms until the window ends} ({0, 0}: no window open).
_WINDOW = (
    _NOW_US
    + """
now = math.floor(now / 1000)
local op, key = ARGV[1], ARGV[2]
local window, max_keys = tonumber(ARGV[3]), tonumber(ARGV[4])
-- Ended windows leave a bounded batch per call; each call adds at most one key.
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window, 'LIMIT', 0, 64)) do
  redis.call('ZREM', KEYS[2], old)
  redis.call('HDEL', KEYS[1], old)
end
if op == 'clear' then
  redis.call('ZREM', KEYS[2], key)
  redis.call('HDEL', KEYS[1], key)
  return {0, 0}
end
local score = redis.call('ZSCORE', KEYS[2], key)
local opened = score and tonumber(score)
local events = 0
if opened and opened + window > now then
  events = tonumber(redis.call('HGET', KEYS[1], key) or '0')
else
  opened = nil
end
if op == 'hit' then
  if not opened then
    opened = now
    redis.call('ZADD', KEYS[2], now, key)
  end
  events = events + 1
  redis.call('HSET', KEYS[1], key, events)
  if redis.call('ZCARD', KEYS[2]) > max_keys then
    local oldest = redis.call('ZPOPMIN', KEYS[2])
    redis.call('HDEL', KEYS[1], oldest[1])
  end
  -- Every window of the kind ends within one window from now.
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('PEXPIRE', KEYS[2], window)
end
if events == 0 then
  return {0, 0}
end
return {events, opened + window - now}
"""
)


class Breaker:
    """Stops asking a Redis that failed, for ``pause`` seconds: calls then fail at once with
    ``Unavailable`` (its ``retry_after`` the rest of the pause). Shared by every limit on one
    client. Logs once when Redis goes and once when it is back."""

    def __init__(self, *, pause: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._pause = pause
        self._clock = clock
        self._until = 0.0  # no call before this (monotonic seconds)
        self._down = False
        self._lock = threading.Lock()

    @contextmanager
    def call(self, what: str) -> Iterator[None]:
        now = self._clock()
        if now < self._until:
            raise Unavailable(f"{what} is unavailable", retry_after=math.ceil(self._until - now))
        try:
            with translate(what):
                yield
        except Unavailable as error:
            with self._lock:
                self._until = self._clock() + self._pause
                error.retry_after = math.ceil(self._pause)
                if not self._down:
                    log.warning("%s: Redis does not answer; asked again in %g s", what, self._pause)
                self._down = True
            raise
        if self._down:
            with self._lock:
                self._down = False
            log.warning("%s: Redis answers again", what)


def _now_arg(clock: Callable[[], float] | None) -> str:
    """ARGV's now: the injected clock's µs, or '' for the server's ``TIME``."""
    return "" if clock is None else str(round(clock() * 1_000_000))


class RedisRates:
    """``RateLimiter`` in Redis, by GCRA (module docstring); keys expire as soon as their
    allowance is whole again, so there are never more than the keys used in the last period."""

    def __init__(
        self,
        client: redis.Redis,
        breaker: Breaker,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._take = client.register_script(_TAKE)
        self._breaker = breaker
        self._clock = clock

    def take(self, key: str, rate: Rate) -> float:
        args = (rate.interval_us, rate.burst_us, _now_arg(self._clock))
        with self._breaker.call("the rate limits"):
            wait = cast("int", self._take(keys=[f"{_PREFIX}rate:{key}"], args=args))
        return wait / 1_000_000


class RedisCounters:
    """``Counters`` (``gateway.legacy.counters``) of one ``kind`` in Redis, with the semantics of
    ``MemoryCounters``: a window per key, opened by its first event; at most ``max_keys`` keys,
    past which the key whose window opened first is forgotten."""

    def __init__(
        self,
        client: redis.Redis,
        breaker: Breaker,
        kind: str,
        window: timedelta,
        *,
        max_keys: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._script = client.register_script(_WINDOW)
        self._breaker = breaker
        tag = f"{_PREFIX}{{{kind}}}"  # one hash slot for both keys (Redis Cluster)
        self._keys = [f"{tag}:events", f"{tag}:opened"]
        self._window_ms = round(window.total_seconds() * 1000)
        self._max_keys = max_keys
        self._clock = clock

    def _run(self, op: str, key: str) -> Window:
        args = (op, key, self._window_ms, self._max_keys, _now_arg(self._clock))
        with self._breaker.call("the login limits"):
            events, left_ms = cast("list[int]", self._script(keys=self._keys, args=args))
        return Window(int(events), math.ceil(int(left_ms) / 1000))

    def hit(self, key: str) -> Window:
        return self._run("hit", key)

    def peek(self, key: str) -> Window:
        return self._run("peek", key)

    def clear(self, key: str) -> None:
        self._run("clear", key)
