"""A VNeID identity-provider simulator: OIDC discovery, a JWKS that rotates, signed ID tokens.

It publishes what a relying party of an OpenID Connect provider reads (``reference/IDENTITY.md``
section 2.1, claims named as the DVCQG SSO names them: ``SoDinhDanh``, ``loAs``):
``GET /.well-known/openid-configuration`` and ``GET /jwks``. It holds one current key per
algorithm (RS256, ES256); ``rotate`` makes a new current key and retires the old one, which
stays published for ``retire_after`` (tokens it signed still verify) and is then dropped.

Tokens come from ``IdentityProvider.mint`` (a valid ID token, each claim overridable for the
tests' bad cases: expired, not yet valid, wrong ``iss`` or ``aud``, level 1) and ``forge`` (the
attacks: ``alg: none``, HS256 keyed with the RSA public key, a key not published, a signature by
another key), or over HTTP for the demo: ``POST /_simulator/tokens``, ``POST /_simulator/rotate``,
``POST /_simulator/keys/drop-retired``. Run it in a thread (``gateway.server.ServerThread``) or
as a process (``python -m adapters.vneid.simulator``, configured by ``GATEWAY_VNEID_*``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import BaseModel, Field

from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.simulators import serve

Algorithm = Literal["RS256", "ES256"]
Forgery = Literal["alg-none", "hs256-public-key", "unknown-kid", "wrong-key"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _new_private_key(alg: Algorithm) -> PrivateKey:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class SigningKey:
    """One key of the provider: its ``kid``, algorithm, and when it was retired (None: current)."""

    kid: str
    alg: Algorithm
    private: PrivateKey
    retired_at: datetime | None = None

    @classmethod
    def new(cls, alg: Algorithm) -> SigningKey:
        return cls(f"{alg.lower()}-{secrets.token_hex(6)}", alg, _new_private_key(alg))

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(header: Mapping[str, Any], claims: Mapping[str, Any], sign: Any) -> str:
    """A JWS built by hand, for the forgeries PyJWT rightly refuses to make."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


class IdentityProvider:
    """The simulated provider's keys and tokens, shared by its HTTP handlers and the test or demo
    driving it."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        clock: Clock | None = None,
        retire_after: timedelta = timedelta(hours=1),
        token_lifetime: timedelta = timedelta(minutes=10),
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._clock = clock or SystemClock()
        self._retire_after = retire_after
        self._token_lifetime = token_lifetime
        self._lock = threading.Lock()
        self._keys = [SigningKey.new("RS256"), SigningKey.new("ES256")]

    def current(self, alg: Algorithm = "RS256") -> SigningKey:
        """The key that signs new tokens of ``alg``."""
        with self._lock:
            return next(k for k in reversed(self._keys) if k.alg == alg and k.retired_at is None)

    def rotate(self, alg: Algorithm = "RS256") -> SigningKey:
        """A new current key of ``alg``; the one before is retired and published a while more."""
        new = SigningKey.new(alg)
        with self._lock:
            now = self._clock.now()
            for key in self._keys:
                if key.alg == alg and key.retired_at is None:
                    key.retired_at = now
            self._keys.append(new)
        return new

    def drop_retired(self) -> None:
        """Stop publishing every retired key now."""
        with self._lock:
            self._keys = [k for k in self._keys if k.retired_at is None]

    def published(self) -> list[SigningKey]:
        """The keys in the JWKS: current ones, and retired ones for ``retire_after``."""
        now = self._clock.now()
        with self._lock:
            return [
                k
                for k in self._keys
                if k.retired_at is None or now < k.retired_at + self._retire_after
            ]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.published()]}

    def discovery(self, base_url: str) -> dict[str, Any]:
        """The OpenID Provider metadata (OpenID Connect Discovery 1.0, section 3)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base_url}/auth",
            "token_endpoint": f"{base_url}/token",
            "userinfo_endpoint": f"{base_url}/userinfo",
            "jwks_uri": f"{base_url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "scopes_supported": ["openid"],
            "acr_values_supported": ["LoA1", "LoA2"],
            "claims_supported": ["sub", "SoDinhDanh", "HoVaTen", "MaBHXH", "loAs", "acr"],
        }

    def claims(
        self,
        citizen_id: str,
        *,
        level: int = 2,
        id_claim: Literal["SoDinhDanh", "sub"] = "SoDinhDanh",
        level_claim: Literal["loAs", "acr"] = "loAs",
        issued_at: datetime | None = None,
        lifetime: timedelta | None = None,
        not_before: datetime | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """The claims of an ID token for ``citizen_id`` at ``level``; ``overrides`` replace any
        (``iss``, ``aud``, ``azp``...), a None value removes it."""
        iat = issued_at or self._clock.now()
        exp = iat + (lifetime if lifetime is not None else self._token_lifetime)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": int(iat.timestamp()),
            "exp": int(exp.timestamp()),
            "jti": secrets.token_urlsafe(16),
            level_claim: f"LoA{level}",
        }
        if id_claim == "SoDinhDanh":
            # VNeID's subject is its own account id; the citizen ID is a claim of its own.
            claims["sub"] = hashlib.sha256(f"vneid:{citizen_id}".encode()).hexdigest()[:32]
            claims["SoDinhDanh"] = citizen_id
        else:
            claims["sub"] = citizen_id
        if not_before is not None:
            claims["nbf"] = int(not_before.timestamp())
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(self, citizen_id: str, *, alg: Algorithm = "RS256", **options: Any) -> str:
        """A signed ID token (``options`` as ``claims`` takes them)."""
        key = self.current(alg)
        return jwt.encode(
            self.claims(citizen_id, **options), key.private, algorithm=alg, headers={"kid": key.kid}
        )

    def forge(self, forgery: Forgery, citizen_id: str, **options: Any) -> str:
        """A token an attacker could make: valid claims, a signature VNeID never made."""
        claims = self.claims(citizen_id, **options)
        key = self.current("RS256")
        if forgery == "alg-none":
            return _compact({"alg": "none", "typ": "JWT", "kid": key.kid}, claims, lambda _: b"")
        if forgery == "hs256-public-key":
            # The key-confusion attack: the public key, as published, used as an HMAC secret.
            secret = key.public_pem()
            header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
            return _compact(header, claims, lambda m: hmac.new(secret, m, hashlib.sha256).digest())
        stray = SigningKey.new("RS256")
        kid = stray.kid if forgery == "unknown-kid" else key.kid
        return jwt.encode(claims, stray.private, algorithm="RS256", headers={"kid": kid})


class TokenRequest(BaseModel):
    """The body of ``POST /_simulator/tokens``."""

    SoDinhDanh: str = Field(pattern=r"^[0-9]{12}$")
    level: int = Field(default=2, ge=1, le=4)
    alg: Algorithm = "RS256"
    forgery: Forgery | None = None


class RotateRequest(BaseModel):
    alg: Algorithm = "RS256"


def create_app(provider: IdentityProvider) -> FastAPI:
    """The simulator's HTTP face: discovery, JWKS and its admin endpoints."""
    app = FastAPI(title="VNeID simulator", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/.well-known/openid-configuration")
    async def discovery(request: Request) -> dict[str, Any]:
        return provider.discovery(str(request.base_url).rstrip("/"))

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return provider.jwks()

    @app.post("/_simulator/tokens")
    async def tokens(body: TokenRequest) -> dict[str, str]:
        if body.forgery is not None:
            return {"id_token": provider.forge(body.forgery, body.SoDinhDanh, level=body.level)}
        return {"id_token": provider.mint(body.SoDinhDanh, level=body.level, alg=body.alg)}

    @app.post("/_simulator/rotate")
    async def rotate(body: RotateRequest) -> dict[str, str]:
        return {"kid": provider.rotate(body.alg).kid}

    @app.post("/_simulator/keys/drop-retired", status_code=204)
    async def drop_retired() -> None:
        provider.drop_retired()

    return app


def from_settings(settings: Settings) -> tuple[IdentityProvider, FastAPI]:
    """The simulated provider whose tokens a gateway of ``settings`` accepts."""
    if not (settings.vneid_issuer and settings.vneid_client_id):
        raise ConfigError("GATEWAY_VNEID_ISSUER and _CLIENT_ID configure the simulator")
    provider = IdentityProvider(issuer=settings.vneid_issuer, client_id=settings.vneid_client_id)
    return provider, create_app(provider)


def main(argv: list[str] | None = None) -> None:
    """Serve the simulator as a process, for the issuer and client id the gateway expects."""
    serve(argv, from_settings, description="VNeID simulator (GATEWAY_VNEID_* settings)", port=8091)


if __name__ == "__main__":
    main()
