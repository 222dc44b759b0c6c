"""Reminders of supplements past their deadline: when they start (Vietnam's date), how often, and
what the portal receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.dossiers.delivery import deliver_due
from gateway.dossiers.lifecycle import State
from gateway.dossiers.reminders import remind_overdue
from gateway.store.sqlite_dossiers import SqliteDossierStore
from tests.support.dvcqg import simulated_portal
from tests.support.portal_dossiers import PATH, MovableClock, dossier, store_walk

DAY = timedelta(days=1)
# The supplements are due on 11 March 2026 (Vietnam): the whole of that day is the applicant's.
LAST_MINUTE = datetime(2026, 3, 11, 16, 59, tzinfo=UTC)  # 23:59 in Hanoi
NEXT_DAY = datetime(2026, 3, 11, 17, 0, tzinfo=UTC)  # 00:00 on 12 March in Hanoi


def waiting(store: SqliteDossierStore, n: int = 1) -> None:
    """A dossier moved up to its supplement request."""
    d = store_walk(store, dossier(n), PATH[:3])
    assert d.state is State.SUPPLEMENT_REQUESTED


def test_a_dossier_is_reminded_once_its_supplement_deadline_is_past_in_vietnam(
    store: SqliteDossierStore,
) -> None:
    waiting(store)
    assert remind_overdue(store, clock=MovableClock(LAST_MINUTE), interval=DAY) == 0
    assert remind_overdue(store, clock=MovableClock(NEXT_DAY), interval=DAY) == 1


def test_a_dossier_is_reminded_again_only_after_the_interval(store: SqliteDossierStore) -> None:
    waiting(store)
    clock = MovableClock(NEXT_DAY)
    assert remind_overdue(store, clock=clock, interval=DAY) == 1
    clock.advance(DAY.total_seconds())
    assert remind_overdue(store, clock=clock, interval=DAY) == 0
    clock.advance(1)
    assert remind_overdue(store, clock=clock, interval=DAY) == 1


def test_a_dossier_whose_supplements_arrived_is_not_reminded(store: SqliteDossierStore) -> None:
    store_walk(store, dossier(1), PATH[:4])  # back to processing
    assert remind_overdue(store, clock=MovableClock(NEXT_DAY + DAY), interval=DAY) == 0


def test_the_portal_receives_the_reminder_as_a_progress_step(store: SqliteDossierStore) -> None:
    waiting(store)
    clock = MovableClock(NEXT_DAY)
    with simulated_portal() as sim:
        sink = sim.sink()
        assert deliver_due(store, sink, clock=clock).delivered > 0
        while deliver_due(store, sink, clock=clock).busy:
            pass
        before = len(sim.portal.received().steps)
        remind_overdue(store, clock=clock, interval=DAY)
        assert deliver_due(store, sink, clock=clock).delivered == 1
        steps = sim.portal.received().steps
    assert len(steps) == before + 1
    assert steps[-1]["TrangThai"] == "5"
    assert steps[-1]["ThoiDiemXuLy"] == "20260312000000"
    assert steps[-1]["NoiDungXuLy"] == (
        "Nhắc bổ sung giấy tờ đã quá hạn: Bản chụp CCCD hai mặt (hạn bổ sung 11/03/2026)"
    )
    assert steps[-1]["NguoiXuLy"] == "gateway"
