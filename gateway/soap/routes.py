"""HTTP routes of the SOAP services: ``?wsdl`` and ``?xsd=`` serving, POST dispatch, one pair of
routes per service (``SERVICES``), each written once here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from gateway.api import problems, work
from gateway.api.auth import SECURED, authenticated
from gateway.api.claims import read_xml_body
from gateway.api.openapi import answer
from gateway.bootstrap import Gateway
from gateway.errors import GatewayError, Internal, NotFound, XmlMalformed
from gateway.soap import IMPORTS, SCHEMAS, WSDLS, claims, dossiers, envelope, lookup
from gateway.soap.operations import Handler
from gateway.xml.ns import CLAIMS_SERVICE, DOSSIERS_SERVICE, LOOKUP_SERVICE
from gateway.xml.parser import XmlLimits

log = logging.getLogger(__name__)

router = APIRouter(tags=["soap"])

SOAP_XML = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Service:
    """One SOAP service: served at ``/soap/<name>``, its WSDL ``WSDLS[name]``."""

    name: str
    namespace: str  # of its messages and of its Faults' detail
    operations: Mapping[str, Handler]  # by the operation element's tag
    limits: Callable[[Gateway], XmlLimits]  # of its requests' envelopes and documents

    @property
    def path(self) -> str:
        return f"/soap/{self.name}"

    @property
    def placeholder(self) -> bytes:
        """The WSDL's address, replaced by the gateway's public one."""
        return f"http://localhost:8080{self.path}".encode()


SERVICES = (
    Service("claims", CLAIMS_SERVICE, claims.OPERATIONS, lambda g: g.pipeline.limits),
    Service("dossiers", DOSSIERS_SERVICE, dossiers.OPERATIONS, lambda g: g.dossiers.limits),
    Service("lookup", LOOKUP_SERVICE, lookup.OPERATIONS, lambda g: lookup.LIMITS),
)


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


def contract(request: Request, service: Service) -> Response:
    """The service's WSDL with the public address, or a schema it imports (``?xsd=``)."""
    gateway: Gateway = request.app.state.gateway
    xsd = request.query_params.get("xsd")
    if xsd is not None:
        if xsd not in IMPORTS[service.name]:
            raise NotFound(f"no schema {xsd}")
        return Response(gateway.contracts.schemas.source(SCHEMAS[xsd]), media_type="text/xml")
    if "wsdl" not in request.query_params:
        raise NotFound(f"GET {service.path}?wsdl for the service description")
    address = f"{public_url(request)}{service.path}".encode()
    wsdl = gateway.contracts.wsdls[WSDLS[service.name]].replace(service.placeholder, address)
    return Response(wsdl, media_type="text/xml")


async def dispatch(request: Request, service: Service) -> Response:
    """Authenticate, read the envelope within bounds, run the operation; every error a Fault."""
    gateway: Gateway = request.app.state.gateway
    try:
        partner = await authenticated(request)
        limits = service.limits(gateway)
        # SOAP 1.1 travels as text/xml (application/xml is accepted too).
        body = await read_xml_body(request, limits.max_bytes, expected="text/xml")
        operation = await work.run(request, body, envelope.read_request, body, limits)
        handler = service.operations.get(operation.tag)
        if handler is None:
            raise XmlMalformed(f"unknown operation {operation.tag}")
        # Each operation runs its work where REST runs it (gateway.soap.<service>).
        payload = await handler(request, gateway, partner, operation)
    except GatewayError as error:
        return _fault(error, service)
    except ClientDisconnect:
        raise  # nobody to read a Fault: gateway.api.exchange logs it, once, as what it is
    except Exception:
        # A SOAP client reads a Fault, whatever went wrong: soap:Server, nothing stored.
        log.exception("unexpected error on %s", request.url.path)
        return _fault(Internal(), service)
    return Response(envelope.response(payload), media_type=SOAP_XML)


def _fault(error: GatewayError, service: Service) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
    # WS-I Basic Profile R1126: a SOAP Fault travels with HTTP 500.
    return Response(
        envelope.fault(error, service_ns=service.namespace),
        status_code=500,
        media_type=SOAP_XML,
        headers=headers,
    )


def _contract_parameters(service: Service) -> list[dict[str, object]]:
    schemas = ", ".join(sorted(IMPORTS[service.name])) or "none: this WSDL imports no schema"
    return [
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
            "description": f"a schema the WSDL imports ({schemas}); wins over wsdl",
            "schema": {"type": "string"},
        },
    ]


def _route(service: Service) -> None:
    async def service_contract(request: Request) -> Response:
        return contract(request, service)

    async def service_call(request: Request) -> Response:
        return await dispatch(request, service)

    imported = ", ".join(sorted(IMPORTS[service.name]))
    router.add_api_route(
        service.path,
        service_contract,
        methods=["GET"],
        name=f"{service.name}_contract",
        summary=f"WSDL (?wsdl) and its schemas (?xsd={imported})" if imported else "WSDL (?wsdl)",
        response_class=Response,
        responses={
            200: answer("text/xml", "the WSDL, or the schema named by xsd"),
            **problems.responses(NotFound),
        },
        openapi_extra={"parameters": _contract_parameters(service)},
    )
    router.add_api_route(
        service.path,
        service_call,
        methods=["POST"],
        name=f"{service.name}_service",
        summary=f"SOAP 1.1 {service.name} service: the operations, messages and types are in "
        "the WSDL",
        response_class=Response,
        responses={
            200: answer("text/xml", "the SOAP envelope answering the operation"),
            500: {
                **answer(
                    "text/xml",
                    "a SOAP Fault, which SOAP 1.1 sends with HTTP 500 (WS-I Basic Profile "
                    "R1126): faultcode soap:Client or soap:Server, the SPEC code in "
                    "detail/GatewayFault/Code",
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


for _service in SERVICES:
    _route(_service)
