"""SOAP 1.1 clients of a served gateway: zeep on the WSDL it publishes, and requests written by
hand and posted with httpx, as a non-zeep client would send them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any, Final

import httpx
import requests
import zeep
import zeep.exceptions
from lxml import etree

from gateway.trust.anchors import TrustAnchors, fingerprint
from gateway.trust.policy import SignaturePolicy
from gateway.trust.verify import verify_enveloped
from gateway.xml.ns import CLAIMS_SERVICE, RECEIPT, SOAP11, q
from gateway.xml.parser import XmlLimits, parse
from tests.conftest import TOKENS, Pki, Served

# The partner a ZeepClients call stands for when it names none.
DEFAULT: Final = "<the clients' partner>"


class ZeepClients:
    """``clients(partner=DEFAULT, authorization=None, plugins=())``: a zeep client, unmodified,
    on the WSDL the gateway serves at ``/soap/<service>?wsdl``, authenticated with ``partner``'s
    bearer token (none for ``None``) through a ``requests.Session`` that ignores proxies."""

    def __init__(self, served: Served, service: str, *, partner: str) -> None:
        self.url = f"{served.url}/soap/{service}?wsdl"
        self.partner = partner
        self._sessions: list[requests.Session] = []

    def __call__(
        self,
        partner: str | None = DEFAULT,
        *,
        authorization: str | None = None,
        plugins: tuple[Any, ...] = (),
    ) -> zeep.Client:
        partner = self.partner if partner == DEFAULT else partner
        session = requests.Session()
        session.trust_env = False  # loopback only, never through a proxy from the environment
        self._sessions.append(session)
        if partner is not None:
            session.headers["Authorization"] = f"Bearer {TOKENS[partner]}"
        if authorization is not None:
            session.headers["Authorization"] = authorization
        transport = zeep.Transport(session=session, timeout=30, operation_timeout=30)
        return zeep.Client(self.url, transport=transport, plugins=list(plugins))

    def close(self) -> None:
        for session in self._sessions:
            session.close()


def gateway_fault(fault: zeep.exceptions.Fault, client: zeep.Client, ns: str) -> Any:
    """The Fault's ``detail/GatewayFault``, read by zeep with the WSDL's type, so that a Fault
    the WSDL does not describe fails here."""
    assert fault.detail is not None, "the Fault has no detail"
    detail = fault.detail.find(q(ns, "GatewayFault"))
    assert detail is not None, etree.tostring(fault.detail)
    return client.get_element(q(ns, "GatewayFault")).parse(detail, client.wsdl.types)


def answer_of(response: httpx.Response, ns: str, operation: str) -> etree._Element:
    """The ``{ns}<operation>Response`` element of a successful SOAP answer."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    answer = parse(response.content, XmlLimits()).find(
        f"{q(SOAP11, 'Body')}/{q(ns, operation + 'Response')}"
    )
    assert answer is not None, response.text
    return answer


def signed_receipt(xml: bytes, pki: Pki) -> etree._Element:
    """The ``SignedReceipt`` of an answer, its signature verified as the gateway's own."""
    verified = verify_enveloped(
        parse(xml, XmlLimits()),  # verification may take the signature out of the tree it reads
        location=(q(RECEIPT, "Receipt"),),
        anchors=TrustAnchors.from_directory(pki.trust_store),
        policy=SignaturePolicy(),
        at=datetime.now(UTC),
    )
    assert verified.signer.fingerprint == fingerprint(pki.gateway.certificate)
    return parse(xml, XmlLimits())


def c14n(element: etree._Element) -> bytes:
    """``element`` canonicalized, to compare envelopes whatever their prefixes and spacing."""
    return etree.tostring(element, method="c14n")


def soap_envelope(operation: str, field: str, value: str) -> bytes:
    """A SOAP 1.1 request of the claims service written by hand, with prefixes."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:c="urn:vss:gateway:claims:1">'
        f"<s:Header/><s:Body><c:{operation}><c:{field}>{value}</c:{field}></c:{operation}>"
        "</s:Body></s:Envelope>"
    ).encode()


def dotnet_envelope(ns: str, operation: str, fields: Mapping[str, str]) -> bytes:
    """A SOAP 1.1 request as .NET's generated clients write it: no XML declaration, the
    operation in a default namespace, xsi and xsd declared on the Body."""
    members = "".join(f"<{k}>{escape(v, quote=False)}</{k}>" for k, v in fields.items())
    return (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<{operation} xmlns="{ns}">{members}</{operation}>'
        "</s:Body></s:Envelope>"
    ).encode()


def post_soap(
    served: Served,
    operation: str,
    body: bytes,
    partner: str | None,
    *,
    service: str = "claims",
    ns: str = CLAIMS_SERVICE,
) -> httpx.Response:
    """``body`` posted to ``/soap/<service>`` as text/xml with the operation's SOAPAction."""
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ns}#{operation}"'}
    with served.client(partner) as http:
        return http.post(f"/soap/{service}", content=body, headers=headers)
