"""Rates: parsing, and GCRA in memory and in Redis alike (a burst of the count, then one request
per interval, the wait until the next one exact); Redis keys that expire."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from gateway.errors import Unavailable
from gateway.limits.rates import MemoryRates, Rate, RateLimiter
from gateway.limits.redis import Breaker, RedisRates
from gateway.store.redis import connect
from tests.legacy.conftest import Ticks

MakeRates = Callable[[Ticks], RateLimiter]


@pytest.fixture(params=["memory", "redis"])
def make_rates(request: pytest.FixtureRequest) -> Iterator[MakeRates]:
    """``make_rates(ticks)``: rates in this process's memory, or in the machine's Redis (db 15)
    on the test's clock."""
    if request.param == "memory":
        yield lambda ticks: MemoryRates(max_keys=100, clock=ticks)
        return
    client = connect(request.getfixturevalue("redis_url"))
    yield lambda ticks: RedisRates(client, Breaker(), clock=ticks)
    client.close()


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [("100/s", 100, 1.0), ("6000/min", 6000, 60.0), (" 20 / h ", 20, 3600.0)],
)
def test_a_rate_is_a_count_per_second_minute_or_hour(text: str, count: int, period: float) -> None:
    assert Rate.parse(text) == Rate(count, period)


@pytest.mark.parametrize(
    "text", ["0/s", "100", "100/d", "-1/s", "1.5/s", "2000000/s", "", "１００/s"]
)
def test_what_is_not_a_rate_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a rate"):
        Rate.parse(text)


def test_a_burst_of_the_count_then_one_per_interval(make_rates: MakeRates) -> None:
    ticks = Ticks()
    rates, rate = make_rates(ticks), Rate.parse("3/min")
    assert [rates.take("a", rate) for _ in range(3)] == [0, 0, 0]
    assert rates.take("a", rate) == 20  # the next request is due in one interval
    assert rates.take("b", rate) == 0  # keys are counted apart
    ticks.now += 15
    assert rates.take("a", rate) == 5  # a refused request took nothing
    ticks.now += 5
    assert rates.take("a", rate) == 0
    assert rates.take("a", rate) == 20
    ticks.now += 60  # idle a whole period: the whole burst again
    assert [rates.take("a", rate) for _ in range(4)] == [0, 0, 0, 20]


def test_a_high_rate_lets_its_whole_count_through_at_once(make_rates: MakeRates) -> None:
    rates, rate = make_rates(Ticks()), Rate.parse("1000/s")
    assert sum(rates.take("a", rate) == 0 for _ in range(1001)) == 1000


def test_a_redis_key_expires_once_its_allowance_is_whole_again(redis_url: str) -> None:
    client = connect(redis_url)
    rates = RedisRates(client, Breaker())  # the server's clock
    rates.take("partner:p", Rate.parse("3/min"))
    rates.take("partner:p", Rate.parse("3/min"))
    assert client.keys("*") == [b"gw:limit:rate:partner:p"]
    assert 20_000 < client.pttl("gw:limit:rate:partner:p") <= 40_000  # two intervals taken
    client.close()


def test_the_memory_table_forgets_the_least_recently_used_key() -> None:
    ticks = Ticks()
    rates, rate = MemoryRates(max_keys=2, clock=ticks), Rate.parse("1/h")
    for key in "aba":  # "a" is refused the second time, and used all the same
        rates.take(key, rate)
    rates.take("c", rate)  # "b" goes: its next request is a fresh allowance
    assert rates.take("a", rate) > 0
    assert rates.take("b", rate) == 0


def test_redis_down_is_unavailable_and_not_asked_again_for_a_pause() -> None:
    ticks = Ticks()
    client = connect("redis://127.0.0.1:1/0", timeout=0.25)  # nothing listens on port 1
    rates = RedisRates(client, Breaker(pause=5, clock=ticks))
    with pytest.raises(Unavailable) as first:
        rates.take("a", Rate.parse("3/min"))
    assert first.value.retry_after == 5
    assert isinstance(first.value.__cause__, redis.exceptions.ConnectionError)
    ticks.now += 2
    with pytest.raises(Unavailable) as second:
        rates.take("a", Rate.parse("3/min"))
    # Not asked again within the pause: no Redis exception behind it.
    assert (second.value.retry_after, second.value.__cause__) == (3, None)
    client.close()
