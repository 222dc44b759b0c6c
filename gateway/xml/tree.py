"""Typed helpers over lxml trees where lxml-stubs are too loose or too strict (XPath, nsmap)."""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree


def root_element(
    tag: str,
    *,
    default_ns: str | None = None,
    nsmap: Mapping[str | None, str] | None = None,
    **attrib: str,
) -> etree._Element:
    """A new document element; ``default_ns`` becomes its default namespace declaration."""
    namespaces: dict[str | None, str] = dict(nsmap or {})
    if default_ns is not None:
        namespaces[None] = default_ns
    return etree.Element(tag, attrib=attrib, nsmap=namespaces)  # type: ignore[arg-type]


def children(node: etree._Element) -> dict[str, etree._Element]:
    """The element children of ``node`` by tag (the last of a repeated one), read in one pass:
    a ``find`` or ``findtext`` walks its path in Python on every call."""
    return {str(c.tag): c for c in node if isinstance(c.tag, str)}


def find_all(
    node: etree._Element, xpath: str, namespaces: Mapping[str, str] | None = None
) -> list[etree._Element]:
    """The elements (and comments) an XPath selects."""
    result = node.xpath(xpath, namespaces=dict(namespaces or {}))
    assert isinstance(result, list)
    return [n for n in result if isinstance(n, etree._Element)]


def number(node: etree._Element, xpath: str) -> float:
    """An XPath number() or count() result."""
    result = node.xpath(xpath)
    assert isinstance(result, float)
    return result


def truth(node: etree._Element, xpath: str) -> bool:
    """An XPath boolean() result."""
    return bool(node.xpath(xpath))
