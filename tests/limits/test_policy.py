"""RateLimits: a partner file's rate over the default, citizens counted per partner under a keyed
hash (no ID in Redis), what a Redis outage does to each limit, and what startup says."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.bootstrap import build
from gateway.config import Settings
from gateway.errors import ConfigError, RateLimited, Unavailable
from gateway.limits.policy import FailingOver, RateLimits
from gateway.limits.rates import MemoryRates, Rate, RateLimiter
from gateway.limits.redis import Breaker, RedisRates
from gateway.partners import Partner, PartnerRegistry
from gateway.store.redis import connect

CITIZEN = "079123456789"
HOSPITAL = Partner(id="hospital-01929", kind="hospital", name="H", services=frozenset())
VNEID = Partner(id="vneid", kind="vneid", name="V", services=frozenset(), rate_limit="2/min")


def limits(partners: RateLimiter, citizens: RateLimiter) -> RateLimits:
    return RateLimits(
        partners=partners,
        citizens=citizens,
        partner_rate=Rate.parse("3/min"),
        citizen_rate=Rate.parse("2/min"),
        key=b"k" * 32,
    )


def allowed(check: Callable[..., None], *args: object, times: int) -> int:
    """How many of ``times`` calls of ``check(*args)`` pass before one is ``RateLimited``."""
    for n in range(times):
        try:
            check(*args)
        except RateLimited as refused:
            assert refused.retry_after >= 1
            return n
    return times


def test_a_partner_files_rate_limit_is_its_own_else_the_default() -> None:
    local = MemoryRates(max_keys=10)
    rates = limits(local, local)
    assert allowed(rates.partner, HOSPITAL, times=5) == 3
    assert allowed(rates.partner, VNEID, times=5) == 2


def test_a_rate_limit_that_is_not_a_rate_stops_startup(tmp_path: Path) -> None:
    path = tmp_path / "partners.toml"
    path.write_text(
        '[[partners]]\nid = "p"\nkind = "vneid"\nname = "V"\nservices = []\nrate_limit = "lots"\n'
    )
    with pytest.raises(ConfigError, match="is not a rate"):
        PartnerRegistry.from_file(path)


def test_citizens_are_counted_per_partner_under_a_keyed_hash(redis_url: str) -> None:
    client = connect(redis_url)
    rates = limits(MemoryRates(max_keys=10), RedisRates(client, Breaker()))
    assert allowed(rates.citizen, HOSPITAL, CITIZEN, times=3) == 2
    assert allowed(rates.citizen, VNEID, CITIZEN, times=3) == 2  # not used up by the hospital
    keys = sorted(client.keys("*"))
    assert [
        re.fullmatch(rb"gw:limit:rate:citizen:[0-9a-f]{64}", key) is not None for key in keys
    ] == [True, True]
    stored = b" ".join(keys + [client.get(key) or b"" for key in keys])
    assert CITIZEN.encode() not in stored
    client.close()


def test_redis_down_partners_fail_over_and_citizens_fail_closed() -> None:
    client = connect("redis://127.0.0.1:1/0", timeout=0.25)  # nothing listens on port 1
    shared = RedisRates(client, Breaker())
    rates = limits(FailingOver(shared, MemoryRates(max_keys=10)), shared)
    assert allowed(rates.partner, HOSPITAL, times=5) == 3  # this process's count, still a limit
    with pytest.raises(Unavailable) as refused:
        rates.citizen(HOSPITAL, CITIZEN)
    assert refused.value.retry_after == 5
    client.close()


@pytest.mark.parametrize("shared", [False, True])
def test_startup_says_where_the_limits_are_counted(
    settings: Settings, redis_url: str, shared: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.bootstrap")
    gateway = build(settings.model_copy(update={"redis_url": redis_url if shared else None}))
    gateway.close()
    assert gateway.limits.shared is shared
    said = "shared through GATEWAY_REDIS_URL" if shared else "GATEWAY_REDIS_URL is not set"
    assert said in caplog.text
