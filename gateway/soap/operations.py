"""What the SOAP services' operations share: the handler signature, reading an operation's
fields and writing the elements of its answer in the service's namespace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

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


# The members of a JSON object written as elements, in order: (member, element) pairs.
Members = tuple[tuple[str, str], ...]


def fill(
    parent: etree._Element,
    ns: str,
    body: dict[str, Any],
    members: Members,
    nested: Mapping[str, Members],
) -> None:
    """The members of ``body`` as children of ``parent``, in the WSDL's order: a list repeats
    its element, a None is left out, an object is filled by ``nested[member]``."""
    for key, local in members:
        value = body[key]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                fill(sub(parent, ns, local), ns, item, nested[key], nested)
            elif item is not None:
                sub(parent, ns, local, item)


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
