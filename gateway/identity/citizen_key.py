"""The gateway's citizen key (``GATEWAY_PSEUDONYM_KEY``): the root of the keys that name
citizens without their ID, the pseudonyms' (``gateway.identity.pseudonyms``) and the card checks'
(``gateway.sirecords.checks``).

Invariant: the key is its own, not the signing key's, so that a new signing key keeps every
citizen's access history and every card's check history (docs/pseudonyms.md). Only in
development, or in production while no partner reads citizens' data by citizen (no VNeID
partner, no ``cards.check``), is it derived from the signing key when unset, with a warning.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.identity.pseudonyms import Pseudonyms
from gateway.partners import PartnerRegistry
from gateway.trust.sign import SigningIdentity, check_private_key_file

log = logging.getLogger(__name__)

_PSEUDONYMS = b"vss-gateway citizen pseudonyms"
_CARD_CHECKS = b"vss-gateway card check keys"
_MIN_BYTES = 32


@dataclass(frozen=True)
class CitizenKey:
    """The root of the keys that name citizens: the pseudonyms' and the card checks'."""

    root: bytes

    @classmethod
    def from_file(cls, path: Path) -> CitizenKey:
        """A key file: at least 32 random bytes as hex digits (``openssl rand -hex 32``),
        readable by its owner (and group) only, as the signing key."""
        check_private_key_file(path)
        try:
            text = path.read_text(encoding="ascii").strip()
            root = bytes.fromhex(text)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"GATEWAY_PSEUDONYM_KEY {path}: not a key of hex digits ({exc}); make one with "
                f"openssl rand -hex 32 > {path} && chmod 600 {path}"
            ) from exc
        if len(root) < _MIN_BYTES:
            raise ConfigError(
                f"GATEWAY_PSEUDONYM_KEY {path}: {len(root)} bytes, at least {_MIN_BYTES} needed "
                f"(openssl rand -hex 32)"
            )
        return cls(root)

    @classmethod
    def of_settings(
        cls, settings: Settings, *, identity: SigningIdentity, partners: PartnerRegistry
    ) -> CitizenKey:
        """``GATEWAY_PSEUDONYM_KEY``'s key; unset, derived from the signing key with a warning,
        refused in production where a partner reads citizens' data by citizen."""
        if settings.pseudonym_key is not None:
            return cls.from_file(settings.pseudonym_key)
        readers = sorted(p.id for p in partners.all() if p.kind == "vneid" or p.may("cards.check"))
        if settings.environment == "production" and readers:
            raise ConfigError(
                f"GATEWAY_PSEUDONYM_KEY is required in production: {', '.join(readers)} read "
                "citizens' records, and the accesses each citizen may list are kept under it. "
                "Make one with openssl rand -hex 32 > pseudonym.key && chmod 600 pseudonym.key "
                "and keep it apart from the signing key (docs/pseudonyms.md)"
            )
        log.warning(
            "GATEWAY_PSEUDONYM_KEY is unset: citizens' pseudonyms are derived from the signing "
            "key, so a new signing key loses every citizen's access history"
        )
        return cls(identity.derived_key(b"vss-gateway citizen key"))

    def derived(self, purpose: bytes) -> bytes:
        return hmac.new(self.root, purpose, hashlib.sha256).digest()

    def pseudonyms(self) -> Pseudonyms:
        return Pseudonyms(self.derived(_PSEUDONYMS))

    def card_checks(self) -> bytes:
        """The HMAC key under which card checks find a card (``gateway.sirecords.checks``)."""
        return self.derived(_CARD_CHECKS)


def write_key(path: Path) -> Path:
    """A new citizen key in ``path`` (mode 0600), for the demo and the tests."""
    path.touch(mode=0o600)
    path.write_text(secrets.token_hex(_MIN_BYTES) + "\n", encoding="ascii")
    return path
