"""REST route for fraud and review signals, per facility and per HI card."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from gateway import reads
from gateway.api.auth import authenticate
from gateway.bootstrap import Gateway
from gateway.errors import XmlMalformed
from gateway.partners import Partner

router = APIRouter(prefix="/api/v1", tags=["signals"])


@router.get("/signals", summary="Signals of one facility or one HI card, oldest first")
def get_signals(
    request: Request,
    *,
    partner: Annotated[Partner, Depends(authenticate)],
    facility: Annotated[str | None, Query(description="facility code (MACSKCB)")] = None,
    card: Annotated[str | None, Query(description="HI card number")] = None,
    offset: Annotated[int, Query(ge=0, description="signals to skip, oldest first")] = 0,
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
