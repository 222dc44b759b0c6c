"""The monthly partitions of the PostgreSQL stores' large tables: the month a row belongs to (the
time in its ULID id) and making a month's partitions before its first row is written
(``gw_month_partitions``: every table named in ``gw_partitioned``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from ulid import ULID

from gateway.store.pg_database import Connection

MONTHS_AHEAD = 3  # partitions made when a store opens: this month and the next two


def received_at(ulid: str) -> datetime | None:
    """The reception time a row is partitioned on: the time in its ULID id (None: not a ULID,
    which no stored row has)."""
    try:
        return ULID.from_str(ulid).datetime
    except ValueError:
        return None


def time_of(ulid: str) -> datetime:
    """``received_at`` of an id about to be written, which must be a ULID."""
    at = received_at(ulid)
    if at is None:
        raise ValueError(f"id {ulid!r} is not a ULID: rows are partitioned on its time")
    return at


def _month(at: datetime) -> tuple[int, int]:
    at = at.astimezone(UTC)
    return at.year, at.month


class MonthPartitions:
    """The months whose partitions this process knows exist. Another process may have made a
    month this one has not seen: the function leaves existing partitions alone."""

    def __init__(self, connection: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._connection = connection
        self._months: set[tuple[int, int]] = set()
        self._lock = threading.Lock()

    def make(self, first: datetime, months: int) -> None:
        """The partitions of the month of ``first`` and of the ``months - 1`` after it."""
        with self._connection() as conn:
            conn.execute("SELECT gw_month_partitions(%s, %s)", (first, months))
        day = first.astimezone(UTC)
        with self._lock:
            for _ in range(months):
                self._months.add(_month(day))
                day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)

    def ensure(self, *times: datetime) -> None:
        """The partitions of the months of ``times``, made if this process has not seen them."""
        for at in times:
            if _month(at) not in self._months:
                self.make(at, 1)
