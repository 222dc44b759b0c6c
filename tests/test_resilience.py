"""The circuit breaker's states on an injected clock, and the guard's retries by failure kind."""

from __future__ import annotations

import pytest

from gateway.errors import Unavailable
from gateway.resilience import CircuitBreaker, Guard, GuardPolicy, Refused, Transient


def test_the_breaker_lets_one_probe_through_after_its_cool_down() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cool_down=10, clock=lambda: now[0])
    for _ in range(2):
        breaker.failed()
    assert breaker.admit() is None  # two failures in a row: still closed
    breaker.failed()
    assert breaker.state == "open"
    assert breaker.admit() == 10
    now[0] = 10
    assert breaker.state == "half-open"
    assert breaker.admit() is None  # the probe
    assert breaker.admit() == 10  # the others wait for its outcome
    breaker.failed()
    assert (breaker.state, breaker.remaining()) == ("open", 10)
    now[0] = 20
    assert breaker.admit() is None
    breaker.succeeded()
    assert (breaker.state, breaker.admit()) == ("closed", None)


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = CircuitBreaker(failures=2, cool_down=10, clock=lambda: 0.0)
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state == "closed"


@pytest.mark.parametrize(("failure", "tries"), [(Transient("x"), 3), (Refused("x"), 1)])
def test_only_transient_failures_are_retried(failure: Exception, tries: int) -> None:
    attempts: list[int] = []

    def attempt() -> None:
        attempts.append(1)
        raise failure

    guard = Guard(GuardPolicy(retries=2, failures=10), sleep=lambda _: None)
    with pytest.raises(Unavailable) as caught:
        guard.call("the partner", attempt)
    assert caught.value.__cause__ is failure
    assert len(attempts) == tries


def test_a_bug_in_a_probe_does_not_hold_the_breaker_half_open() -> None:
    now = [0.0]
    guard = Guard(GuardPolicy(retries=0, failures=1, cool_down=5), clock=lambda: now[0])
    with pytest.raises(Unavailable):
        guard.call("the partner", lambda: (_ for _ in ()).throw(Transient("down")))
    now[0] = 5
    with pytest.raises(ZeroDivisionError):
        guard.call("the partner", lambda: 1 / 0)
    now[0] = 10
    assert guard.call("the partner", lambda: "up") == "up"
