"""``LegacyLogin``: the portal's login and the token checks of every submission, over the
partners that have a legacy login in the partner file (``gateway.legacy``)."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from gateway.errors import Unauthorized
from gateway.legacy.limiter import AttemptLimiter
from gateway.legacy.passwords import (
    StoredHash,
    legacy_password_hash,
    normalize_md5,
    password_version,
)
from gateway.legacy.tokens import Grant, TokenSigner
from gateway.partners import Partner, PartnerRegistry

log = logging.getLogger(__name__)


class LegacyLogin:
    """Logins and token checks for the partners that have a legacy login in the partner file.

    Invariant: ``login`` returns a grant only for a username configured on exactly one partner,
    whose stored hash matches the password, asked from one of its ``source_networks`` (when it
    has any); every failure is the same ``Unauthorized`` after the same scrypt work, so neither
    the answer nor its timing tells an unknown user from a wrong password or a wrong address.
    ``authenticate`` returns a partner only for an unexpired token of this gateway whose partner
    still has the same legacy login, presented with its own ``tokenId`` and ``passwordHash``."""

    def __init__(
        self,
        partners: PartnerRegistry,
        signer: TokenSigner,
        *,
        limiter: AttemptLimiter | None = None,
    ) -> None:
        self._partners = partners
        self._signer = signer
        self._limiter = limiter or AttemptLimiter()
        self._accounts = _accounts(partners.all())
        # Hashed with the default cost, so that an unknown username costs what a known one does.
        self._decoy = StoredHash.read(legacy_password_hash("0" * 32))
        # Successful scrypt checks of passwordHash headers, so that each submission does not pay
        # for one: (partner id, stored hash, SHA-256 of the header) → checked.
        self._checked: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def login(self, username: str, password: str, *, address: str | None, now: datetime) -> Grant:
        """A token for ``username``, or ``Unauthorized`` / ``RateLimited``. CPU-bound (scrypt)."""
        self._limiter.check(username)
        partner = self._accounts.get(username)
        stored = _stored(partner)
        matches = (stored or self._decoy).matches(normalize_md5(password))
        if partner is None or stored is None or not matches or not partner.allows_address(address):
            self._limiter.failed(username)
            raise Unauthorized("unknown username, wrong password or address not registered")
        self._limiter.succeeded(username)
        return self._signer.issue(partner, now=now)

    def authenticate(
        self, access_token: str, token_id: str, password_hash: str, *, now: datetime
    ) -> Partner:
        """The partner behind a submission's ``accessToken`` / ``tokenId`` / ``passwordHash``
        headers (CV 3190 I.2.1, p. 3), or ``Unauthorized``. May run scrypt once per process."""
        claims = self._signer.read(access_token, now=now)
        if not hmac.compare_digest(token_id.encode(), claims.token_id.encode()):
            raise Unauthorized("tokenId is not the id_token of this access token")
        partner = self._partners.get(claims.partner_id)
        stored = _stored(partner)
        if (
            partner is None
            or stored is None
            or partner.legacy_username != claims.username
            or password_version(partner.legacy_password_hash or "") != claims.password_version
        ):
            raise Unauthorized("the access token's account no longer exists or has changed")
        presented = normalize_md5(password_hash)
        key = (partner.id, partner.legacy_password_hash or "", _sha256(presented))
        with self._lock:
            known = key in self._checked
        if not known:
            if not stored.matches(presented):
                raise Unauthorized("passwordHash is not the account's password")
            with self._lock:
                if len(self._checked) >= 4096:
                    self._checked.clear()
                self._checked.add(key)
        return partner


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _stored(partner: Partner | None) -> StoredHash | None:
    """The partner's parsed legacy hash; ``None`` (no legacy login) if it has none or it is not
    a hash of the gateway's format (logged: it is a mistake in the partner file)."""
    if partner is None or not partner.legacy_username or not partner.legacy_password_hash:
        return None
    try:
        return StoredHash.read(partner.legacy_password_hash)
    except (ValueError, binascii.Error):
        log.error("partner %s: legacy_password_hash is not an scrypt$... hash", partner.id)
        return None


def _accounts(partners: Iterable[Partner]) -> dict[str, Partner]:
    """Partners by legacy username. A username configured twice logs in nobody (logged)."""
    accounts: dict[str, Partner] = {}
    twice: set[str] = set()
    for partner in partners:
        name = partner.legacy_username
        if not name:
            continue
        if name in accounts:
            twice.add(name)
        accounts[name] = partner
    for name in twice:
        log.error("legacy_username %r is configured on several partners: refused", name)
        del accounts[name]
    return accounts
