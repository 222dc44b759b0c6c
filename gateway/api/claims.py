"""REST routes for hospital claims and receipts: POST a batch, read records and receipts."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from gateway import reads
from gateway.api import auth, problems, work
from gateway.api.auth import authenticate, granted
from gateway.api.openapi import answer
from gateway.bootstrap import Gateway
from gateway.errors import (
    CertificateError,
    NotFound,
    RuleViolation,
    SchemaInvalid,
    SignatureInvalid,
    SignatureMissing,
    Unavailable,
    XmlForbiddenConstruct,
    XmlMalformed,
    XmlTooLarge,
)
from gateway.partners import Partner
from gateway.pipeline.batches import Outcome
from gateway.receipts import DossierReceipt, Receipt
from gateway.records.model import CommonRecord

router = APIRouter(prefix="/api/v1", tags=["claims"])

XML = "application/xml"
XML_TYPES = (XML, "text/xml")
JSON = "application/json"


async def read_xml_body(request: Request, limit: int, *, expected: str = XML) -> bytes:
    """The request body, refused early when it is not XML (the refusal names ``expected``) or
    is over ``limit`` bytes."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in XML_TYPES:
        raise XmlMalformed(f"content type {media_type or 'none'!r}: send {expected}")
    return await read_body(request, limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to be over ``limit`` bytes."""
    body = io.BytesIO()
    async for chunk in body_pieces(request, limit):
        body.write(chunk)
    # The buffer itself, not a copy: joining 64 MiB of pieces held the event loop for 0.1 s.
    return body.getvalue()


async def body_pieces(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives, refused as soon as it is known to be over ``limit``
    bytes: by its ``Content-Length`` before a byte is read, else by the bytes that came."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise XmlTooLarge(f"the body has {declared} bytes; the limit is {limit}")
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise XmlTooLarge(f"the body is over the limit of {limit} bytes")
        yield chunk


class ReceiptLinks(BaseModel):
    receipt: str = Field(description="where the receipt can be read again")


class ReceiptAnswer(Receipt):
    """The answer to a submission: its receipt, and whether that receipt is the one of an
    earlier submission of the same bytes."""

    duplicate: bool
    links: ReceiptLinks


# Every read of a partner's data: who may read it, whether it exists, whether it was audited.
READ_ERRORS = problems.responses(*auth.ERRORS, NotFound, Unavailable)
# What a signed XML document (a claim batch, a dossier) can be refused with, as a whole.
DOCUMENT_ERRORS = (
    XmlMalformed,
    XmlForbiddenConstruct,
    SignatureMissing,
    XmlTooLarge,
    SignatureInvalid,
    CertificateError,
    SchemaInvalid,
    RuleViolation,
    *auth.ERRORS,
    Unavailable,
)
# The OpenAPI of a route whose body is a signed XML document.
XML_BODY = {
    **auth.SECURED,
    "requestBody": {
        "required": True,
        "content": {XML: {"schema": {"type": "string", "format": "binary"}}},
    },
}


def receipt_answer(outcome: Outcome) -> dict[str, Any]:
    body = outcome.receipt.model_dump(mode="json")
    body["duplicate"] = outcome.duplicate
    body["links"] = {"receipt": f"/api/v1/receipts/{outcome.receipt.id}"}
    return body


@router.post(
    "/claims",
    summary="Submit a signed QĐ 130 claim batch (GIAMDINHHS)",
    responses={
        200: {
            "model": ReceiptAnswer,
            "description": "the receipt: one result per HOSO, accepted or rejected with codes",
            "headers": {"Location": {"description": "the receipt", "required": True}},
        },
        **problems.responses(*DOCUMENT_ERRORS),
    },
    openapi_extra=XML_BODY,
)
async def post_claims(
    request: Request, partner: Annotated[Partner, Depends(granted("claims.submit"))]
) -> Response:
    gateway: Gateway = request.app.state.gateway
    body = await read_xml_body(request, gateway.pipeline.limits.max_bytes)
    outcome = await work.submit(request, body, partner=partner, channel="rest", fmt=gateway.claims)
    return Response(
        orjson.dumps(receipt_answer(outcome)),
        media_type=JSON,
        headers={"Location": f"/api/v1/receipts/{outcome.receipt.id}"},
    )


@router.get(
    "/claims/{record_id}",
    summary="The common record of one claim",
    responses={200: {"model": CommonRecord, "description": "the common record"}, **READ_ERRORS},
    openapi_extra=auth.SECURED,
)
def get_claim(
    record_id: str, request: Request, partner: Annotated[Partner, Depends(authenticate)]
) -> Response:
    record = reads.record(request.app.state.gateway, partner, record_id, channel="rest")
    return Response(record.json, media_type=JSON)


@router.get(
    "/claims/{record_id}/original",
    summary="The original signed batch, byte for byte",
    response_class=Response,
    responses={200: answer(XML, "the signed batch as received"), **READ_ERRORS},
    openapi_extra=auth.SECURED,
)
def get_claim_original(
    record_id: str, request: Request, partner: Annotated[Partner, Depends(authenticate)]
) -> Response:
    original = reads.original(request.app.state.gateway, partner, record_id, channel="rest")
    return Response(original, media_type=XML)


@router.get(
    "/receipts/{receipt_id}",
    summary="A receipt; Accept: application/xml for the signed XML",
    responses={
        200: {
            "model": Receipt | DossierReceipt,
            **answer(XML, "the receipt, as JSON or as the XML signed by the gateway"),
        },
        **READ_ERRORS,
    },
    openapi_extra=auth.SECURED,
)
def get_receipt(
    receipt_id: str, request: Request, partner: Annotated[Partner, Depends(authenticate)]
) -> Response:
    receipt = reads.receipt(request.app.state.gateway, partner, receipt_id, channel="rest")
    if "xml" in request.headers.get("accept", ""):
        return Response(receipt.xml, media_type=XML)
    return Response(receipt.json, media_type=JSON)
