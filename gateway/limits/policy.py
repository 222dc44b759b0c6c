"""What is limited and what a Redis outage does to each limit: ``RateLimits`` (per partner, on
every authenticated request; per partner and citizen, on every lookup of a citizen's data) and
``Limits``, the rate and login limits one gateway process runs on."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.errors import RateLimited, Unavailable
from gateway.legacy.limiter import LoginLimiter
from gateway.limits.rates import Rate, RateLimiter
from gateway.partners import Partner
from gateway.trust.sign import SigningIdentity


class FailingOver:
    """Shared counts, or, while they cannot be reached, this process's own: the limit holds,
    N processes times looser, rather than refusing every request or letting every one through."""

    def __init__(self, shared: RateLimiter, local: RateLimiter) -> None:
        self._shared, self._local = shared, local

    def take(self, key: str, rate: Rate) -> float:
        try:
            return self._shared.take(key, rate)
        except Unavailable:
            return self._local.take(key, rate)


class RateLimits:
    """The per-partner and per-citizen limits (SPEC section 5: ``429 RATE_LIMITED`` with
    ``Retry-After``).

    Invariant: a citizen ID never leaves this class unhashed: its key is an HMAC of the partner
    and the ID under a key of the gateway's own (``limit_key``), so neither Redis nor a log holds
    the ID, nor a hash that 10^12 guesses could reverse.

    When the shared counts cannot be reached (Redis down): ``partners`` is meant to fail over to
    this process's counts (``FailingOver``), so that claims and dossiers, which need no Redis,
    keep flowing under a looser limit; ``citizens`` is meant to fail closed, ``Unavailable``
    (503 with ``Retry-After``), since it guards reads of personal data. The composition root
    chooses them so."""

    def __init__(
        self,
        *,
        partners: RateLimiter,
        citizens: RateLimiter,
        partner_rate: Rate,
        citizen_rate: Rate,
        key: bytes,
    ) -> None:
        self._partners, self._citizens = partners, citizens
        self._partner_rate, self._citizen_rate = partner_rate, citizen_rate
        self._key = key
        self._rates: dict[str, Rate] = {}  # a partner file's rate_limit → its Rate, parsed once

    def partner(self, partner: Partner) -> None:
        """Count one request of ``partner``, or raise ``RateLimited``."""
        rate = self._rate_of(partner)
        wait = self._partners.take(f"partner:{partner.id}", rate)
        if wait:
            raise RateLimited(
                f"{partner.id} is over its limit of {rate}", retry_after=_seconds(wait)
            )

    def citizen(self, partner: Partner, citizen_id: str) -> None:
        """Count one read of ``citizen_id``'s data by ``partner``, or raise ``RateLimited`` (or
        ``Unavailable`` when the shared counts cannot be reached). Per partner and citizen, so
        that one partner's reads never use up another's (a hospital's card checks, the citizen's
        own VNeID lookups)."""
        digest = hmac.new(self._key, f"{partner.id}\n{citizen_id}".encode(), hashlib.sha256)
        wait = self._citizens.take(f"citizen:{digest.hexdigest()}", self._citizen_rate)
        if wait:
            raise RateLimited(
                f"too many reads of this citizen's data; limit {self._citizen_rate}",
                retry_after=_seconds(wait),
            )

    def _rate_of(self, partner: Partner) -> Rate:
        if partner.rate_limit is None:
            return self._partner_rate
        rate = self._rates.get(partner.rate_limit)
        if rate is None:
            rate = self._rates[partner.rate_limit] = Rate.parse(partner.rate_limit)
        return rate


def _seconds(wait: float) -> int:
    """``Retry-After``: whole seconds, at least 1 (0 would invite an immediate retry)."""
    return max(1, math.ceil(wait))


def limit_key(identity: SigningIdentity) -> bytes:
    """The HMAC key of citizen keys: derived from the gateway's signing key, which every process
    of one gateway holds, so they all count a citizen under the same key; a new signing key only
    starts the counts afresh."""
    return identity.derived_key(b"vss-gateway rate limit keys")


@dataclass(frozen=True)
class Limits:
    """The rate and login limits of one gateway process; ``shared``: counted in Redis."""

    rates: RateLimits
    login: LoginLimiter
    shared: bool
    close: Callable[[], None] = field(default=lambda: None)
