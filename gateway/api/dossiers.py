"""REST routes for dossiers: submit, add documents, move through the lifecycle, read, list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError

from gateway.api import auth, problems, work
from gateway.api.auth import granted
from gateway.api.claims import (
    DOCUMENT_ERRORS,
    JSON,
    READ_ERRORS,
    XML_BODY,
    read_body,
    read_xml_body,
)
from gateway.bootstrap import Gateway
from gateway.dossiers import service
from gateway.dossiers.lifecycle import Actor, State, allowed_moves
from gateway.dossiers.ports import Dossier, Page
from gateway.dossiers.routing import DEPARTMENT_NAME
from gateway.dossiers.service import MA_HO_SO, MA_TTHC, Move, Submitted
from gateway.errors import (
    Conflict,
    NotFound,
    RuleViolation,
    Unavailable,
    XmlMalformed,
    XmlTooLarge,
)
from gateway.partners import Partner
from gateway.receipts import DossierReceipt

router = APIRouter(prefix="/api/v1", tags=["dossiers"])

# A move is a few fields: its body is bounded well below any document's.
MAX_MOVE_BYTES = 64 * 1024
DossierId = Annotated[str, Path(max_length=64, pattern=r"^[0-9A-Za-z]+$")]
Cursor = Annotated[str | None, Query(max_length=256)]
Limit = Annotated[int, Query(ge=1, le=200)]


class ApplicantView(BaseModel):
    kind: Literal["citizen", "unit"]
    id: str = Field(description="citizen ID (CCCD) or tax code (MST)")
    name: str


class Step(BaseModel):
    """One entry of a dossier's history: who, when, why."""

    state: State
    at: datetime
    actor: Actor
    by: str = Field(description="partner id, or gateway")
    reason: str | None = None
    documents: list[str] = Field(description="supplement_requested: the documents asked for")
    due_date: date | None = Field(description="the due date from this change on")
    officer: str | None = None


class DossierSummary(BaseModel):
    """A dossier's identity, routing, state and due date."""

    id: str
    ma_ho_so: str = Field(description="the portal's dossier code (MaHoSo)")
    ma_tthc: str = Field(description="the portal's procedure code (MaTTHC) as sent")
    procedure: str
    department: str
    state: State
    received_at: datetime
    due_date: date = Field(description="NgayHenTra, Vietnam calendar date")
    late: bool = Field(description="decided after its due date, or undecided and past it")
    finished_at: datetime | None
    applicant: ApplicantView
    requested_documents: list[str]
    supplement_due: date | None
    version: int
    links: dict[str, str]


class DossierView(DossierSummary):
    """A dossier with its full history and the moves its caller may make now."""

    history: list[Step]
    allowed: list[State] = Field(description="the states the caller may move it to now")


class DossierPage(BaseModel):
    items: list[DossierSummary]
    next: str | None = Field(description="the next page, None on the last one")


class DossierReceiptAnswer(DossierReceipt):
    """The answer to a submission: its receipt, and whether that receipt is the one of an
    earlier submission of the same dossier."""

    duplicate: bool
    links: dict[str, str]


def summary(dossier: Dossier, *, at: datetime) -> dict[str, Any]:
    return {
        "id": dossier.id,
        "ma_ho_so": dossier.ma_ho_so,
        "ma_tthc": dossier.ma_tthc,
        "procedure": dossier.procedure,
        "department": dossier.department,
        "state": str(dossier.state),
        "received_at": dossier.received_at.isoformat(),
        "due_date": dossier.due_date.isoformat(),
        "late": service.is_late(dossier, at=at),
        "finished_at": dossier.finished_at.isoformat() if dossier.finished_at else None,
        "applicant": {
            "kind": dossier.applicant.kind,
            "id": dossier.applicant.id,
            "name": dossier.applicant.name,
        },
        "requested_documents": list(dossier.requested_documents),
        "supplement_due": dossier.supplement_due.isoformat() if dossier.supplement_due else None,
        "version": dossier.version,
        "links": {
            "self": f"/api/v1/dossiers/{dossier.id}",
            "receipt": f"/api/v1/receipts/{dossier.receipt_id}",
        },
    }


# Who each kind of partner acts as in the lifecycle.
ACTORS: dict[str, Actor] = {"department": "department", "portal": "portal"}


def view(dossier: Dossier, *, partner: Partner, at: datetime) -> dict[str, Any]:
    body = summary(dossier, at=at)
    body["history"] = [
        {
            "state": str(step.state),
            "at": step.at.isoformat(),
            "actor": step.actor,
            "by": step.by,
            "reason": step.reason,
            "documents": list(step.documents),
            "due_date": step.due_date.isoformat() if step.due_date else None,
            "officer": step.officer,
        }
        for step in dossier.history
    ]
    actor = ACTORS.get(partner.kind)
    body["allowed"] = [str(s) for s in allowed_moves(dossier.state, actor)] if actor else []
    return body


def page(found: Page, *, at: datetime, path: str, params: dict[str, str]) -> dict[str, Any]:
    following = None
    if found.next_cursor is not None:
        following = f"{path}?{urlencode({**params, 'cursor': found.next_cursor})}"
    return {"items": [summary(d, at=at) for d in found.items], "next": following}


def json_answer(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def receipt_answer(submitted: Submitted) -> Response:
    body = submitted.receipt.model_dump(mode="json")
    body["duplicate"] = submitted.duplicate
    dossier = f"/api/v1/dossiers/{submitted.dossier.id}"
    body["links"] = {"receipt": f"/api/v1/receipts/{submitted.receipt.id}", "dossier": dossier}
    return json_answer(body, status=202, headers={"Location": dossier})


RECEIPT_ANSWER: dict[int | str, dict[str, Any]] = {
    202: {
        "model": DossierReceiptAnswer,
        "description": "the signed receipt: dossier id, status received, due date",
        "headers": {"Location": {"description": "the dossier", "required": True}},
    }
}
# What a request whose parameters may be malformed, about what may not be there, can answer.
PARAMETER_ERRORS = (XmlMalformed, *auth.ERRORS, NotFound, Unavailable)
PAGE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"model": DossierPage, "description": "one page and the link to the next"},
    **problems.responses(*PARAMETER_ERRORS),
}
# The move's JSON Schema; its State refers to the one the answers' models put in components.
MOVE_SCHEMA = Move.model_json_schema(ref_template="#/components/schemas/{model}")


@router.post(
    "/dossiers",
    summary="Submit a signed VSS e-dossier (Hoso) with the portal's MaHoSo and MaTTHC",
    status_code=202,
    response_class=Response,
    responses={**RECEIPT_ANSWER, **problems.responses(*DOCUMENT_ERRORS)},
    openapi_extra=XML_BODY,
)
async def post_dossier(
    request: Request,
    partner: Annotated[Partner, Depends(granted("dossiers.submit"))],
    ma_ho_so: Annotated[str, Query(alias="MaHoSo", max_length=64, pattern=MA_HO_SO)],
    ma_tthc: Annotated[str, Query(alias="MaTTHC", max_length=64, pattern=MA_TTHC)],
) -> Response:
    gateway: Gateway = request.app.state.gateway
    body = await read_xml_body(request, gateway.dossiers.limits.max_bytes)
    submitted = await work.offload(
        request,
        service.submit,
        body,
        partner=partner,
        channel="rest",
        ma_ho_so=ma_ho_so,
        ma_tthc=ma_tthc,
        deps=gateway.dossiers,
    )
    return receipt_answer(submitted)


@router.post(
    "/dossiers/{dossier_id}/documents",
    summary="Add signed documents to a dossier (its supplements, for example)",
    status_code=202,
    response_class=Response,
    responses={**RECEIPT_ANSWER, **problems.responses(*DOCUMENT_ERRORS, NotFound, Conflict)},
    openapi_extra=XML_BODY,
)
async def post_documents(
    dossier_id: DossierId,
    request: Request,
    partner: Annotated[Partner, Depends(granted("dossiers.submit"))],
) -> Response:
    gateway: Gateway = request.app.state.gateway
    body = await read_xml_body(request, gateway.dossiers.limits.max_bytes)
    submitted = await work.offload(
        request,
        service.add_documents,
        dossier_id,
        body,
        partner=partner,
        channel="rest",
        deps=gateway.dossiers,
    )
    return receipt_answer(submitted)


@router.post(
    "/dossiers/{dossier_id}/transitions",
    summary="Move a dossier through its lifecycle",
    response_class=Response,
    responses={
        200: {"model": DossierView, "description": "the dossier after the move"},
        **problems.responses(
            XmlMalformed, XmlTooLarge, RuleViolation, *auth.ERRORS, NotFound, Conflict, Unavailable
        ),
    },
    openapi_extra={
        **auth.SECURED,
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": MOVE_SCHEMA}},
        },
    },
)
async def post_transition(
    dossier_id: DossierId,
    request: Request,
    partner: Annotated[Partner, Depends(granted("dossiers.transition"))],
) -> Response:
    gateway: Gateway = request.app.state.gateway
    raw = await read_body(request, MAX_MOVE_BYTES)
    try:
        move = Move.model_validate_json(raw)
    except ValidationError as exc:
        raise XmlMalformed(f"the move is not valid: {exc}") from exc
    moved = await work.offload(
        request, service.transition, dossier_id, move, partner=partner, deps=gateway.dossiers
    )
    return json_answer(view(moved, partner=partner, at=gateway.dossiers.clock.now()))


@router.get(
    "/dossiers/{dossier_id}",
    summary="A dossier: status, department, due date, late flag, full history",
    response_class=Response,
    responses={200: {"model": DossierView, "description": "the dossier"}, **READ_ERRORS},
    openapi_extra=auth.SECURED,
)
async def get_dossier(
    dossier_id: DossierId,
    request: Request,
    partner: Annotated[Partner, Depends(granted("dossiers.read"))],
) -> Response:
    gateway: Gateway = request.app.state.gateway
    found = await work.offload(
        request, service.view, dossier_id, partner=partner, deps=gateway.dossiers
    )
    return json_answer(view(found, partner=partner, at=gateway.dossiers.clock.now()))


@router.get(
    "/dossiers",
    summary="A department's dossiers by state and lateness, oldest first, by pages",
    response_class=Response,
    responses=PAGE_ANSWER,
    openapi_extra=auth.SECURED,
)
async def list_dossiers(
    request: Request,
    *,
    partner: Annotated[Partner, Depends(granted("dossiers.read"))],
    status: Annotated[State | None, Query()] = None,
    department: Annotated[str | None, Query(max_length=64, pattern=DEPARTMENT_NAME)] = None,
    late: Annotated[bool, Query()] = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    gateway: Gateway = request.app.state.gateway
    found = await work.offload(
        request,
        service.search,
        partner=partner,
        deps=gateway.dossiers,
        state=status,
        department=department,
        late=late,
        cursor=cursor,
        limit=limit,
    )
    params = {"limit": str(limit)}
    if status is not None:
        params["status"] = str(status)
    if department is not None:
        params["department"] = department
    if late:
        params["late"] = "true"
    at = gateway.dossiers.clock.now()
    return json_answer(page(found, at=at, path="/api/v1/dossiers", params=params))
