"""SOAP 1.1 requests written by hand and posted with httpx, as a non-zeep client would."""

from __future__ import annotations

import httpx

from tests.conftest import Served


def soap_envelope(operation: str, field: str, value: str) -> bytes:
    """A SOAP 1.1 request written by hand, as a non-zeep client would."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:c="urn:vss:gateway:claims:1">'
        f"<s:Header/><s:Body><c:{operation}><c:{field}>{value}</c:{field}></c:{operation}>"
        "</s:Body></s:Envelope>"
    ).encode()


def post_soap(served: Served, operation: str, body: bytes, partner: str | None) -> httpx.Response:
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": f'"urn:vss:gateway:claims:1#{operation}"',
    }
    with served.client(partner) as http:
        return http.post("/soap/claims", content=body, headers=headers)
