"""The lookup cache in memory and in Redis alike: an answer kept under its key for the TTL, then
gone; in memory, the least recently used forgotten past the bound; Redis down, every lookup a
miss and nothing raised."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.errors import Unavailable
from gateway.limits.redis import Breaker
from gateway.sirecords.cache import AnswerCache, MemoryCache, cache_key
from gateway.sirecords.redis_cache import PREFIX, RedisCache
from gateway.store.redis import connect
from tests.legacy.conftest import Ticks

KEY = cache_key("a" * 64, 3)


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> Iterator[AnswerCache]:
    if request.param == "memory":
        yield MemoryCache(max_entries=100, ttl=60)
        return
    made = RedisCache(connect(request.getfixturevalue("redis_url")), Breaker(), ttl=60)
    yield made
    made.close()


def test_an_answer_is_kept_under_its_key_and_version(cache: AnswerCache) -> None:
    assert cache.get(KEY) is None
    cache.put(KEY, b'{"si_number":"0190012345"}')

    assert cache.get(KEY) == b'{"si_number":"0190012345"}'
    assert cache.get(cache_key("a" * 64, 4)) is None  # the next version is another entry
    assert cache.get(cache_key("b" * 64, 3)) is None


def test_in_memory_an_answer_expires_after_the_ttl() -> None:
    ticks = Ticks()
    cache = MemoryCache(max_entries=10, ttl=60, clock=ticks)
    cache.put(KEY, b"{}")
    ticks.now += 59.9
    assert cache.get(KEY) == b"{}"
    ticks.now += 0.1
    assert cache.get(KEY) is None


def test_in_redis_an_answer_expires_after_the_ttl(redis_url: str) -> None:
    client = connect(redis_url)
    cache = RedisCache(client, Breaker(), ttl=60)
    cache.put(KEY, b"{}")

    assert 59_000 < client.pttl(PREFIX + KEY) <= 60_000
    cache.close()


def test_in_memory_the_least_recently_used_is_forgotten_past_the_bound() -> None:
    cache = MemoryCache(max_entries=2, ttl=60)
    cache.put("a:1", b"a")
    cache.put("b:1", b"b")
    assert cache.get("a:1") == b"a"  # "b" is now the least recently used
    cache.put("c:1", b"c")

    assert (cache.get("a:1"), cache.get("b:1"), cache.get("c:1")) == (b"a", None, b"c")


def test_redis_down_is_a_miss_and_not_asked_again_for_a_pause() -> None:
    ticks = Ticks()
    client = connect("redis://127.0.0.1:1/0", timeout=0.25)  # nothing listens on port 1
    breaker = Breaker(pause=5, clock=ticks)
    cache = RedisCache(client, breaker, ttl=60)

    cache.put(KEY, b"{}")  # lost, not raised
    ticks.now += 2
    assert cache.get(KEY) is None
    with pytest.raises(Unavailable) as paused, breaker.call("the lookup cache"):
        pass
    # Within the pause the breaker refuses at once: no Redis exception behind it.
    assert (paused.value.retry_after, paused.value.__cause__) == (3, None)
    cache.close()
