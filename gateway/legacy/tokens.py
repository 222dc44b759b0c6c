"""The legacy access tokens: compact JWS (RFC 7515) signed with the gateway's own key, so that
any worker process accepts a token another one issued (``gateway.legacy``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
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

from gateway.errors import ConfigError, Unauthorized
from gateway.legacy.passwords import password_version
from gateway.partners import Partner
from gateway.trust.sign import SigningIdentity

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
