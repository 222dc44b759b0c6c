"""SOAP 1.1 envelopes: reading a request's operation, writing responses and Faults.

A Fault is written in this one place: ``faultcode`` ``soap:Client`` or ``soap:Server`` by the
error's side, ``faultstring`` its detail, and ``detail/GatewayFault`` with the SPEC ``Code``.
"""

from __future__ import annotations

from lxml import etree

from gateway.errors import GatewayError, XmlMalformed
from gateway.xml.ns import SOAP11, q
from gateway.xml.parser import XmlLimits, parse


def read_request(body: bytes, limits: XmlLimits) -> etree._Element:
    """The operation element: the first child of the Body of a SOAP 1.1 envelope."""
    envelope = parse(body, limits)
    if envelope.tag != q(SOAP11, "Envelope"):
        raise XmlMalformed("not a SOAP 1.1 envelope")
    soap_body = envelope.find(q(SOAP11, "Body"))
    operation = None if soap_body is None else next(iter(soap_body.iterchildren("{*}*")), None)
    if operation is None:
        raise XmlMalformed("the SOAP Body is empty")
    return operation


def issue_text(issue: dict[str, object]) -> str:
    """One finding as the WSDL's ``Issue`` string: ``message=…; path=…; line=…``."""
    return "; ".join(f"{key}={value}" for key, value in issue.items())


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(q(SOAP11, "Envelope"), nsmap={"soap": SOAP11})
    return envelope, etree.SubElement(envelope, q(SOAP11, "Body"))


def response(payload: etree._Element) -> bytes:
    envelope, body = _envelope()
    body.append(payload)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def fault(error: GatewayError, *, service_ns: str) -> bytes:
    envelope, body = _envelope()
    element = etree.SubElement(body, q(SOAP11, "Fault"))
    etree.SubElement(element, "faultcode").text = f"soap:{error.fault_side}"
    etree.SubElement(element, "faultstring").text = error.detail
    detail = etree.SubElement(etree.SubElement(element, "detail"), q(service_ns, "GatewayFault"))
    etree.SubElement(detail, q(service_ns, "Code")).text = error.code
    etree.SubElement(detail, q(service_ns, "Detail")).text = error.detail
    for issue in error.issues:
        etree.SubElement(detail, q(service_ns, "Issue")).text = issue_text(issue.as_dict())
    if error.receipt_id:
        etree.SubElement(detail, q(service_ns, "ReceiptId")).text = error.receipt_id
    for move in getattr(error, "allowed", ()):
        etree.SubElement(detail, q(service_ns, "Allowed")).text = move
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
