"""HTTP routes of the SOAP services: ``?wsdl`` and ``?xsd=`` serving, POST dispatch."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from gateway.api import problems, work
from gateway.api.auth import SECURED, authenticate
from gateway.api.claims import read_xml_body
from gateway.api.openapi import answer
from gateway.bootstrap import Gateway
from gateway.errors import GatewayError, Internal, NotFound, XmlMalformed
from gateway.soap import SCHEMAS, WSDLS, claims, envelope
from gateway.xml.ns import CLAIMS_SERVICE

log = logging.getLogger(__name__)

router = APIRouter(tags=["soap"])

SOAP_XML = "text/xml; charset=utf-8"
# The WSDL's placeholder address, replaced by the gateway's public one.
_PLACEHOLDER = b"http://localhost:8080/soap/claims"


def public_url(request: Request) -> str:
    """The gateway's address as partners use it: GATEWAY_PUBLIC_URL, or the address and port of
    the server's own socket. Never the Host header: the client writes it, and a WSDL naming
    evil.example, kept by a cache, would send other clients' SOAP calls there."""
    gateway: Gateway = request.app.state.gateway
    if gateway.settings.public_url:
        return gateway.settings.public_url
    host, port = request.scope["server"]
    host = f"[{host}]" if ":" in host else host
    return f"{request.scope['scheme']}://{host}:{port}"


@router.get(
    "/soap/claims",
    summary="WSDL (?wsdl) and its schemas (?xsd=record.xsd)",
    response_class=Response,
    responses={
        200: answer("text/xml", "the WSDL, or the schema named by xsd"),
        **problems.responses(NotFound),
    },
    openapi_extra={
        "parameters": [
            {
                "name": "wsdl",
                "in": "query",
                "description": "present (any value, or none): the WSDL",
                "allowEmptyValue": True,
                "schema": {"type": "string"},
            },
            {
                "name": "xsd",
                "in": "query",
                "description": "a schema the WSDL imports (record.xsd); wins over wsdl",
                "schema": {"type": "string"},
            },
        ]
    },
)
def claims_contract(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    xsd = request.query_params.get("xsd")
    if xsd is not None:
        if xsd not in SCHEMAS:
            raise NotFound(f"no schema {xsd}")
        return Response(gateway.contracts.schemas.source(SCHEMAS[xsd]), media_type="text/xml")
    if "wsdl" not in request.query_params:
        raise NotFound("GET /soap/claims?wsdl for the service description")
    address = f"{public_url(request)}/soap/claims".encode()
    wsdl = gateway.contracts.wsdls[WSDLS["claims"]].replace(_PLACEHOLDER, address)
    return Response(wsdl, media_type="text/xml")


@router.post(
    "/soap/claims",
    summary="SOAP 1.1 claims service: the operations, messages and types are in the WSDL",
    response_class=Response,
    responses={
        200: answer("text/xml", "the SOAP envelope answering the operation"),
        500: {
            **answer(
                "text/xml",
                "a SOAP Fault, which SOAP 1.1 sends with HTTP 500 (WS-I Basic Profile R1126): "
                "faultcode soap:Client or soap:Server, the SPEC code in detail/GatewayFault/Code",
            ),
            "headers": {"Retry-After": problems.RETRY_AFTER},
        },
    },
    openapi_extra={
        **SECURED,
        "requestBody": {
            "required": True,
            "content": {"text/xml": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
async def claims_service(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        partner = authenticate(request)
        # SOAP 1.1 travels as text/xml (application/xml is accepted too).
        body = await read_xml_body(request, gateway.pipeline.limits.max_bytes, expected="text/xml")
        limits = gateway.pipeline.limits
        operation = await work.run(request, body, envelope.read_request, body, limits)
        handler = claims.OPERATIONS.get(operation.tag)
        if handler is None:
            raise XmlMalformed(f"unknown operation {operation.tag}")
        # Each operation runs its work where REST runs it (gateway.soap.claims).
        answer = await handler(request, gateway, partner, operation)
    except GatewayError as error:
        return _fault(error)
    except ClientDisconnect:
        raise  # nobody to read a Fault: gateway.api.exchange logs it, once, as what it is
    except Exception:
        # A SOAP client reads a Fault, whatever went wrong: soap:Server, nothing stored.
        log.exception("unexpected error on %s", request.url.path)
        return _fault(Internal())
    return Response(envelope.response(answer), media_type=SOAP_XML)


def _fault(error: GatewayError) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
    # WS-I Basic Profile R1126: a SOAP Fault travels with HTTP 500.
    return Response(
        envelope.fault(error, service_ns=CLAIMS_SERVICE),
        status_code=500,
        media_type=SOAP_XML,
        headers=headers,
    )
