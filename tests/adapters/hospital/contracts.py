"""The QĐ 130 XSDs of the repository: compiled schemas, and the field order each documents."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from adapters.hospital import synth
from gateway.xml.parser import load_contract

CONTRACTS = Path(__file__).resolve().parents[3] / "xsd"
XS = {"xs": "http://www.w3.org/2001/XMLSchema"}


def contract(name: str) -> etree._ElementTree:
    """The XSD ``name`` (relative to ``xsd/``) as a tree, its includes resolved in ``xsd/``."""
    return load_contract(str(CONTRACTS / name), folder=str(CONTRACTS))


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(contract(name))


def assert_valid(schema: etree.XMLSchema, root: etree._Element) -> None:
    assert schema.validate(root), str(schema.error_log)


@cache
def documented_fields(kind: str) -> tuple[str, ...]:
    """The xs:sequence of the row type of ``kind``, reached from its global list element.

    The QĐ 4750 field tables (QD130.md section B) as the XSD writes them down: an oracle that is
    neither the generator's nor the normalizer's own list."""
    xsd = contract(f"qd130/{kind.lower()}.xsd")
    layout = synth.LAYOUTS[kind]
    list_type = xsd.xpath(
        "string(/xs:schema/xs:element[@name=$items]/@type)", namespaces=XS, items=layout.items
    )
    row_type = xsd.xpath(
        "string(/xs:schema/xs:complexType[@name=$t]/xs:sequence/xs:element[@name=$row]/@type)",
        namespaces=XS,
        t=list_type,
        row=layout.row,
    )
    names = xsd.xpath(
        "/xs:schema/xs:complexType[@name=$t]/xs:sequence/xs:element/@name",
        namespaces=XS,
        t=row_type,
    )
    assert isinstance(names, list) and names, f"no row sequence found in the {kind} XSD"
    return tuple(str(name) for name in names)
