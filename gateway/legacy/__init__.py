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

| module         | owns                                                                  |
|----------------|-----------------------------------------------------------------------|
| ``passwords``  | the scrypt hash of the MD5 password: making, reading, checking it     |
| ``tokens``     | the signed access tokens (``TokenSigner``) and what a login grants    |
| ``limiter``    | the in-memory limit on failed logins per username                     |
| ``login``      | ``LegacyLogin``: logins and the token checks of every submission      |
"""

from __future__ import annotations

from gateway.legacy.limiter import AttemptLimiter
from gateway.legacy.login import LegacyLogin
from gateway.legacy.passwords import (
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    legacy_password_hash,
    md5_upper,
    normalize_md5,
    password_version,
)
from gateway.legacy.tokens import TOKEN_LIFETIME, Grant, TokenClaims, TokenSigner

__all__ = [
    "SCRYPT_N",
    "SCRYPT_P",
    "SCRYPT_R",
    "TOKEN_LIFETIME",
    "AttemptLimiter",
    "Grant",
    "LegacyLogin",
    "TokenClaims",
    "TokenSigner",
    "legacy_password_hash",
    "md5_upper",
    "normalize_md5",
    "password_version",
]
