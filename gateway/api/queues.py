"""REST routes for department queues: the routed, unfinished work, and claims of it by workers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from gateway.api import auth, problems, work
from gateway.api.auth import granted
from gateway.api.dossiers import (
    PAGE_ANSWER,
    PARAMETER_ERRORS,
    Cursor,
    DossierView,
    Limit,
    json_answer,
    page,
    view,
)
from gateway.bootstrap import Gateway
from gateway.dossiers import service
from gateway.dossiers.routing import DEPARTMENT_NAME
from gateway.errors import Conflict
from gateway.partners import Partner

router = APIRouter(prefix="/api/v1", tags=["queues"])

Department = Annotated[str, Path(max_length=64, pattern=DEPARTMENT_NAME)]
Token = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


class ClaimView(BaseModel):
    """A task of the queue, held by one worker until ``until`` or its acknowledgement."""

    token: str
    department: str
    worker: str
    until: datetime = Field(description="when the task goes back to the queue if not acked")
    deliveries: int = Field(description="how many times the task was handed out (1: first)")
    dossier: DossierView
    links: dict[str, str]


@router.get(
    "/queues/{department}",
    summary="The department's routed, unfinished dossiers, by pages",
    response_class=Response,
    responses=PAGE_ANSWER,
    openapi_extra=auth.SECURED,
)
async def get_queue(
    department: Department,
    request: Request,
    partner: Annotated[Partner, Depends(granted("queues.read"))],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    gateway: Gateway = request.app.state.gateway
    found = await work.offload(
        request,
        service.queue,
        department,
        partner=partner,
        deps=gateway.dossiers,
        cursor=cursor,
        limit=limit,
    )
    at = gateway.dossiers.clock.now()
    path = f"/api/v1/queues/{department}"
    return json_answer(page(found, at=at, path=path, params={"limit": str(limit)}))


@router.post(
    "/queues/{department}/claims",
    summary="Claim the department's next task for a worker, for a visibility timeout",
    response_class=Response,
    responses={
        200: {"model": ClaimView, "description": "the task claimed, with its dossier"},
        204: {"description": "no task is available now"},
        **problems.responses(*PARAMETER_ERRORS),
    },
    openapi_extra=auth.SECURED,
)
async def post_claim(
    department: Department,
    request: Request,
    partner: Annotated[Partner, Depends(granted("queues.claim"))],
    worker: Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")] = "worker",
    visibility: Annotated[
        float, Query(ge=service.MIN_VISIBILITY, le=service.MAX_VISIBILITY)
    ] = 300.0,
) -> Response:
    gateway: Gateway = request.app.state.gateway
    claimed = await work.offload(
        request,
        service.claim,
        department,
        partner=partner,
        deps=gateway.dossiers,
        worker=worker,
        visibility=visibility,
    )
    if claimed is None:
        return Response(status_code=204)
    task = claimed.claim
    at = gateway.dossiers.clock.now()
    return json_answer(
        {
            "token": task.token,
            "department": task.department,
            "worker": task.worker,
            "until": task.until.isoformat(),
            "deliveries": task.deliveries,
            "dossier": view(claimed.dossier, partner=partner, at=at),
            "links": {"ack": f"/api/v1/queues/{department}/claims/{task.token}/ack"},
        }
    )


@router.post(
    "/queues/{department}/claims/{token}/ack",
    summary="Done with a claimed task: it leaves the queue, or goes back to it if the dossier "
    "still needs the department (received, accepted, processing)",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "acknowledged"},
        **problems.responses(*PARAMETER_ERRORS, Conflict),
    },
    openapi_extra=auth.SECURED,
)
async def post_ack(
    department: Department,
    token: Token,
    request: Request,
    partner: Annotated[Partner, Depends(granted("queues.claim"))],
) -> Response:
    gateway: Gateway = request.app.state.gateway
    await work.offload(
        request, service.ack, token, department=department, partner=partner, deps=gateway.dossiers
    )
    return Response(status_code=204)
