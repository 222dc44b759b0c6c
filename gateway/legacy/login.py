"""``LegacyLogin``: the portal's login and the token checks of every submission, over the
partners that have a legacy login in the partner file (``gateway.legacy``)."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gateway.errors import Unauthorized
from gateway.legacy.limiter import Admission, LoginLimiter
from gateway.legacy.passwords import (
    StoredHash,
    legacy_password_hash,
    normalize_md5,
    password_version,
)
from gateway.legacy.tokens import Grant, TokenSigner
from gateway.partners import Partner, PartnerRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Presented:
    """A submission's access token, verified, with the ``passwordHash`` sent beside it; the
    partner the token names is the caller only once ``LegacyLogin.caller`` accepts it.
    ``known``: this process has checked that passwordHash for the partner already, so no
    scrypt is left to do."""

    claimed: Partner
    stored: StoredHash
    password_md5: str  # the passwordHash header, normalized (``normalize_md5``)
    known: bool


class LegacyLogin:
    """Logins and token checks for the partners that have a legacy login in the partner file.

    Invariant: ``login`` returns a grant only for an attempt the limits admitted, for a username
    configured on exactly one partner, whose stored hash matches the password, asked from one of
    its ``source_networks`` (when it has any); every failure is the same ``Unauthorized`` after
    the same scrypt work, so neither the answer nor its timing tells an unknown user from a wrong
    password or a wrong address. ``caller`` returns a partner only for an unexpired token of
    this gateway whose partner still has the same legacy login, presented with its own
    ``tokenId`` and ``passwordHash``."""

    def __init__(
        self, partners: PartnerRegistry, signer: TokenSigner, limiter: LoginLimiter
    ) -> None:
        self._partners = partners
        self._signer = signer
        self._limiter = limiter
        self._accounts = _accounts(partners.all())
        # Hashed with the default cost, so that an unknown username costs what a known one does.
        self._decoy = StoredHash.read(legacy_password_hash("0" * 32))
        # The passwordHash each partner's stored hash was found to match, as (stored hash,
        # SHA-256 of the passwordHash), so that a submission pays no scrypt. One per partner,
        # since one passwordHash matches: bounded by the partner file, never flushed.
        self._checked: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def admit(self, username: str, *, address: str | None) -> Admission:
        """Let a login attempt through to ``login``, or ``RateLimited``. Cheap: call it before
        taking a thread for ``login``, so that a refused attempt waits for none."""
        return self._limiter.admit(username, address)

    def login(self, admission: Admission, password: str, *, now: datetime) -> Grant:
        """A token for the admitted username, or ``Unauthorized``. CPU-bound (scrypt)."""
        partner = self._accounts.get(admission.username)
        stored = _stored(partner)
        presented = normalize_md5(password)
        matches = (stored or self._decoy).matches(presented)
        if (
            partner is None
            or stored is None
            or not matches
            or not partner.allows_address(admission.address)
        ):
            self._limiter.failed(admission)
            raise Unauthorized("unknown username, wrong password or address not registered")
        self._limiter.succeeded(admission)
        self._remember(partner, presented)
        return self._signer.issue(partner, now=now)

    def token(
        self, access_token: str, token_id: str, password_hash: str, *, now: datetime
    ) -> Presented:
        """The submission's ``accessToken`` / ``tokenId`` / ``passwordHash`` headers (CV 3190
        I.2.1, p. 3), the token verified, or ``Unauthorized``. Cheap: no scrypt."""
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
        return Presented(partner, stored, presented, self._known(partner, presented))

    def caller(self, presented: Presented) -> Partner:
        """The partner behind ``presented``, or ``Unauthorized``. Runs scrypt unless ``known``:
        run it in a thread then."""
        if not presented.known:
            if not presented.stored.matches(presented.password_md5):
                raise Unauthorized("passwordHash is not the account's password")
            self._remember(presented.claimed, presented.password_md5)
        return presented.claimed

    def _known(self, partner: Partner, presented: str) -> bool:
        """Whether this process has found ``presented`` to match ``partner``'s stored hash;
        ``Unauthorized`` if it found another one to: only one matches, so no scrypt is needed to
        tell that this one does not."""
        with self._lock:
            checked = self._checked.get(partner.id)
        if checked is None or checked[0] != partner.legacy_password_hash:
            return False
        if not hmac.compare_digest(checked[1], _sha256(presented)):
            raise Unauthorized("passwordHash is not the account's password")
        return True

    def _remember(self, partner: Partner, presented: str) -> None:
        with self._lock:
            self._checked[partner.id] = (partner.legacy_password_hash or "", _sha256(presented))


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
