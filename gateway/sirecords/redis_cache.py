"""The lookup cache in ``GATEWAY_REDIS_URL``'s Redis, shared by every gateway process:

    gw:sirecord:{pseudonym}:{version}    string  the serialized answer, expiring after the TTL

A hit is one GET. Redis down is a miss (the answer comes from the store) and, through the
``Breaker``, Redis is not asked again for a few seconds, so that lookups do not each wait for
its timeout."""

from __future__ import annotations

from typing import cast

import redis

from gateway.errors import Unavailable
from gateway.limits.redis import Breaker

PREFIX = "gw:sirecord:"


class RedisCache:
    """``AnswerCache`` in Redis, each answer for ``ttl`` seconds."""

    def __init__(self, client: redis.Redis, breaker: Breaker, *, ttl: float) -> None:
        self._redis = client
        self._breaker = breaker
        self._ttl_ms = max(1, round(ttl * 1000))

    def get(self, key: str) -> bytes | None:
        try:
            with self._breaker.call("the lookup cache"):
                return cast("bytes | None", self._redis.get(PREFIX + key))
        except Unavailable:
            return None

    def put(self, key: str, answer: bytes) -> None:
        try:
            with self._breaker.call("the lookup cache"):
                self._redis.set(PREFIX + key, answer, px=self._ttl_ms)
        except Unavailable:
            return

    def close(self) -> None:
        self._redis.close()
