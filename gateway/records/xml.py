"""The common record as XML (``xsd/record.xsd``) for SOAP answers: the JSON form, element by
element, in the same order; a list's entries are ``<item>`` elements, nulls are left out."""

from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.xml.ns import RECORD, q
from gateway.xml.tree import root_element


def record_xml(record: dict[str, Any]) -> etree._Element:
    """``<Record xmlns="urn:vss:gateway:record:1">`` from a record's JSON form."""
    root = root_element(q(RECORD, "Record"), default_ns=RECORD)
    _fill(root, record)
    return root


def _fill(parent: etree._Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if child is not None:
                _fill(etree.SubElement(parent, q(RECORD, key)), child)
    elif isinstance(value, list):
        for child in value:
            _fill(etree.SubElement(parent, q(RECORD, "item")), child)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    else:
        parent.text = str(value)
