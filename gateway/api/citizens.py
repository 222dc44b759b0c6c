"""Who a VNeID lookup is for (SPEC section 2): the VNeID partner, granted ``si_records.lookup``,
and the citizen its ``X-Citizen-Assertion`` ID token names, who may read only their own record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from gateway.api.auth import authenticated
from gateway.bootstrap import Gateway
from gateway.errors import Forbidden, Unauthorized
from gateway.identity.jwks import FetchNeeded
from gateway.identity.vneid import CitizenAssertion, require_own, require_vneid
from gateway.partners import Partner

ASSERTION_HEADER = "X-Citizen-Assertion"
# What ``citizen_caller`` and ``require_citizen`` answer, and how the OpenAPI description names
# the assertion: a route for citizens declares it beside the partner's credential.
ERRORS = (Unauthorized, Forbidden)
SECURITY_SCHEMES = {
    "citizenAssertion": {
        "type": "apiKey",
        "in": "header",
        "name": ASSERTION_HEADER,
        "description": "the citizen's OpenID Connect ID token from VNeID (RS256 or ES256, level 2)",
    }
}
SECURED: dict[str, Any] = {
    "security": [
        {"apiToken": [], "citizenAssertion": []},
        {"clientCertificate": [], "citizenAssertion": []},
    ]
}


@dataclass(frozen=True)
class CitizenCaller:
    """A VNeID lookup's caller: the partner that sent it, the citizen it is made for."""

    partner: Partner
    assertion: CitizenAssertion

    @property
    def citizen_id(self) -> str:
        return self.assertion.citizen_id


async def citizen_caller(request: Request) -> CitizenCaller:
    """A FastAPI dependency: the VNeID partner granted ``si_records.lookup`` and the assertion
    of its ``X-Citizen-Assertion``; ``Unauthorized`` or ``Forbidden`` otherwise. The token is
    verified on the event loop (a signature check), off it only when the provider's keys must
    be fetched first."""
    gateway: Gateway = request.app.state.gateway
    partner = await authenticated(request)
    require_vneid(partner)
    tokens = request.headers.getlist(ASSERTION_HEADER)
    if len(tokens) != 1 or not tokens[0].strip():
        raise Unauthorized(
            f"one {ASSERTION_HEADER} header, the citizen's VNeID ID token, is required"
        )
    token = tokens[0].strip()
    try:
        assertion = gateway.citizens.verify(token, fetch=False)
    except FetchNeeded:
        assertion = await run_in_threadpool(gateway.citizens.verify, token)
    return CitizenCaller(partner, assertion)


def require_citizen(caller: CitizenCaller, citizen_id: str) -> None:
    """``Forbidden`` unless ``citizen_id`` is the caller's own: a citizen reads only their record.
    The message names neither ID."""
    require_own(caller.assertion, citizen_id)
