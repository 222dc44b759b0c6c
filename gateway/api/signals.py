"""REST route for fraud and review signals, per facility and per HI card."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from gateway import reads
from gateway.api import auth, problems
from gateway.api.auth import authenticate
from gateway.bootstrap import Gateway
from gateway.errors import Unavailable, XmlMalformed
from gateway.partners import Partner
from gateway.records.model import SignalEntry

router = APIRouter(prefix="/api/v1", tags=["signals"])

# Beyond it, a page start is not a position in any list (and SQLite cannot bind it).
MAX_OFFSET = 10**9


@router.get(
    "/signals",
    summary="Signals of one facility or one HI card, oldest first",
    responses={
        200: {
            "model": list[SignalEntry],
            "description": "one page of signals",
            "headers": {"Link": {"description": 'the next page, rel="next", if there is one'}},
        },
        # XML_MALFORMED (SPEC section 5) also for a request that is not well-formed: neither or
        # both of facility and card, or a parameter out of its bounds.
        **problems.responses(XmlMalformed, *auth.ERRORS, Unavailable),
    },
    openapi_extra=auth.SECURED,
)
def get_signals(
    request: Request,
    *,
    partner: Annotated[Partner, Depends(authenticate)],
    facility: Annotated[
        str | None, Query(description="facility code (MACSKCB); give this or card")
    ] = None,
    card: Annotated[str | None, Query(description="HI card number; give this or facility")] = None,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="signals to skip, oldest first")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 100,
) -> Response:
    if (facility is None) == (card is None):
        raise XmlMalformed("give exactly one of facility or card")
    gateway: Gateway = request.app.state.gateway
    entries = reads.signals(
        gateway,
        partner,
        facility=facility,
        card=card,
        channel="rest",
        start=offset,
        limit=limit + 1,  # one more tells whether there is a next page
    )
    headers = {}
    if len(entries) > limit:
        entries = entries[:limit]
        following = request.url.include_query_params(offset=offset + limit)
        headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return Response(
        b"[" + b",".join(entries) + b"]", media_type="application/json", headers=headers
    )
