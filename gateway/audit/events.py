"""What one audit event says: who read which personal data, or which logins started to be refused,
when, over which channel, and how it ended. The event is also what is hashed, so it holds no
personal identifier in clear."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

from gateway.logs import mask
from gateway.records.model import Channel

# Longer ids are not ids anyone stored: a partner cannot pad the log with its own text.
_MAX_TARGET = 100
_VISIBLE = 3  # characters of a card number left in clear, as in the ordinary logs
_MAX_USERNAME = 50  # so that the source address always fits in a login target
# Who, for an event about a login refused before any partner is authenticated.
NOBODY = "-"


class Action(enum.StrEnum):
    """The reads of personal data that are audited (SPEC section 6), and the starts of the legacy
    login's refusals (``gateway.legacy.limiter``): a username locked from a source address after
    too many failures, and logins limited from one source address or in total."""

    RECORD_READ = "record.read"
    RECORD_ORIGINAL_READ = "record.original.read"
    RECEIPT_READ = "receipt.read"
    SIGNALS_READ = "signals.read"
    DOSSIER_READ = "dossier.read"
    DOSSIERS_LISTED = "dossiers.list"  # a page of dossiers: by filter, or a department's queue
    DOSSIER_CLAIMED = "dossier.claim"  # a queue task handed to a department's worker
    SI_RECORD_LOOKUP = "si_record.lookup"  # a citizen's SI record, read for VNeID
    CARD_CHECKED = "card.check"  # a hospital's card check (VSS portal, KQNhanLichSuKCB2024)
    ACCESSES_READ = "si_record.accesses"  # the accesses to a citizen's data, read for VNeID
    LOGIN_LOCKED = "login.locked"
    LOGIN_LIMITED = "login.limited"


class Result(enum.StrEnum):
    """How the access ended: data returned, refused as unknown, or refused (to this partner, or
    to the logins a ``login.*`` event names); for a citizen's lookup also refused for want of a
    valid citizen assertion, over the citizen's rate limit, for a dependency down, or because
    the record's person is not who the population database holds (mismatch)."""

    OK = "ok"
    NOT_FOUND = "not_found"
    DENIED = "denied"
    UNAUTHORIZED = "unauthorized"
    LIMITED = "limited"
    UNAVAILABLE = "unavailable"
    MISMATCH = "mismatch"


def target(kind: str, value: str) -> str:
    """``kind:value`` for an id the partner named (record, receipt, facility). Ids are not
    personal data, but the value comes from the request: anything in it shaped like a citizen
    ID, card or SI number is masked, and it is cut to a bounded length."""
    return f"{kind}:{mask(value[:_MAX_TARGET])}"


def card_target(card: str) -> str:
    """``card:************456``: the audit log must not become a second copy of the card
    numbers it protects, so only the last characters stay, enough to tell an inquiry which of a
    citizen's reads were about that card once the full number is known from elsewhere."""
    card = card[:_MAX_TARGET]
    return "card:" + "*" * max(len(card) - _VISIBLE, 0) + card[-_VISIBLE:]


def citizen_target(kind: str, last4: str) -> str:
    """``kind:********2345``: a citizen's data, named by the ID's last four digits only; the
    event's ``citizen`` holds the citizen's pseudonym (``gateway.identity.pseudonyms``)."""
    return f"{kind}:{'*' * 8}{last4[-4:]}"


def login_target(username: str | None, source: str | None) -> str:
    """``login:<username>@<source>``, ``*`` standing for any: the logins a limit refuses. Both
    come from the request, so the username is cut short and both are masked like ``target``."""
    user = "*" if username is None else username[:_MAX_USERNAME]
    return target("login", f"{user}@{source or '*'}")


def rfc3339(at: datetime) -> str:
    """UTC, microseconds, ``Z``: fixed width, so the text sorts as the time does."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditEvent:
    """One access: who (partner id, or ``NOBODY``), what (action, target), when (at), how it
    ended (result); and where they apply, whose data (``citizen``, a pseudonym: the keyed hash
    of the ID, never the ID; ``citizen_last4``, the ID's last four digits), for what purpose (a
    code) and how long the access took (``latency_ms``). These are written only when set, so
    that entries written before they existed read back, and verify, unchanged."""

    at: datetime
    partner: str
    channel: Channel
    action: Action
    target: str
    result: Result
    citizen: str | None = None
    purpose: str | None = None
    latency_ms: float | None = None
    citizen_last4: str | None = None

    def as_dict(self) -> dict[str, str | float]:
        data: dict[str, str | float] = {
            "at": rfc3339(self.at),
            "partner": self.partner,
            "channel": self.channel,
            "action": self.action.value,
            "target": self.target,
            "result": self.result.value,
        }
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEvent:
        """The event of a stored entry; ``ValueError`` or ``KeyError`` if it is not one."""
        channel = data["channel"]
        if channel not in get_args(Channel):
            raise ValueError(f"unknown channel {channel!r}")
        at = datetime.fromisoformat(data["at"])
        if at.utcoffset() is None:
            raise ValueError(f"time {data['at']!r} has no offset")
        return cls(
            at=at,
            partner=str(data["partner"]),
            channel=channel,
            action=Action(data["action"]),
            target=str(data["target"]),
            result=Result(data["result"]),
            citizen=_text(data.get("citizen")),
            citizen_last4=_text(data.get("citizen_last4")),
            purpose=_text(data.get("purpose")),
            latency_ms=_number(data.get("latency_ms")),
        )


_OPTIONAL = ("citizen", "citizen_last4", "purpose", "latency_ms")


def _text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def _number(value: object) -> float | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{value!r} is not a number")
    return value
