"""What the SOAP services' operations share: the handler signature, reading an operation's
fields and writing the elements of its answer in the service's namespace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from lxml import etree

from gateway.api import work
from gateway.bootstrap import Gateway
from gateway.errors import XmlMalformed
from gateway.partners import Partner
from gateway.xml.ns import q

# (request, gateway, authenticated partner, the operation element) -> the answer element
Handler = Callable[[Request, Gateway, Partner, etree._Element], Awaitable[etree._Element]]


def sub(parent: etree._Element, ns: str, local: str, text: object = None) -> etree._Element:
    """A child ``{ns}local`` of ``parent``, with ``text`` (a bool as ``true``/``false``)."""
    element = etree.SubElement(parent, q(ns, local))
    if isinstance(text, bool):
        element.text = "true" if text else "false"
    elif text is not None:
        element.text = str(text)
    return element


def field(operation: etree._Element, ns: str, local: str) -> str:
    """The text of the operation's required field ``{ns}local``, stripped."""
    value = operation.findtext(q(ns, local))
    if not value or not value.strip():
        raise XmlMalformed(f"{etree.QName(operation).localname} needs {local}")
    return value.strip()


def in_thread(answer: Callable[[Gateway, Partner, etree._Element], etree._Element]) -> Handler:
    """The operation whose whole work, ``answer``, runs in a pipeline thread: reads, and
    documents whose cost is not known before they are decoded."""

    async def handler(
        request: Request, gateway: Gateway, partner: Partner, operation: etree._Element
    ) -> etree._Element:
        return await work.offload(request, answer, gateway, partner, operation)

    return handler
