"""The one way entrypoints audit a read of personal data, and the legacy login audits the start of
a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gateway.audit.events import NOBODY, Action, AuditEvent, Result
from gateway.audit.ports import AuditLog
from gateway.clock import Clock
from gateway.errors import Forbidden, NotFound
from gateway.partners import Partner
from gateway.records.model import Channel


class Auditor:
    """Writes one audit event per read, or per start of a refusal of logins, stamped by the
    injected clock."""

    def __init__(self, log: AuditLog, clock: Clock) -> None:
        self.log = log
        self._clock = clock

    @contextmanager
    def reading(
        self, partner: Partner, channel: Channel, action: Action, target: str
    ) -> Iterator[None]:
        """Audit the read done inside the block: ``ok`` when it ends normally, ``not_found`` or
        ``denied`` when it raises ``NotFound`` or ``Forbidden``; other failures read nothing
        and are not audited.

        Invariant: the event is durable before the block's data can leave. Use the block to
        fetch and check the data and hand it out only after it: if the append fails, the error
        (``Unavailable`` when the store is down) replaces the data.
        """
        try:
            yield
        except NotFound:
            self._append(partner, channel, action, target, Result.NOT_FOUND)
            raise
        except Forbidden:
            self._append(partner, channel, action, target, Result.DENIED)
            raise
        self._append(partner, channel, action, target, Result.OK)

    def refusing(self, channel: Channel, action: Action, target: str) -> None:
        """Audit that the logins ``target`` names (``login_target``) are refused from now on
        (``login.locked``, ``login.limited``). No partner is authenticated yet: who is
        ``NOBODY``, and the target names the username and source address. Called when a refusal
        starts, not for every attempt it refuses, so that a flood writes a bounded number of
        events."""
        self.log.append(
            AuditEvent(self._clock.now(), NOBODY, channel, action, target, Result.DENIED)
        )

    def _append(
        self, partner: Partner, channel: Channel, action: Action, target: str, result: Result
    ) -> None:
        self.log.append(AuditEvent(self._clock.now(), partner.id, channel, action, target, result))
