"""REST route for fraud and review signals, per facility and per HI card."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from gateway.api.auth import granted
from gateway.bootstrap import Gateway
from gateway.errors import Forbidden, XmlMalformed
from gateway.partners import Partner

router = APIRouter(prefix="/api/v1", tags=["signals"])


@router.get("/signals", summary="Signals of one facility or one HI card, oldest first")
def get_signals(
    request: Request,
    partner: Annotated[Partner, Depends(granted("signals.read"))],
    facility: Annotated[str | None, Query(description="facility code (MACSKCB)")] = None,
    card: Annotated[str | None, Query(description="HI card number")] = None,
) -> Response:
    gateway: Gateway = request.app.state.gateway
    if (facility is None) == (card is None):
        raise XmlMalformed("give exactly one of facility or card")
    # A hospital sees its own facilities' signals, never a card's history elsewhere.
    if partner.kind == "hospital" and (facility is None or facility not in partner.facility_codes):
        raise Forbidden(f"{partner.id} may read the signals of its own facilities only")
    name = f"signals-facility:{facility}" if facility else f"signals-card:{card}"
    entries = gateway.pipeline.store.entries(name)
    return Response(b"[" + b",".join(entries) + b"]", media_type="application/json")
