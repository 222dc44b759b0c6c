"""The loop of ``gateway worker``: reminder and delivery passes until it is told to stop."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from gateway.clock import Clock
from gateway.dossiers.delivery import DeliveryPolicy, PassReport, deliver_due
from gateway.dossiers.ports import DossierStore, StatusSink
from gateway.dossiers.reminders import remind_overdue
from gateway.errors import GatewayError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerPolicy:
    """How the worker paces itself: ``poll`` seconds between passes that found nothing (a busy
    pass is followed by another at once), and a dossier's reminders ``reminder_interval`` apart."""

    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    poll: float = 2.0
    reminder_interval: timedelta = timedelta(days=1)


def work_once(
    store: DossierStore, sink: StatusSink, *, clock: Clock, policy: WorkerPolicy
) -> tuple[int, PassReport]:
    """A reminder pass, then delivery passes until one delivers nothing, so that everything due
    now goes out (a pass hands out each dossier's first undelivered message only, its next one
    in the pass after) and what failed waits for its backoff: how many reminded, what was
    delivered (``gateway worker --once``)."""
    reminded = remind_overdue(store, clock=clock, interval=policy.reminder_interval)
    total = PassReport()
    while True:
        report = deliver_due(store, sink, clock=clock, policy=policy.delivery)
        total += report
        if report.paused or not report.delivered:
            return reminded, total


def run(
    store: DossierStore,
    sink: StatusSink,
    *,
    clock: Clock,
    policy: WorkerPolicy,
    stop: threading.Event,
) -> None:
    """Passes until ``stop`` is set (by SIGTERM or SIGINT); a store that fails a pass (busy,
    unreachable) is tried again after ``poll``, the pass's messages still in the outbox."""
    paused = False
    while not stop.is_set():
        try:
            # One pass at a time (not work_once's passes until idle), so that a stop is seen
            # between passes however busy the outbox is.
            reminded = remind_overdue(store, clock=clock, interval=policy.reminder_interval)
            report = deliver_due(store, sink, clock=clock, policy=policy.delivery)
        except GatewayError as exc:
            log.warning("worker pass failed, trying again in %s s: %s", policy.poll, exc.detail)
            stop.wait(policy.poll)
            continue
        if report.paused != paused:
            paused = report.paused
            log.warning("delivery to the portal %s", "paused" if paused else "resumed")
        if reminded or report.busy:
            log.info(
                "reminded %s; delivered %s, to retry %s, dead %s",
                reminded,
                report.delivered,
                report.retried,
                report.dead,
            )
        if not report.busy:
            stop.wait(policy.poll)
