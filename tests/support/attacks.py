"""The attack documents of tests/data/attacks and the SPEC error each must get, wherever an
untrusted document enters: a claims body, a dossier body, a form inside a dossier."""

from __future__ import annotations

from pathlib import Path

from gateway.errors import GatewayError, XmlForbiddenConstruct, XmlMalformed, XmlTooLarge

ATTACKS = Path(__file__).parent.parent / "data" / "attacks"

ERRORS: dict[str, type[GatewayError]] = {
    "xxe_local_file.xml": XmlForbiddenConstruct,
    "xxe_parameter_entity.xml": XmlForbiddenConstruct,
    "external_dtd.xml": XmlForbiddenConstruct,
    "billion_laughs.xml": XmlForbiddenConstruct,
    "quadratic_blowup.xml": XmlForbiddenConstruct,
    "processing_instruction.xml": XmlForbiddenConstruct,
    "xinclude.xml": XmlForbiddenConstruct,
    "hoso_external_entity.xml": XmlForbiddenConstruct,
    "wrong_declared_encoding.xml": XmlMalformed,
    "utf16_declared.xml": XmlMalformed,
    "invalid_utf8.xml": XmlMalformed,
    "not_well_formed.xml": XmlMalformed,
    "deep_nesting.xml": XmlTooLarge,
}
# Each attack document and the SPEC code it must get.
EXPECTED = {name: error.code for name, error in ERRORS.items()}


def attack(name: str) -> bytes:
    return (ATTACKS / name).read_bytes()
