"""REST route of VNeID lookups: ``GET /api/v1/si-records/{citizen_id}`` (SPEC sections 2 and 4),
a thin entrypoint over ``gateway.sirecords.lookups``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from gateway.api import citizens, problems
from gateway.api.auth import authenticate
from gateway.api.citizens import ASSERTION_HEADER
from gateway.bootstrap import Gateway
from gateway.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, Unavailable
from gateway.partners import Partner
from gateway.sirecords import lookups
from gateway.sirecords.answer import SiRecordAnswer
from gateway.sirecords.model import CITIZEN_ID

router = APIRouter(prefix="/api/v1", tags=["si-records"])

PURPOSE_HEADER = "X-Purpose"
# Personal data: no cache between VNeID and the gateway keeps a copy (RFC 9111 section 5.2.2.5).
NO_STORE = {"Cache-Control": "no-store"}


def assertion_of(request: Request) -> str | None:
    """The request's one ``X-Citizen-Assertion``; None when it has none, an empty one, or
    several (which token would be the citizen's?)."""
    tokens = request.headers.getlist(ASSERTION_HEADER)
    return (tokens[0].strip() or None) if len(tokens) == 1 else None


@router.get(
    "/si-records/{citizen_id}",
    summary="The SI record of the citizen whose VNeID ID token comes with the request",
    description=(
        "For the VNeID partner (granted `si_records.lookup`), with the citizen's level-2 VNeID "
        f"ID token in `{ASSERTION_HEADER}`; only the token's own citizen may be read. "
        "The SI number, contribution periods, HI cards, the latest treatments paid under them "
        "and the benefits granted; nothing VNeID already holds (name, birth, gender). Each "
        "lookup, answered or refused, is written to the audit log with its purpose "
        f"(`{PURPOSE_HEADER}`, by default `{lookups.DEFAULT_PURPOSE}`: the citizen reading "
        "their own record). Limited per citizen: 429 RATE_LIMITED with Retry-After. When the "
        "gateway checks persons with the national population database, a record whose person "
        "it does not hold under the citizen's ID is 409 CONFLICT (rule "
        f"`{lookups.MISMATCH}`), and the database not answering 503 UNAVAILABLE."
    ),
    response_class=Response,
    responses={
        200: {"model": SiRecordAnswer, "description": "the citizen's SI record"},
        **problems.responses(Unauthorized, Forbidden, NotFound, Conflict, RateLimited, Unavailable),
    },
    openapi_extra=citizens.SECURED,
)
def get_si_record(
    citizen_id: Annotated[
        str, Path(pattern=CITIZEN_ID, description="the citizen's 12-digit personal ID (CCCD)")
    ],
    request: Request,
    partner: Annotated[Partner, Depends(authenticate)],
    purpose: Annotated[
        str | None,
        Header(
            alias=PURPOSE_HEADER,
            pattern=f"^{lookups.PURPOSE.pattern}$",
            description="why the record is read: a code, recorded in the audit log",
        ),
    ] = None,
) -> Response:
    gateway: Gateway = request.app.state.gateway
    answer = lookups.lookup(
        gateway.lookups,
        citizen_id,
        partner=partner,
        token=assertion_of(request),
        channel="rest",
        purpose=purpose or lookups.DEFAULT_PURPOSE,
    )
    return Response(answer, media_type="application/json", headers=NO_STORE)
