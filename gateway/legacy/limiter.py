"""The limits on legacy logins (``gateway.legacy``): attempts per source address and in total,
checked before any password hashing, and failed logins per username and source address."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gateway.audit import Action, Auditor, login_target
from gateway.errors import RateLimited
from gateway.legacy.counters import Counters, MemoryCounters
from gateway.sources import source_key

_TOTAL = "*"  # the one key of the total count


@dataclass(frozen=True)
class LoginLimits:
    """How many legacy logins reach the password check (GATEWAY_LEGACY_LOGIN_* settings).

    Attempts are counted when they are let through, whether they then succeed or fail: the cost
    to bound is the scrypt check (16 MiB, some 50 ms), which every attempt pays whatever its
    outcome, and only a count taken before it bounds a burst of concurrent attempts (a count of
    failures hears of each one only after its scrypt). A hospital needs one login per token, an
    hour, so the limits leave it plenty. A source address from which a login succeeded within
    ``known_for`` is held to its own limit only, not to the total, so that a flood from
    elsewhere cannot keep the hospitals already using the gateway from taking their next token.
    """

    per_source: int = 60  # attempts per source address (an IPv6 /64) per window
    total: int = 600  # attempts per window from every address but known ones: ~ half a core
    window: timedelta = timedelta(minutes=1)
    failures: int = 10  # failed logins per username and source address that lock them ...
    lockout: timedelta = timedelta(minutes=5)  # ... until this long after the first of them
    tracked: int = 10_000  # keys of each kind held in memory
    known_for: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        # Each new failure key takes an attempt of the total: keys enough for every attempt of
        # a lockout's span, and a flood cannot push a lock out of memory before it ends.
        if self.tracked < self.total * (self.lockout / self.window):
            raise ValueError(
                f"legacy_login_tracked must be at least legacy_login_total x the lockout in "
                f"minutes ({self.total * (self.lockout / self.window):.0f})"
            )


@dataclass(frozen=True)
class Admission:
    """A login attempt the limits let through to the password check: only ``admit`` makes one,
    and ``LegacyLogin.login`` checks no password without one."""

    username: str
    address: str | None
    source: str  # the address as the limits count it (``source_key``)


class LoginLimiter:
    """The limits of ``LoginLimits`` over ``Counters``: in this process's memory, or in Redis
    (``gateway.limits.redis.RedisCounters``), shared by every gateway process.

    Invariant: ``admit`` refuses with ``RateLimited`` (and its ``retry_after``), before any
    password work, an attempt whose username is locked from its source address, whose source
    address is over its limit, or that is over the total while its source is not known; each
    such refusal's start is written to the audit log once per window, never each attempt. That
    append runs where ``admit`` does, on the event loop, as small documents' store writes do: at
    most once per source address and window, and only once the address has sent more than its
    limit."""

    def __init__(
        self,
        limits: LoginLimits,
        auditor: Auditor,
        *,
        sources: Counters,
        total: Counters,
        failures: Counters,
        known: Counters,
    ) -> None:
        self._limits = limits
        self._auditor = auditor
        self._sources, self._total = sources, total
        self._failures, self._known = failures, known

    @classmethod
    def counted(
        cls, limits: LoginLimits, auditor: Auditor, counters: Callable[[str, timedelta], Counters]
    ) -> LoginLimiter:
        """Limits over ``counters(kind, window)``, each kind in a table of its own holding at
        most ``limits.tracked`` keys, so that a flood of new source addresses cannot push a lock
        or the total out."""
        return cls(
            limits,
            auditor,
            sources=counters("sources", limits.window),
            total=counters("total", limits.window),
            failures=counters("failures", limits.lockout),
            known=counters("known", limits.known_for),
        )

    @classmethod
    def in_memory(
        cls, limits: LoginLimits, auditor: Auditor, *, clock: Callable[[], float] = time.monotonic
    ) -> LoginLimiter:
        """Limits counted in this process's memory."""
        return cls.counted(
            limits,
            auditor,
            lambda _kind, window: MemoryCounters(window, max_keys=limits.tracked, clock=clock),
        )

    def admit(self, username: str, address: str | None) -> Admission:
        """Let the attempt through to the password check, or raise ``RateLimited``."""
        source = source_key(address)
        locked = self._failures.peek(_pair(username, source))
        if locked.events >= self._limits.failures:
            raise RateLimited(
                "too many failed logins for this username from this address",
                retry_after=locked.retry_after,
            )
        # The source first, so that a flood from one address spends its own allowance and
        # not everyone's.
        self._count(self._sources, source, self._limits.per_source, login_target(None, source))
        if not self._known.peek(source).events:
            self._count(self._total, _TOTAL, self._limits.total, login_target(None, None))
        return Admission(username, address, source)

    def _count(self, counters: Counters, key: str, limit: int, target: str) -> None:
        window = counters.hit(key)
        if window.events <= limit:
            return
        if window.events == limit + 1:  # the first attempt refused in this window
            self._auditor.refusing("vss-portal", Action.LOGIN_LIMITED, target)
        raise RateLimited("too many logins; retry later", retry_after=window.retry_after)

    def failed(self, admission: Admission) -> None:
        window = self._failures.hit(_pair(admission.username, admission.source))
        if window.events == self._limits.failures:
            target = login_target(admission.username, admission.source)
            self._auditor.refusing("vss-portal", Action.LOGIN_LOCKED, target)

    def succeeded(self, admission: Admission) -> None:
        self._failures.clear(_pair(admission.username, admission.source))
        # Cleared first, so that the source stays known for ``known_for`` after its last login.
        self._known.clear(admission.source)
        self._known.hit(admission.source)


def _pair(username: str, source: str) -> str:
    """The key of a username from a source: hashed, since a username can be long."""
    return hashlib.sha256(f"{source}\n{username}".encode()).hexdigest()
