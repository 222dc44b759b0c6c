"""LoginLimiter: limits per source address and in total, the lockout per username and source
address, and the start of each refusal audited once per window."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.audit import Action, Auditor, Result
from gateway.audit.sqlite import SqliteAuditLog
from gateway.errors import RateLimited
from gateway.identity.pseudonyms import Pseudonyms
from gateway.legacy import LoginLimiter, LoginLimits
from tests.legacy.conftest import MakeCounters, Ticks

Limiter = Callable[..., LoginLimiter]
AT = datetime(2026, 10, 5, 1, 2, 3, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return AT


@pytest.fixture
def auditor(tmp_path: Path) -> Iterator[Auditor]:
    log = SqliteAuditLog(tmp_path / "audit.sqlite3")
    yield Auditor(log, FixedClock(), pseudonyms=Pseudonyms(b"k" * 32))
    log.close()


@pytest.fixture
def limiter(auditor: Auditor, make_counters: MakeCounters) -> Callable[..., LoginLimiter]:
    """``limiter(ticks, **limits)``: the login limits over counters in memory, then in Redis."""

    def make(ticks: Ticks, **limits: Any) -> LoginLimiter:
        chosen = LoginLimits(**limits)
        return LoginLimiter.counted(
            chosen,
            auditor,
            lambda kind, window: make_counters(kind, window, max_keys=chosen.tracked, clock=ticks),
        )

    return make


def events(auditor: Auditor) -> list[tuple[str, str, str]]:
    entries = [entry.event() for entry in auditor.log.entries(limit=100)]
    return [(e.partner, e.action, e.target) for e in entries if e.result == Result.DENIED]


def test_a_source_over_its_limit_is_refused_until_its_window_ends(
    auditor: Auditor, limiter: Limiter
) -> None:
    ticks = Ticks()
    limits = limiter(ticks, per_source=2)
    limits.admit("a", "198.51.100.7")
    limits.admit("b", "198.51.100.7")
    ticks.now += 30
    for _ in range(3):
        with pytest.raises(RateLimited) as refused:
            limits.admit("c", "198.51.100.7")
        assert refused.value.retry_after == 30
    limits.admit("c", "198.51.100.8")
    ticks.now += 30
    limits.admit("c", "198.51.100.7")
    assert events(auditor) == [("-", Action.LOGIN_LIMITED, "login:*@198.51.100.7")]


def test_the_total_is_audited_once_per_window_it_is_reached(
    auditor: Auditor, limiter: Limiter
) -> None:
    ticks = Ticks()
    limits = limiter(ticks, total=2)
    for _ in range(2):
        for n in range(4):
            try:
                limits.admit("x", f"198.51.100.{n}")
            except RateLimited:
                assert n >= 2
        ticks.now += 60
    assert events(auditor) == [("-", Action.LOGIN_LIMITED, "login:*@*")] * 2


def test_a_known_source_is_held_to_its_own_limit_only(auditor: Auditor, limiter: Limiter) -> None:
    limits = limiter(Ticks(), total=2)
    limits.succeeded(limits.admit("01929_BV", "192.0.2.10"))  # counted: not known yet
    limits.admit("x", "198.51.100.1")
    with pytest.raises(RateLimited):
        limits.admit("x", "198.51.100.2")
    for _ in range(5):
        limits.admit("01929_BV", "192.0.2.10")


def test_failures_lock_a_username_from_one_source_and_a_success_clears_them(
    auditor: Auditor, limiter: Limiter
) -> None:
    ticks = Ticks()
    limits = limiter(ticks, failures=3)
    limits.failed(limits.admit("01929_BV", "198.51.100.7"))
    limits.succeeded(limits.admit("01929_BV", "198.51.100.7"))
    for _ in range(4):
        try:
            limits.failed(limits.admit("01929_BV", "198.51.100.7"))
        except RateLimited as refused:
            assert refused.retry_after == 300
    limits.admit("01929_BV", "192.0.2.10")
    limits.admit("other", "198.51.100.7")
    ticks.now += 300
    limits.admit("01929_BV", "198.51.100.7")
    assert events(auditor) == [("-", Action.LOGIN_LOCKED, "login:01929_BV@198.51.100.7")]


def test_a_long_username_is_cut_and_identifiers_in_it_masked(
    auditor: Auditor, limiter: Limiter
) -> None:
    limits = limiter(Ticks(), failures=1)
    limits.failed(limits.admit("079123456789-" + "x" * 200, "2001:db8:1:2::5"))
    (event,) = events(auditor)
    assert event[2] == f"login:*********789-{'x' * 37}@2001:db8:1:2::/64"


def test_limits_that_a_flood_could_push_out_of_memory_are_refused() -> None:
    with pytest.raises(ValueError, match="legacy_login_tracked"):
        LoginLimits(total=600, lockout=timedelta(minutes=5), tracked=2_999)
