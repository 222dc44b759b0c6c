"""Counters, in memory and in Redis alike: fixed windows per key, opened by a key's first event,
and a bounded table."""

from __future__ import annotations

from datetime import timedelta

from gateway.legacy.counters import Window
from tests.legacy.conftest import MakeCounters, Ticks


def test_a_window_counts_from_its_first_event_until_it_ends(make_counters: MakeCounters) -> None:
    ticks = Ticks()
    counters = make_counters("test", timedelta(seconds=60), max_keys=10, clock=ticks)
    assert counters.peek("a") == Window(0, 0)
    assert counters.hit("a") == Window(1, 60)
    ticks.now += 59.5
    assert counters.hit("a") == Window(2, 1)
    assert counters.peek("b") == Window(0, 0)
    ticks.now += 0.5
    assert counters.peek("a") == Window(0, 0)
    assert counters.hit("a") == Window(1, 60)


def test_clear_forgets_a_key(make_counters: MakeCounters) -> None:
    counters = make_counters("test", timedelta(seconds=60), max_keys=10, clock=Ticks())
    counters.hit("a")
    counters.clear("a")
    counters.clear("never-seen")
    assert counters.peek("a") == Window(0, 0)


def test_past_max_keys_the_oldest_window_is_forgotten(make_counters: MakeCounters) -> None:
    ticks = Ticks()
    counters = make_counters("test", timedelta(seconds=60), max_keys=3, clock=ticks)
    for key in "abc":
        counters.hit(key)
        ticks.now += 1
    counters.hit("a")  # a later event does not make an old window new
    counters.hit("d")
    assert [counters.peek(key).events for key in "abcd"] == [0, 1, 1, 1]
