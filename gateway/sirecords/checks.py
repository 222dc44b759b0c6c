"""Who checked which card (CV 1923/BHXH-CNTT: every card check names the staff member who made
it): the ``CardCheckLog`` port and ``CardChecks``, which records each check and reads a card's
check history (the answer's ``dsLichSuKT2018``).

Invariant: the log never holds a card number or a citizen ID in clear. A check is found by an
HMAC of the card number under a key of the gateway's own (``card_key``), and shown masked
(``************789``), as the audit log shows it. The staff member's name and citizen ID are
kept in clear, since they are what makes a check attributable; they are personal data, so an
entry is deleted once older than the retention (``GATEWAY_CARD_CHECK_RETENTION_DAYS``).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from gateway.audit import card_target
from gateway.clock import Clock

# How often, at most, entries past the retention are deleted (by the process that records).
PURGE_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class CardCheckEntry:
    """One check: when, by which partner, facility and account (``userKT``), of which card
    (masked), by which staff member (``hoTenCb``, ``cccdCb``), answered with which code."""

    at: datetime
    partner: str
    facility: str
    account: str
    card: str
    staff_name: str
    staff_id: str
    code: str


class CardCheckLog(Protocol):
    """Durable card checks, found by the card's key."""

    def record(self, card_key: str, entry: CardCheckEntry) -> None:
        """Keep ``entry``; durable when the call returns."""

    def history(self, card_key: str, *, limit: int) -> list[CardCheckEntry]:
        """The latest ``limit`` checks of the card, newest first."""

    def purge(self, *, before: datetime) -> int:
        """Delete the checks made before ``before``; how many were deleted."""

    def close(self) -> None: ...


class CardChecks:
    """Records checks under the card's key and deletes those past ``retention``, at most once
    per ``PURGE_INTERVAL`` (on the injected clock)."""

    def __init__(
        self, log: CardCheckLog, clock: Clock, *, key: bytes, retention: timedelta
    ) -> None:
        self.log = log
        self._clock = clock
        self._key = key
        self.retention = retention
        self._purged: datetime | None = None
        self._lock = threading.Lock()

    def card_key(self, card: str) -> str:
        return hmac.new(self._key, card.encode(), hashlib.sha256).hexdigest()

    def record(
        self,
        card: str,
        *,
        partner: str,
        facility: str,
        account: str,
        staff: tuple[str, str],
        code: str,
    ) -> CardCheckEntry:
        """Keep one check of ``card`` (as asked) by ``staff`` (name, citizen ID)."""
        now = self._clock.now()
        entry = CardCheckEntry(
            at=now,
            partner=partner,
            facility=facility,
            account=account,
            card=card_target(card).removeprefix("card:"),
            staff_name=staff[0],
            staff_id=staff[1],
            code=code,
        )
        self.log.record(self.card_key(card), entry)
        with self._lock:
            due = self._purged is None or now - self._purged >= PURGE_INTERVAL
            if due:
                self._purged = now
        if due:
            self.log.purge(before=now - self.retention)
        return entry

    def history(self, card: str, *, limit: int) -> list[CardCheckEntry]:
        """The latest ``limit`` checks of ``card`` within the retention, newest first."""
        oldest = self._clock.now() - self.retention
        return [e for e in self.log.history(self.card_key(card), limit=limit) if e.at >= oldest]
