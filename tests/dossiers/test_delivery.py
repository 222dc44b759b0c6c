"""The outbox delivery loop with the SQLite dossier store and the DVCQG simulator over HTTP: every
change delivered once and in order through a portal down, slow, failing and refusing; retries with
jittered exponential backoff; dead letters and re-drive; the kill switch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.portal.simulator import Fault
from gateway.dossiers.delivery import DeliveryPolicy, PassReport, deliver_due
from gateway.dossiers.ports import Delivery, Dossier, OutboxMessage
from gateway.store.sqlite_dossiers import SqliteDossierStore
from tests.conftest import free_port
from tests.support.dvcqg import SimulatedPortal, simulated_portal
from tests.support.portal_dossiers import T0, MovableClock, dossier, store_walk

PATH_CODES = ["1", "2", "4", "5", "4", "9", "10"]  # TrangThaiHoSo along the usual path
POLICY = DeliveryPolicy(attempts=20, base=1.0, cap=60.0)


def top(_: object = None) -> float:
    """The jitter's largest draw: a retry due at the very end of its window."""
    return 0.999999


@pytest.fixture
def sim() -> Iterator[SimulatedPortal]:
    with simulated_portal() as portal:
        yield portal


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0 + timedelta(hours=10))


def drain(
    store: SqliteDossierStore,
    sink: object,
    clock: MovableClock,
    *,
    policy: DeliveryPolicy = POLICY,
    passes: int = 100,
) -> list[PassReport]:
    """Passes until one handles nothing, each a full backoff window after the last."""
    reports = []
    for _ in range(passes):
        report = deliver_due(store, sink, clock=clock, policy=policy, rand=top)  # type: ignore[arg-type]
        reports.append(report)
        if not report.busy:
            return reports
        clock.advance(policy.cap)
    raise AssertionError("the outbox never drained")


def steps_of(sim: SimulatedPortal, d: Dossier) -> list[str]:
    return [s["TrangThai"] for s in sim.portal.received().steps if s["MaHoSo"] == d.ma_ho_so]


def test_every_change_is_delivered_once_and_in_order_through_every_fault(
    store: SqliteDossierStore, clock: MovableClock
) -> None:
    dossiers = [store_walk(store, dossier(n)) for n in (1, 2, 3)]
    with simulated_portal(port=free_port(), started=False) as sim:
        sink = sim.sink(timeout=0.2)
        # Down: nothing listens on the port yet.
        down = deliver_due(store, sink, clock=clock, policy=POLICY, rand=top)
        assert (down.delivered, down.retried) == (0, 3)
        sim.server.start()
        clock.advance(POLICY.cap)

        def next_pass(fault: Fault | None) -> PassReport:
            if fault is not None:
                sim.portal.inject(fault)
            report = deliver_due(store, sink, clock=clock, policy=POLICY, rand=top)
            clock.advance(POLICY.cap)
            return report

        # Back: each dossier's first message, then faults, each hitting the first calls.
        assert next_pass(None).delivered == 3
        # Slow: the step is kept, but its answer comes after the client gave up.
        slow = next_pass(Fault(kind="delay", delay=0.5, times=1, service="CapNhatTienDoHoSoMC"))
        assert (slow.delivered, slow.retried) == (2, 1)
        assert next_pass(Fault(kind="status", status=503, times=2)).retried == 2
        sim.portal.inject(Fault(kind="error_code", code="99", times=2))
        reports = drain(store, sink, clock)
        sink.close()
        assert sum(r.dead for r in reports) == 0
        for d in dossiers:
            assert sim.portal.received().statuses[d.ma_ho_so] == PATH_CODES
            assert steps_of(sim, d) == PATH_CODES
    assert store.due_messages(at=clock.now() + timedelta(days=1), limit=100) == []
    assert store.dead_letters() == []


class Refusing:
    """A portal that refuses every message (``retry``: whether it may change its mind)."""

    def __init__(self, *, retry: bool = True) -> None:
        self.seen: list[int] = []
        self.retry = retry

    def deliver(self, message: OutboxMessage, dossier: Dossier) -> Delivery:
        self.seen.append(message.seq)
        return Delivery(ok=False, error="error_code 99: Lỗi hệ thống", retry=self.retry)


def test_a_message_is_dead_after_the_budget_and_its_dossier_waits_until_redriven(
    store: SqliteDossierStore, sim: SimulatedPortal, clock: MovableClock
) -> None:
    d = store_walk(store, dossier())
    refusing = Refusing()
    policy = DeliveryPolicy(attempts=3, base=1.0, cap=60.0)
    reports = drain(store, refusing, clock, policy=policy)
    [dead] = store.dead_letters()
    assert refusing.seen == [dead.seq] * 3  # the dossier's later messages never went out
    assert (dead.attempts, dead.last_error) == (3, "error_code 99: Lỗi hệ thống")
    assert [r.dead for r in reports] == [0, 0, 1, 0]
    assert store.redrive(seq=dead.seq, at=clock.now()) == 1
    sink = sim.sink()
    drain(store, sink, clock, policy=policy)
    assert sim.portal.received().statuses[d.ma_ho_so] == PATH_CODES


def test_a_message_the_portal_refuses_for_good_is_dead_at_once(
    store: SqliteDossierStore, clock: MovableClock
) -> None:
    store_walk(store, dossier())
    report = deliver_due(store, Refusing(retry=False), clock=clock, policy=POLICY, rand=top)
    assert (report.dead, report.retried) == (1, 0)
    assert [m.attempts for m in store.dead_letters()] == [1]


def test_the_backoff_grows_exponentially_up_to_its_cap_with_full_jitter() -> None:
    policy = DeliveryPolicy(base=2.0, cap=100.0)
    assert [policy.backoff(n, lambda: 0.5).total_seconds() for n in range(1, 9)] == [
        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 50.0, 50.0,
    ]  # fmt: skip
    assert policy.backoff(3, lambda: 0.0) == timedelta(0)
    assert policy.backoff(10_000, lambda: 0.25) == timedelta(seconds=25)


def test_a_failed_message_is_due_again_after_its_jittered_backoff(
    store: SqliteDossierStore, clock: MovableClock
) -> None:
    store_walk(store, dossier())
    draws = iter([0.25, 0.75])
    policy = DeliveryPolicy(attempts=5, base=10.0, cap=1000.0)
    for attempts, expected in ((1, 2.5), (2, 15.0)):  # 0.25 * 10 s, then 0.75 * 20 s
        deliver_due(store, Refusing(), clock=clock, policy=policy, rand=lambda: next(draws))
        assert store.due_messages(at=clock.now(), limit=10) == []
        [message] = store.due_messages(at=clock.now() + timedelta(seconds=expected), limit=10)
        assert message.attempts == attempts
        clock.advance(expected)


def test_the_kill_switch_stops_delivery_until_resumed(
    store: SqliteDossierStore, sim: SimulatedPortal, clock: MovableClock
) -> None:
    d = store_walk(store, dossier())
    sink = sim.sink()
    store.pause_delivery(True)
    assert deliver_due(store, sink, clock=clock, policy=POLICY) == PassReport(paused=True)
    assert sim.portal.received().calls == {}
    store.pause_delivery(False)
    drain(store, sink, clock)
    assert sim.portal.received().statuses[d.ma_ho_so] == PATH_CODES


class Broken:
    def deliver(self, message: OutboxMessage, dossier: Dossier) -> Delivery:
        raise KeyError("state")


def test_a_sink_that_raises_is_a_failed_attempt_not_a_stopped_worker(
    store: SqliteDossierStore, clock: MovableClock
) -> None:
    store_walk(store, dossier(1))
    store_walk(store, dossier(2))
    report = deliver_due(store, Broken(), clock=clock, policy=POLICY, rand=top)
    assert report.retried == 2
    [first, _] = store.due_messages(at=clock.now() + timedelta(hours=1), limit=10)
    assert first.last_error == "KeyError: 'state'"
