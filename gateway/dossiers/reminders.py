"""Reminders of supplements not sent in time: a progress step to the portal, at most once per
interval for each dossier still waiting on its supplements past their deadline."""

from __future__ import annotations

from datetime import timedelta

from gateway.clock import Clock
from gateway.dossiers.calendar import vietnam_date
from gateway.dossiers.changes import reminder
from gateway.dossiers.ports import DossierStore, HistoryEntry


def remind_overdue(store: DossierStore, *, clock: Clock, interval: timedelta) -> int:
    """One pass: remind every overdue dossier not reminded within ``interval``; how many.

    A dossier is overdue once its ``supplement_due`` date is past in Vietnam (the applicant has
    the whole due day). The reminder and its outbox message are one write (``store.remind``).
    """
    now = clock.now()
    overdue = store.awaiting_supplement(
        overdue_on=vietnam_date(now), reminded_before=now - interval
    )
    for dossier in overdue:
        entry = HistoryEntry(state=dossier.state, at=now, actor="gateway", by="gateway")
        store.remind(dossier.id, at=now, change=reminder(dossier, entry))
    return len(overdue)
