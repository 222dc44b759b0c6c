"""Working days and due dates around Vietnam's public holidays.

The dates are those of the official arrangements:
- Labour Code 2019 (Law 45/2019/QH14), Article 112: New Year 1 day, lunar New Year 5 days,
  30/4 and 1/5 one day each, National Day 2/9 and one day before or after it (the government
  chooses), Hùng Kings' day (10/3 of the lunar calendar); a holiday that falls on the weekly rest
  is taken on the next working day.
- Tết 2026: the Ministry of Home Affairs' notice for civil servants, rest from Saturday 14/2/2026
  to Sunday 22/2/2026 ("Chính thức chốt phương án Tết Nguyên đán Bính Ngọ 2026 nghỉ 9 ngày",
  http://www.congan.com.vn/?catid=702&id=388656&mod=detnews): Monday 16 to Friday 20 are the
  five days off.
- 30/4–1/5 2025: rest from Wednesday 30/4 to Sunday 4/5, Friday 2/5 swapped with Saturday 26/4,
  which was worked (the government's swap, announced by the Ministry of Home Affairs in April
  2025); National Day 2025: Monday 1/9 and Tuesday 2/9.
- Tết 2027 (Đinh Mùi): the first day of the lunar year is Saturday 6/2/2027. Its arrangement is
  decided by the Prime Minister late in 2026; what the Labour Code fixes, five working days off
  around it (here Thursday 4/2, 29 Tết, to Wednesday 10/2, the weekend's holidays taken in lieu),
  is what these tests hold the package to.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.dossiers.calendar import VIETNAM, WorkingCalendar, vietnam_date


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


def at_vn(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    "day",
    [
        date(2027, 2, 4),  # 29 Tết
        date(2027, 2, 5),
        date(2027, 2, 8),
        date(2027, 2, 9),
        date(2027, 2, 10),
        date(2026, 2, 16),
        date(2026, 2, 20),
        date(2027, 4, 30),
        date(2027, 5, 3),  # 1/5 fell on a Saturday: Monday in lieu
        date(2027, 9, 2),
        date(2027, 9, 3),
        date(2025, 5, 2),  # swapped with Saturday 26/4/2025
        date(2025, 9, 1),
        date(2025, 9, 2),
    ],
)
def test_public_holidays_are_not_working_days(calendar: WorkingCalendar, day: date) -> None:
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2027, 2, 3),  # the Wednesday before Tết
        date(2027, 2, 11),  # the first day back
        date(2026, 2, 23),
        date(2027, 5, 4),
        date(2027, 9, 6),
        date(2025, 4, 26),  # a Saturday worked in exchange for Friday 2/5/2025
    ],
)
def test_ordinary_and_swapped_days_are_working_days(calendar: WorkingCalendar, day: date) -> None:
    assert calendar.is_working_day(day)


def test_weekends_are_not_working_days(calendar: WorkingCalendar) -> None:
    assert not calendar.is_working_day(date(2027, 3, 6))  # Saturday
    assert not calendar.is_working_day(date(2027, 3, 7))  # Sunday
    assert calendar.is_working_day(date(2027, 3, 8))


def test_the_day_after_reception_is_day_one(calendar: WorkingCalendar) -> None:
    # Received Monday 8/3/2027: Tuesday is day 1, so 5 working days end on Monday 15/3.
    assert calendar.due_date(at_vn(date(2027, 3, 8)), 1) == date(2027, 3, 9)
    assert calendar.due_date(at_vn(date(2027, 3, 8)), 5) == date(2027, 3, 15)


def test_no_time_limit_is_due_the_day_of_reception(calendar: WorkingCalendar) -> None:
    assert calendar.due_date(at_vn(date(2027, 3, 8)), 0) == date(2027, 3, 8)


def test_a_limit_across_tet_2027_skips_its_seven_days(calendar: WorkingCalendar) -> None:
    # Received Tuesday 2/2/2027: day 1 Wednesday 3/2, then Tết from Thursday 4/2 to Wednesday
    # 10/2; day 2 is Thursday 11/2, day 5 Tuesday 16/2.
    received = at_vn(date(2027, 2, 2))
    assert calendar.due_date(received, 1) == date(2027, 2, 3)
    assert calendar.due_date(received, 2) == date(2027, 2, 11)
    assert calendar.due_date(received, 5) == date(2027, 2, 16)


def test_a_dossier_received_during_tet_counts_from_the_first_day_back(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.due_date(at_vn(date(2027, 2, 6)), 1) == date(2027, 2, 11)


def test_a_limit_across_reunification_and_labour_day_2027(calendar: WorkingCalendar) -> None:
    # Received Thursday 29/4/2027: Friday 30/4 and Monday 3/5 (1/5 in lieu) are off.
    assert calendar.due_date(at_vn(date(2027, 4, 29)), 1) == date(2027, 5, 4)
    assert calendar.due_date(at_vn(date(2027, 4, 29)), 3) == date(2027, 5, 6)


def test_a_limit_across_national_day_2027(calendar: WorkingCalendar) -> None:
    # Received Wednesday 1/9/2027: Thursday 2/9 and Friday 3/9 are off.
    assert calendar.due_date(at_vn(date(2027, 9, 1)), 1) == date(2027, 9, 6)


def test_the_working_saturday_of_2025_counts(calendar: WorkingCalendar) -> None:
    # Received Friday 25/4/2025: Saturday 26/4 was worked, then 30/4 to 4/5 were off.
    assert calendar.due_date(at_vn(date(2025, 4, 25)), 1) == date(2025, 4, 26)
    assert calendar.due_date(at_vn(date(2025, 4, 25)), 2) == date(2025, 4, 28)
    assert calendar.due_date(at_vn(date(2025, 4, 25)), 4) == date(2025, 5, 5)


def test_reception_is_dated_in_vietnam_time(calendar: WorkingCalendar) -> None:
    # 18:30 UTC on Friday 5/3/2027 is already Saturday 6/3 in Vietnam.
    received = datetime(2027, 3, 5, 18, 30, tzinfo=UTC)
    assert vietnam_date(received) == date(2027, 3, 6)
    assert calendar.due_date(received, 1) == date(2027, 3, 8)
    # 16:59 UTC is still Friday 23:59 there: Monday is day 1 too, so day 2 is Tuesday.
    assert calendar.due_date(datetime(2027, 3, 5, 16, 59, tzinfo=UTC), 2) == date(2027, 3, 9)


def test_a_negative_limit_is_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="at least 0"):
        calendar.add_working_days(date(2027, 3, 8), -1)
