"""The limit on failed legacy logins per username, kept in this process's memory."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from datetime import timedelta

from gateway.errors import RateLimited


class AttemptLimiter:
    """At most ``max_failures`` failed logins per username within ``window``, in memory.

    Usernames that match no partner are counted too, so that being refused says nothing about
    whether an account exists. At most ``max_tracked`` usernames are remembered: the one whose
    last failure is oldest is forgotten first."""

    def __init__(
        self,
        *,
        max_failures: int = 10,
        window: timedelta = timedelta(minutes=5),
        max_tracked: int = 10_000,
    ) -> None:
        self._max = max_failures
        self._window = window.total_seconds()
        self._max_tracked = max_tracked
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, username: str) -> None:
        """Raise ``RateLimited`` while ``username`` has too many recent failures."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(username)
            while failures and failures[0] <= now - self._window:
                failures.popleft()
            if failures is not None and len(failures) >= self._max:
                retry_after = max(1, int(failures[0] + self._window - now) + 1)
                raise RateLimited(
                    "too many failed logins for this username", retry_after=retry_after
                )

    def failed(self, username: str) -> None:
        with self._lock:
            failures = self._failures.pop(username, None) or deque(maxlen=self._max)
            failures.append(time.monotonic())
            self._failures[username] = failures
            while len(self._failures) > self._max_tracked:
                self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)
