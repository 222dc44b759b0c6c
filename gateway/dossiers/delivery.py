"""Delivery of the outbox to the portal: one pass of ``gateway worker``, retries and dead letters.

Invariant: a message is marked delivered only after the portal acknowledged it (``Delivery.ok``);
every other outcome is recorded as a failed attempt, due again after an exponential backoff with
full jitter, or dead (``next_attempt_at`` None) once the retry budget is spent or the portal
refused it for good. Order within a dossier is the store's: ``due_messages`` hands out only the
first undelivered message of each dossier. Nothing is delivered while delivery is paused (the kill
switch, shared by every worker through the store, read at the start of each pass).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gateway.clock import Clock
from gateway.dossiers.ports import Delivery, DossierStore, OutboxMessage, StatusSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard the worker tries: ``attempts`` in all (the retry budget), the n-th retry due
    after a random delay in [0, min(cap, base * 2**(n-1))] seconds (full jitter, so that workers
    and dossiers that failed together do not retry together)."""

    attempts: int = 12  # with base 2 s and cap 1 h: about 2.3 hours of retries on average
    base: float = 2.0
    cap: float = 3600.0
    batch: int = 100  # messages taken per pass

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base <= 0 or self.cap < self.base or self.batch < 1:
            raise ValueError(f"unusable delivery policy: {self}")

    def backoff(self, attempt: int, rand: Callable[[], float]) -> timedelta:
        """The delay before the retry that follows failed attempt number ``attempt`` (1-based);
        ``rand`` returns a float in [0, 1)."""
        ceiling = min(self.cap, self.base * 2 ** min(attempt - 1, 62))
        return timedelta(seconds=ceiling * rand())


@dataclass(frozen=True)
class PassReport:
    """What one pass did."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    paused: bool = False

    def __add__(self, other: PassReport) -> PassReport:
        """The two passes' work together (paused if either was)."""
        return PassReport(
            delivered=self.delivered + other.delivered,
            retried=self.retried + other.retried,
            dead=self.dead + other.dead,
            paused=self.paused or other.paused,
        )

    @property
    def busy(self) -> bool:
        """Whether the pass handled anything (a worker goes again at once, not after its poll)."""
        return self.delivered + self.retried + self.dead > 0


def _attempt(message: OutboxMessage, store: DossierStore, sink: StatusSink) -> Delivery:
    dossier = store.get(message.change.dossier_id)
    if dossier is None:
        return Delivery(ok=False, error="the dossier of this message is not in the store")
    try:
        return sink.deliver(message, dossier)
    except Exception as exc:  # a bug in the sink must not stop delivery of other dossiers
        log.exception("delivery of outbox message %s failed", message.seq)
        return Delivery(ok=False, error=f"{type(exc).__name__}: {exc}")


def deliver_due(
    store: DossierStore,
    sink: StatusSink,
    *,
    clock: Clock,
    policy: DeliveryPolicy = DeliveryPolicy(),
    rand: Callable[[], float] = random.random,
) -> PassReport:
    """One pass: deliver every message due now (unless delivery is paused)."""
    if store.delivery_paused():
        return PassReport(paused=True)
    delivered = retried = dead = 0
    for message in store.due_messages(at=clock.now(), limit=policy.batch):
        result = _attempt(message, store, sink)
        now = clock.now()
        if result.ok:
            store.delivered(message.seq, at=now)
            delivered += 1
            continue
        attempt = message.attempts + 1
        error = result.error or "not delivered"
        if result.retry and attempt < policy.attempts:
            store.failed(
                message.seq, error=error, next_attempt_at=now + policy.backoff(attempt, rand)
            )
            retried += 1
        else:
            store.failed(message.seq, error=error, next_attempt_at=None)
            dead += 1
            log.error(
                "outbox message %s of dossier %s is dead after %s attempt(s): %s",
                message.seq,
                message.change.dossier_id,
                attempt,
                error,
            )
    return PassReport(delivered=delivered, retried=retried, dead=dead)
