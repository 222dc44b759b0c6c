"""The one way entrypoints audit a read of personal data, and the legacy login audits the start of
a refusal. A read that concerns a citizen names them by pseudonym and the ID's last four digits
only: the raw ID goes no further than this module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.audit.events import NOBODY, Action, AuditEvent, Result
from gateway.audit.ports import AuditLog
from gateway.clock import Clock
from gateway.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, Unavailable
from gateway.identity.pseudonyms import Pseudonym, Pseudonyms
from gateway.partners import Partner
from gateway.records.model import Channel


class Access:
    """What a read's block learns while it runs: whose data it reads, once it knows."""

    def __init__(self, pseudonyms: Pseudonyms, citizen_id: str | None) -> None:
        self._pseudonyms = pseudonyms
        self.citizen: Pseudonym | None = None
        self.concerns(citizen_id)

    def concerns(self, citizen_id: str | None) -> None:
        """The read is of this citizen's data (a 12-digit ID; None: not known)."""
        if citizen_id is not None:
            self.citizen = self._pseudonyms.of(citizen_id)


class Auditor:
    """Writes one audit event per read, or per start of a refusal of logins, stamped by the
    injected clock; a citizen named by ``pseudonyms``."""

    def __init__(self, log: AuditLog, clock: Clock, *, pseudonyms: Pseudonyms) -> None:
        self.log = log
        self._clock = clock
        self.pseudonyms = pseudonyms

    @contextmanager
    def reading(
        self,
        partner: Partner,
        channel: Channel,
        action: Action,
        target: str,
        *,
        citizen: str | None = None,
        purpose: str | None = None,
    ) -> Iterator[Access]:
        """Audit the read done inside the block, with the block's duration: ``ok`` when it ends
        normally, else by what it raises (``_REFUSALS``); other failures read nothing and are
        not audited. ``purpose`` is written when given; the citizen whose data is read (their
        ID: ``citizen``, or ``Access.concerns`` once the block knows it) as their pseudonym and
        the ID's last four digits, so that the read is among their accesses.

        Invariant: the event is durable before the block's data can leave. Use the block to
        fetch and check the data and hand it out only after it: if the append fails, the error
        (``Unavailable`` when the store is down) replaces the data.
        """
        started = time.perf_counter()
        access = Access(self.pseudonyms, citizen)

        def append(result: Result) -> None:
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            whose = access.citizen
            event = AuditEvent(
                self._clock.now(),
                partner.id,
                channel,
                action,
                target,
                result,
                citizen=None if whose is None else whose.key,
                citizen_last4=None if whose is None else whose.last4,
                purpose=purpose,
                latency_ms=latency_ms,
            )
            self.log.append(event)

        try:
            yield access
        except _REFUSED as refusal:
            append(next(r for kind, r in _REFUSALS if isinstance(refusal, kind)))
            raise
        append(Result.OK)

    def refusing(self, channel: Channel, action: Action, target: str) -> None:
        """Audit that the logins ``target`` names (``login_target``) are refused from now on
        (``login.locked``, ``login.limited``). No partner is authenticated yet: who is
        ``NOBODY``, and the target names the username and source address. Called when a refusal
        starts, not for every attempt it refuses, so that a flood writes a bounded number of
        events."""
        self.log.append(
            AuditEvent(self._clock.now(), NOBODY, channel, action, target, Result.DENIED)
        )


# How a read that raised ended. Unauthorized, RateLimited and Unavailable reach a read only where
# the block checks the caller itself (a citizen's assertion, the citizen's rate limit): a read
# refused before its block (no partner credential) is not audited.
_REFUSALS: tuple[tuple[type[Exception], Result], ...] = (
    (NotFound, Result.NOT_FOUND),
    (Forbidden, Result.DENIED),
    (Unauthorized, Result.UNAUTHORIZED),
    (RateLimited, Result.LIMITED),
    (Unavailable, Result.UNAVAILABLE),
    (Conflict, Result.MISMATCH),  # a lookup's person C06 does not hold: the one Conflict of a read
)
_REFUSED = tuple(kind for kind, _ in _REFUSALS)
