"""The VSS receiving portal's legacy login, kept for hospital software written for it (SPEC
section 4): the password hash, the access tokens and the limit on failed attempts.

What the client sends (CV 3190/BHXH-CNTT, Phụ lục I.1, p. 2–3): ``username`` and ``password`` =
the uppercase MD5 of the real password, then, on every submission (I.2.1, p. 3), the headers
``accessToken``, ``tokenId`` and ``passwordHash`` (the same MD5). The gateway never keeps that
MD5: the partner file holds ``legacy_password_hash``, a scrypt hash of it with a per-partner
random salt, ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` (made by ``legacy_password_hash``).

Access tokens are stateless, so that any worker process accepts a token another one issued: a
compact JWS (RFC 7515) signed with the gateway's own key (ES256 for the default P-256 key, ES384 or
ES512 for other curves, RS256 for an RSA key) over ``{iss, sub: partner id, usr: legacy username,
iat, exp, jti, pwv}``. ``jti`` is what the answer calls ``id_token`` and what comes back as
``tokenId``; ``pwv`` digests the configured password hash, so that changing the password in the
partner file ends every token issued under the old one. A token cannot be revoked one by one: it
lives ``TOKEN_LIFETIME`` (one hour) at most.

Failed logins are counted per username in this process's memory (``AttemptLimiter``): with N
worker processes an attacker gets at most N times the limit, and a restart forgets the count.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from gateway.errors import ConfigError, RateLimited, Unauthorized
from gateway.partners import Partner, PartnerRegistry
from gateway.trust.sign import SigningIdentity

log = logging.getLogger(__name__)

# scrypt cost: 16 MiB and some 50 ms per check (RFC 7914 section 2 recommends n = 2**14, r = 8
# for interactive logins). Stored hashes may use other parameters within ``_MAX_SCRYPT_MEMORY``.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
_MAX_SCRYPT_MEMORY = 256 * 1024 * 1024
TOKEN_LIFETIME = timedelta(hours=1)
_ISSUER = "vss-gateway:legacy-login"
_MAX_TOKEN_CHARS = 4096
_CLOCK_SKEW = 60  # seconds a token's iat may lie ahead of this process's clock (other workers)


# JWS algorithms for the gateway's EC keys (RFC 7518 section 3.4).
_EC_ALGORITHMS: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "secp256r1": ("ES256", hashes.SHA256()),
    "secp384r1": ("ES384", hashes.SHA384()),
    "secp521r1": ("ES512", hashes.SHA512()),
}


def normalize_md5(value: str) -> str:
    """The password as the stored hash was made from it: 32 hex digits in upper case. CV 3190
    asks for upper case (I.1.2) but some hospital software sends lower case, or MD5 without
    case for ``passwordHash`` (I.2.1); the digest is the same, so the case is not held against
    the client."""
    value = value.strip()
    return value.upper() if _is_md5(value) else value


def _is_md5(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdefABCDEF" for c in value)


def legacy_password_hash(
    md5_upper: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = 1
) -> str:
    """What the partner file stores as ``legacy_password_hash`` for a client that sends
    ``md5_upper`` (the MD5 of its password, 32 hex digits) as ``password``."""
    if not _is_md5(md5_upper.strip()):
        raise ValueError("legacy_password_hash expects the MD5 of the password: 32 hex digits")
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(normalize_md5(md5_upper), salt, n=n, r=r, p=p, size=_KEY_BYTES)
    stored = f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"
    _StoredHash.read(stored)  # parameters this module would refuse to check are refused here
    return stored


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(secret: str, salt: bytes, *, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAX_SCRYPT_MEMORY, dklen=size
    )


@dataclass(frozen=True)
class _StoredHash:
    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @classmethod
    def read(cls, text: str) -> _StoredHash:
        """Raise ``ValueError`` unless ``text`` is a hash ``legacy_password_hash`` could make."""
        scheme, n, r, p, salt, key = text.split("$")
        stored = cls(int(n), int(r), int(p), base64.b64decode(salt), base64.b64decode(key))
        memory = 128 * stored.n * stored.r * stored.p
        if (
            scheme != "scrypt"
            or stored.n < 2
            or stored.n & (stored.n - 1)
            or not 1 <= stored.r <= 64
            or not 1 <= stored.p <= 16
            or memory > _MAX_SCRYPT_MEMORY // 2
            or len(stored.salt) < _SALT_BYTES
            or len(stored.key) < 16
        ):
            raise ValueError("not an scrypt hash of the gateway's format")
        return stored

    def matches(self, presented: str) -> bool:
        candidate = _scrypt(presented, self.salt, n=self.n, r=self.r, p=self.p, size=len(self.key))
        return hmac.compare_digest(candidate, self.key)


def password_version(stored: str) -> str:
    """A short digest of a stored hash, carried in tokens: a new password ends old tokens."""
    return hashlib.sha256(stored.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Grant:
    """A successful login: what the answer's ``APIKey`` object carries (CV 3190 I.1.3, p. 3)."""

    access_token: str
    id_token: str
    username: str
    expires_at: datetime
    token_type: str = "Bearer"  # noqa: S105 (a token type, not a secret)


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says."""

    partner_id: str
    username: str
    token_id: str
    password_version: str
    expires_at: datetime


class TokenSigner:
    """Issues and reads the access tokens: compact JWS signed with the gateway's own key.

    Invariant: ``read`` returns claims only for a token whose header is exactly the one this
    signer writes (so no algorithm is ever taken from the token), whose signature verifies with
    the gateway's public key, and whose ``exp`` lies after ``now``."""

    def __init__(self, identity: SigningIdentity, *, lifetime: timedelta = TOKEN_LIFETIME) -> None:
        self._key = key = identity.key
        self._lifetime = lifetime
        self._hash: hashes.HashAlgorithm = hashes.SHA256()
        self._size = 0  # bytes of r and of s in a JWS ECDSA signature (RFC 7518 section 3.4)
        alg = "RS256"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if key.curve.name not in _EC_ALGORITHMS:
                raise ConfigError(f"no JWS algorithm for the gateway's {key.curve.name} key")
            alg, self._hash = _EC_ALGORITHMS[key.curve.name]
            self._size = (key.curve.key_size + 7) // 8
        der = identity.certificate.public_bytes(serialization.Encoding.DER)
        header = {"alg": alg, "kid": hashlib.sha256(der).hexdigest()[:16], "typ": "JWT"}
        self._header = _b64url(orjson.dumps(header, option=orjson.OPT_SORT_KEYS))

    def issue(self, partner: Partner, *, now: datetime) -> Grant:
        assert partner.legacy_username and partner.legacy_password_hash
        token_id = secrets.token_urlsafe(18)
        expires = int(now.timestamp()) + int(self._lifetime.total_seconds())
        claims = {
            "iss": _ISSUER,
            "sub": partner.id,
            "usr": partner.legacy_username,
            "iat": int(now.timestamp()),
            "exp": expires,
            "jti": token_id,
            "pwv": password_version(partner.legacy_password_hash),
        }
        signing_input = f"{self._header}.{_b64url(orjson.dumps(claims))}"
        token = f"{signing_input}.{_b64url(self._sign(signing_input.encode()))}"
        return Grant(
            access_token=token,
            id_token=token_id,
            username=partner.legacy_username,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )

    def _sign(self, data: bytes) -> bytes:
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), self._hash)
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(self._hash)))
        return r.to_bytes(self._size, "big") + s.to_bytes(self._size, "big")

    def _verify(self, data: bytes, signature: bytes) -> None:
        """Raise ``InvalidSignature`` unless ``signature`` is this key's over ``data``."""
        public = self._key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), self._hash)
            return
        if len(signature) != 2 * self._size:
            raise InvalidSignature("wrong signature length")
        r = int.from_bytes(signature[: self._size], "big")
        s = int.from_bytes(signature[self._size :], "big")
        public.verify(encode_dss_signature(r, s), data, ec.ECDSA(self._hash))

    def read(self, token: str, *, now: datetime) -> TokenClaims:
        """The claims of a token this gateway issued that has not expired, or ``Unauthorized``."""
        parts = token.split(".") if len(token) <= _MAX_TOKEN_CHARS else []
        if len(parts) != 3 or not hmac.compare_digest(parts[0].encode(), self._header.encode()):
            raise Unauthorized("the access token is not one this gateway issued")
        try:
            self._verify(f"{parts[0]}.{parts[1]}".encode(), _unb64url(parts[2]))
            claims = orjson.loads(_unb64url(parts[1]))
        except (InvalidSignature, ValueError) as exc:
            raise Unauthorized("the access token is not one this gateway issued") from exc
        expected = {"sub": str, "usr": str, "jti": str, "pwv": str, "iat": int, "exp": int}
        if (
            not isinstance(claims, dict)
            or claims.get("iss") != _ISSUER
            or any(not isinstance(claims.get(k), t) for k, t in expected.items())
        ):
            raise Unauthorized("the access token is not one this gateway issued")
        if claims["exp"] <= now.timestamp():
            raise Unauthorized("the access token has expired: take a new one at /api/token/take")
        if claims["iat"] > now.timestamp() + _CLOCK_SKEW:
            raise Unauthorized("the access token is issued in the future")
        return TokenClaims(
            partner_id=claims["sub"],
            username=claims["usr"],
            token_id=claims["jti"],
            password_version=claims["pwv"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    if not text or any(not (c.isascii() and (c.isalnum() or c in "-_")) for c in text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


class AttemptLimiter:
    """At most ``max_failures`` failed logins per username within ``window``, in memory.

    Usernames that match no partner are counted too, so that being refused says nothing about
    whether an account exists. At most ``max_tracked`` usernames are remembered: the one whose
    last failure is oldest is forgotten first."""

    def __init__(
        self,
        *,
        max_failures: int = 10,
        window: timedelta = timedelta(minutes=5),
        max_tracked: int = 10_000,
    ) -> None:
        self._max = max_failures
        self._window = window.total_seconds()
        self._max_tracked = max_tracked
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, username: str) -> None:
        """Raise ``RateLimited`` while ``username`` has too many recent failures."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(username)
            while failures and failures[0] <= now - self._window:
                failures.popleft()
            if failures is not None and len(failures) >= self._max:
                retry_after = max(1, int(failures[0] + self._window - now) + 1)
                raise RateLimited(
                    "too many failed logins for this username", retry_after=retry_after
                )

    def failed(self, username: str) -> None:
        with self._lock:
            failures = self._failures.pop(username, None) or deque(maxlen=self._max)
            failures.append(time.monotonic())
            self._failures[username] = failures
            while len(self._failures) > self._max_tracked:
                self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


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
        self._decoy = _StoredHash.read(legacy_password_hash("0" * 32))
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


def _stored(partner: Partner | None) -> _StoredHash | None:
    """The partner's parsed legacy hash; ``None`` (no legacy login) if it has none or it is not
    a hash of the gateway's format (logged: it is a mistake in the partner file)."""
    if partner is None or not partner.legacy_username or not partner.legacy_password_hash:
        return None
    try:
        return _StoredHash.read(partner.legacy_password_hash)
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
