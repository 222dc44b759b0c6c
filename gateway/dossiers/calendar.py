"""Vietnam's working days, and the due date (``NgayHenTra``) of a time limit counted in them.

Public holidays come from the maintained ``holidays`` package (``country_holidays("VN")``): the
Labour Code's holidays, lunar New Year (Tết) included, their days off in lieu, and the Saturdays
that the government's yearly arrangement makes working days (``weekend_workdays``). Nothing here
is a hand-written list of dates.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

# Dates of dossiers are Vietnam calendar dates (UTC+07:00, no daylight saving).
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def vietnam_date(at: datetime) -> date:
    """The calendar date in Vietnam at instant ``at`` (timezone-aware)."""
    return at.astimezone(VIETNAM).date()


class WorkingCalendar:
    """Monday to Friday, less Vietnam's public holidays and their days off in lieu, plus the
    Saturdays worked in exchange for a bridge day."""

    def __init__(self) -> None:
        self._holidays = holidays.country_holidays("VN")
        # The package fills a year's holidays on its first lookup in that year: one at a time.
        self._lock = threading.Lock()

    def is_working_day(self, day: date) -> bool:
        with self._lock:
            return bool(self._holidays.is_working_day(day))

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself is not counted);
        ``start`` when ``count`` is 0."""
        if count < 0:
            raise ValueError("a time limit is a number of working days, at least 0")
        day = start
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def due_date(self, received_at: datetime, working_days: int) -> date:
        """The due date of a dossier received at ``received_at`` with a time limit of
        ``working_days``, in Vietnam time.

        The day of reception is not counted: the day after it is day 1 (Civil Code 2015,
        Article 147: a period in days starts on the day after the event that starts it), and
        only working days count, so a dossier received on a Friday or a Saturday has the next
        Monday (a working day) as its day 1. The due date is always a working day."""
        return self.add_working_days(vietnam_date(received_at), working_days)
