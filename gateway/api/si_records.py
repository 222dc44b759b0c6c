"""REST routes of VNeID lookups: ``GET /api/v1/si-records/{citizen_id}`` (SPEC sections 2 and 4)
and the citizen's accesses ``GET /api/v1/si-records/{citizen_id}/accesses``, thin entrypoints
over ``gateway.sirecords.lookups`` and ``gateway.sirecords.accesses``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from gateway.api import citizens, problems
from gateway.api.auth import authenticate
from gateway.api.citizens import ASSERTION_HEADER
from gateway.bootstrap import Gateway
from gateway.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, Unavailable
from gateway.partners import Partner
from gateway.sirecords import accesses, lookups
from gateway.sirecords.answer import SiRecordAnswer
from gateway.sirecords.model import CITIZEN_ID

router = APIRouter(prefix="/api/v1", tags=["si-records"])

PURPOSE_HEADER = "X-Purpose"
# Personal data: no cache between VNeID and the gateway keeps a copy (RFC 9111 section 5.2.2.5).
NO_STORE = {"Cache-Control": "no-store"}


CitizenId = Annotated[
    str, Path(pattern=CITIZEN_ID, description="the citizen's 12-digit personal ID (CCCD)")
]
Purpose = Annotated[
    str | None,
    Header(
        alias=PURPOSE_HEADER,
        pattern=f"^{lookups.PURPOSE.pattern}$",
        description="why the record is read: a code, recorded in the audit log",
    ),
]


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
    citizen_id: CitizenId,
    request: Request,
    partner: Annotated[Partner, Depends(authenticate)],
    purpose: Purpose = None,
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


@router.get(
    "/si-records/{citizen_id}/accesses",
    summary="Who read the data of the citizen whose VNeID ID token comes with the request",
    description=(
        "The citizen's right to know who processed their personal data (Decree 13/2023 Art. 9, "
        "Law 91/2025): the reads of their data the audit log holds, newest first, by pages "
        "(`next`): VNeID lookups, hospitals' card checks, reads of claim records and dossiers "
        "about them, and reads of this list. Each with when, the reader's display name and "
        "kind, the channel and action, the declared purpose and the result. Same caller as the "
        f"lookup: the VNeID partner with the citizen's own level-2 ID token in "
        f"`{ASSERTION_HEADER}`. Each read of the list is itself audited. Limited per citizen: "
        "429 RATE_LIMITED with Retry-After."
    ),
    response_model=accesses.AccessesAnswer,
    responses=problems.responses(Unauthorized, Forbidden, RateLimited, Unavailable),
    openapi_extra=citizens.SECURED,
)
def get_accesses(
    citizen_id: CitizenId,
    request: Request,
    *,
    partner: Annotated[Partner, Depends(authenticate)],
    purpose: Purpose = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="the `next` page's cursor: accesses older than this"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=accesses.MAX_PAGE)] = 20,
) -> Response:
    gateway: Gateway = request.app.state.gateway
    found, following = accesses.accesses(
        gateway.lookups,
        citizen_id,
        partner=partner,
        token=assertion_of(request),
        channel="rest",
        purpose=purpose or lookups.DEFAULT_PURPOSE,
        before=before,
        limit=limit,
    )
    link = None
    if following is not None:
        query = urlencode({"before": following, "limit": limit})
        link = f"/api/v1/si-records/{citizen_id}/accesses?{query}"
    body = accesses.AccessesAnswer(accesses=found, next=link)
    return Response(body.model_dump_json(), media_type="application/json", headers=NO_STORE)
