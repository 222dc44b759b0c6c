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

Password hashing is the one expensive thing an unauthenticated caller can ask for, so it is
rationed (``LoginLimiter``, ``LoginLimits``). Before any scrypt work, an attempt is refused with
``RateLimited`` (429, ``Retry-After``) when its source address (an IPv6 /64) is over its limit
per minute, when all sources but known ones are over the total, or when its username is locked
from that source address after too many failures. The lock is per username *and* source
address, so that wrong passwords from an attacker's address never lock the hospital out from
its own. The start of each refusal is written to the audit log, once. The counts live behind a
port (``Counters``): in Redis when ``GATEWAY_REDIS_URL`` is set, shared by every gateway process
(Redis down: logins are refused with ``Unavailable``, 503, since uncounted attempts would be
unbounded scrypt work; tokens already issued keep working), else in each process's memory, N
worker processes then making the limits N times looser and a restart forgetting them.

A submission never waits behind login hashing: ``LegacyLogin.token`` verifies the token (cheap)
and knows whether this process has already checked the partner's passwordHash, which it then
compares by digest; only the rare first check (a token another worker issued) runs scrypt, in
threads of its own.

| module         | owns                                                                  |
|----------------|-----------------------------------------------------------------------|
| ``passwords``  | the scrypt hash of the MD5 password: making, reading, checking it     |
| ``tokens``     | the signed access tokens (``TokenSigner``) and what a login grants    |
| ``counters``   | the ``Counters`` port (events per key in fixed windows), in memory    |
| ``limiter``    | the limits on login attempts and failed logins (``LoginLimiter``)     |
| ``login``      | ``LegacyLogin``: logins and the token checks of every submission      |
"""

from __future__ import annotations

from gateway.legacy.limiter import Admission, LoginLimiter, LoginLimits
from gateway.legacy.login import LegacyLogin, Presented
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
    "Admission",
    "Grant",
    "LegacyLogin",
    "LoginLimiter",
    "LoginLimits",
    "Presented",
    "TokenClaims",
    "TokenSigner",
    "legacy_password_hash",
    "md5_upper",
    "normalize_md5",
    "password_version",
]
