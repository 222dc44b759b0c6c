"""Citizens named without their ID: a keyed hash (HMAC-SHA256) of the 12-digit ID, under a key
derived from the gateway's citizen key (``gateway.identity.citizen_key``), as the audit log, the
lookup cache and the accesses a citizen lists know them.

Invariant: the key never leaves the gateway's processes, so a pseudonym can be neither reversed
nor recomputed from the 10^12 possible IDs by whoever reads the audit log or Redis; every
process of one gateway reads the same key, so they agree on every pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

LAST_DIGITS = 4  # shown beside a pseudonym: "********2345", as VNeID shows an ID (IDENTITY.md 2.2)


@dataclass(frozen=True)
class Pseudonym:
    """A citizen as logs and caches name them: the keyed hash and the ID's last four digits."""

    key: str  # 64 hex digits
    last4: str

    @property
    def masked(self) -> str:
        return "*" * 8 + self.last4


class Pseudonyms:
    """Computes pseudonyms under one key; safe to share between threads."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, citizen_id: str) -> Pseudonym:
        digest = hmac.new(self._key, citizen_id.encode(), hashlib.sha256).hexdigest()
        return Pseudonym(digest, citizen_id[-LAST_DIGITS:])
