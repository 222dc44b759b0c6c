"""The citizen's VNeID ID token (``X-Citizen-Assertion``, SPEC section 2), verified with PyJWT.

``VneidVerifier.verify`` turns the token into a ``CitizenAssertion`` or raises ``Unauthorized``
(not a valid token of VNeID for this gateway) or ``Forbidden`` (valid, but the account's level
of assurance is under level 2). Downstream code reads only the assertion, never the token.

Invariant: an assertion is returned only for a compact JWS whose header names RS256 or ES256
(``alg: none`` and every HMAC refused before any key is looked at, so the public key can never
serve as an HMAC secret), whose ``kid`` is a key of the provider's JWKS bound to that same
algorithm, whose signature verifies, whose ``iss`` is VNeID's, whose ``aud`` holds this
gateway's client id (and ``azp`` names it when there are several audiences), whose ``exp``,
``iat`` and ``nbf`` hold on the injected clock within the leeway, and which names one 12-digit
citizen ID (``SoDinhDanh``, else ``sub``) at level 2 or above (``loAs``, else ``acr``).

Details are fixed strings: no part of a token reaches a message or a log.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt
from jwt import exceptions as jwt_errors

from gateway.clock import Clock
from gateway.config import Settings
from gateway.errors import ConfigError, Forbidden, Unauthorized
from gateway.identity.jwks import Fetch, JwksCache, source
from gateway.partners import Partner, PartnerRegistry, require_service

# What VNeID signs with (SPEC section 2); never configurable.
ALGORITHMS = ("RS256", "ES256")
# The service whose callers carry a citizen assertion (SPEC section 2).
SERVICE = "si_records.lookup"
CITIZEN_ID = re.compile(r"[0-9]{12}")  # fullmatch: no other digits, no newline
# acr_values LoA1 | LoA2 at the DVCQG SSO (reference IDENTITY.md 2.1); plain digits accepted too.
_LEVEL = re.compile(r"(?:loa)?([1-9])", re.IGNORECASE)
_MAX_JTI = 256


@dataclass(frozen=True)
class VneidPolicy:
    """What a token must carry: VNeID's issuer, this gateway's client id, and the clock skew
    allowed on ``exp``, ``iat`` and ``nbf``."""

    issuer: str
    client_id: str
    leeway: timedelta = timedelta(seconds=30)
    min_level: int = 2  # electronic SI books are linked to level-2 accounts (IDENTITY.md 2.4)
    max_token_chars: int = 8 * 1024


@dataclass(frozen=True)
class CitizenAssertion:
    """A verified VNeID ID token: the citizen it names, at which level, until when.
    ``token_id`` is its ``jti``, or a digest of the token when it has none."""

    citizen_id: str
    level: int
    token_id: str
    expires_at: datetime


def require_vneid(partner: Partner) -> None:
    """``Forbidden`` unless ``partner`` is VNeID, granted the lookups: citizens' reads come from
    VNeID only."""
    if partner.kind != "vneid":
        raise Forbidden(f"partner {partner.id} is not VNeID; citizens' lookups come from VNeID")
    require_service(partner, SERVICE)


def require_own(assertion: CitizenAssertion, citizen_id: str) -> None:
    """``Forbidden`` unless ``citizen_id`` is the assertion's: a citizen reads only their own
    record. The message names neither ID."""
    if assertion.citizen_id != citizen_id:
        raise Forbidden("a citizen may read only their own record")


class CitizenVerifier(Protocol):
    """What the lookup entrypoints verify ``X-Citizen-Assertion`` with."""

    def verify(self, token: str, *, fetch: bool = True) -> CitizenAssertion:
        """The assertion of ``token``; ``Unauthorized`` or ``Forbidden``. With ``fetch=False``
        it raises ``jwks.FetchNeeded`` rather than fetch the provider's keys over the network."""


class NoCitizenVerifier:
    """The verifier of a gateway with no VNeID configured: every token is refused (bootstrap
    refuses to start if a partner is granted the lookups without one)."""

    def verify(self, token: str, *, fetch: bool = True) -> CitizenAssertion:
        raise Unauthorized("this gateway accepts no VNeID citizen assertion")


# PyJWT's exceptions, most specific first (the signature's before DecodeError, its base).
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (jwt_errors.InvalidAlgorithmError, "the citizen assertion's algorithm is not its key's"),
    (jwt_errors.InvalidSignatureError, "the citizen assertion's signature does not verify"),
    (jwt_errors.InvalidIssuerError, "the citizen assertion was not issued by VNeID"),
    (jwt_errors.InvalidAudienceError, "the citizen assertion was not issued for this gateway"),
    (jwt_errors.InvalidJTIError, "the citizen assertion's jti is not a string"),
    (jwt_errors.InvalidSubjectError, "the citizen assertion's sub is not a string"),
    (jwt_errors.DecodeError, "the citizen assertion is not a well-formed JWT"),
)


def _refusal(exc: jwt_errors.PyJWTError) -> Unauthorized:
    if isinstance(exc, jwt_errors.MissingRequiredClaimError):
        return Unauthorized(f"the citizen assertion has no {exc.claim} claim")
    for kind, detail in _REFUSALS:
        if isinstance(exc, kind):
            return Unauthorized(detail)
    return Unauthorized("the citizen assertion is not valid")


def _header(token: str) -> dict[str, Any]:
    """The token's JOSE header as PyJWT reads and checks it, from its header segment alone:
    ``get_unverified_header`` of the whole token would decode the payload and signature too
    (checking each character), which ``jwt.decode`` does again, 0.13 ms of a 0.6 ms lookup
    (bench/README.md, ``bench.lookups``). ``jwt.decode`` reads the header again and checks it."""
    return jwt.get_unverified_header(token.partition(".")[0] + "..")


class VneidVerifier:
    """Verifies VNeID ID tokens against the provider's keys; safe to share between threads."""

    def __init__(self, policy: VneidPolicy, keys: JwksCache, clock: Clock) -> None:
        self.policy = policy
        self._keys = keys
        self._clock = clock

    def verify(self, token: str, *, fetch: bool = True) -> CitizenAssertion:
        if len(token) > self.policy.max_token_chars:
            raise Unauthorized("the citizen assertion is too long")
        try:
            header = _header(token)
        except jwt_errors.PyJWTError as exc:
            raise _refusal(exc) from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized("the citizen assertion's algorithm is not accepted: RS256 or ES256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("the citizen assertion names no key (kid)")
        key = self._keys.keys(fetch=fetch).get(kid)
        if key is None:  # the provider may have rotated since the keys were read
            key = self._keys.refreshed(fetch=fetch).get(kid)
        if key is None:
            raise Unauthorized("the citizen assertion's key (kid) is not one of VNeID's")
        if key.algorithm_name != header["alg"]:  # recent PyJWT checks it as well
            raise Unauthorized("the citizen assertion's algorithm is not its key's")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.policy.client_id,
                issuer=self.policy.issuer,
                # Times are checked below on the injected clock; PyJWT would read the machine's.
                options={
                    "require": ["iss", "aud", "exp", "iat"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt_errors.PyJWTError as exc:
            raise _refusal(exc) from exc
        expires_at = self._check_times(claims)
        self._check_azp(claims)
        return CitizenAssertion(
            citizen_id=_citizen_id(claims),
            level=self._level(claims),
            token_id=_token_id(claims, token),
            expires_at=expires_at,
        )

    def _check_times(self, claims: dict[str, Any]) -> datetime:
        exp, iat, nbf = (_seconds(claims, name) for name in ("exp", "iat", "nbf"))
        now = self._clock.now().timestamp()
        leeway = self.policy.leeway.total_seconds()
        assert exp is not None and iat is not None  # required above
        if exp <= now - leeway:
            raise Unauthorized("the citizen assertion has expired")
        if iat > now + leeway:
            raise Unauthorized("the citizen assertion is issued in the future (iat)")
        if nbf is not None and nbf > now + leeway:
            raise Unauthorized("the citizen assertion is not valid yet (nbf)")
        return datetime.fromtimestamp(exp, UTC)

    def _check_azp(self, claims: dict[str, Any]) -> None:
        """OpenID Connect Core 3.1.3.7: a token for several audiences must name this client as
        the party it was issued to; an ``azp`` present must name it in any case."""
        audiences = claims["aud"]
        several = isinstance(audiences, list) and len(audiences) > 1
        if (several or "azp" in claims) and claims.get("azp") != self.policy.client_id:
            raise Unauthorized("the citizen assertion was issued to another client (azp)")

    def _level(self, claims: dict[str, Any]) -> int:
        level = _level_of(claims["loAs"] if "loAs" in claims else claims.get("acr"))
        if level is None:
            raise Forbidden(
                f"the citizen assertion carries no level of assurance (loAs or acr); level "
                f"{self.policy.min_level} is required"
            )
        if level < self.policy.min_level:
            raise Forbidden(f"a level-{self.policy.min_level} VNeID account is required")
        return level


def _seconds(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthorized(f"the citizen assertion's {name} is not a number of seconds")
    return float(value)


def _citizen_id(claims: dict[str, Any]) -> str:
    if "SoDinhDanh" in claims:
        value = claims["SoDinhDanh"]
        if not isinstance(value, str) or not CITIZEN_ID.fullmatch(value):
            raise Unauthorized("the citizen assertion's SoDinhDanh is not a 12-digit citizen ID")
        return value
    sub = claims.get("sub")
    if not isinstance(sub, str) or not CITIZEN_ID.fullmatch(sub):
        raise Unauthorized("the citizen assertion names no 12-digit citizen ID (SoDinhDanh, sub)")
    return sub


def _level_of(value: Any) -> int | None:
    """The level a ``loAs`` or ``acr`` value names: 2, "2", "LoA2"; a list (``loAs`` is plural,
    [inferred]) names its highest. None when it names none."""
    if isinstance(value, list):
        levels = [level for item in value if (level := _level_of(item)) is not None]
        return max(levels, default=None)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and (match := _LEVEL.fullmatch(value)):
        return int(match.group(1))
    return None


def _token_id(claims: dict[str, Any], token: str) -> str:
    jti = claims.get("jti")
    if isinstance(jti, str) and 0 < len(jti) <= _MAX_JTI:
        return jti
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def from_settings(
    settings: Settings, *, partners: PartnerRegistry, clock: Clock, fetch: Fetch
) -> CitizenVerifier:
    """The verifier of ``GATEWAY_VNEID_*``: a JWKS file is read now (a mistake stops startup), a
    URL at the first token. Without them, ``NoCitizenVerifier``, unless a partner is granted
    the lookups: then startup stops."""
    location, issuer, client_id = (
        settings.vneid_jwks,
        settings.vneid_issuer,
        settings.vneid_client_id,
    )
    granted = sorted(p.id for p in partners.all() if p.may(SERVICE))
    if not (location or issuer or client_id) and not granted:
        return NoCitizenVerifier()
    if not (location and issuer and client_id):
        why = f"partner {granted[0]} is granted {SERVICE}" if granted else "one of them is set"
        raise ConfigError(
            f"GATEWAY_VNEID_JWKS, GATEWAY_VNEID_ISSUER and GATEWAY_VNEID_CLIENT_ID are all "
            f"required ({why}): the citizen's VNeID ID token is checked against them"
        )
    keys = JwksCache(
        source(location, fetch),
        clock=clock,
        ttl=timedelta(seconds=settings.vneid_jwks_ttl),
        refresh_interval=timedelta(seconds=settings.vneid_jwks_refresh),
    )
    if not keys.remote:
        keys.load()
    policy = VneidPolicy(issuer, client_id, leeway=timedelta(seconds=settings.vneid_leeway))
    return VneidVerifier(policy, keys, clock)
