"""JSON bodies read piece by piece as ``json.loads`` reads them whole: one object of string or
integer fields, every escape, any white space; anything else refused."""

from __future__ import annotations

import base64
import json
import random

import pytest

from gateway.api.vss_portal.fields import Body, FieldSet
from gateway.api.vss_portal.jsonobject import JsonObjectReader
from gateway.errors import XmlMalformed, XmlTooLarge
from tests.api.vss_portal.pieces import read_in_pieces

FIELDS = FieldSet(("username", "loaiHoSo", "fileHSBase64"), document="fileHSBase64")


def read(body: bytes, cuts: list[int]) -> Body:
    return read_in_pieces(JsonObjectReader, FIELDS, body, cuts)


def escaped(rng: random.Random, text: str) -> str:
    """``text`` as a JSON string some serializer might write."""
    return "".join(
        rng.choice([c, f"\\u{ord(c):04x}", f"\\u{ord(c):04X}", "\\/" if c == "/" else c])
        if c not in '"\\\r\n'
        else json.dumps(c)[1:-1]
        for c in text
    )


@pytest.mark.parametrize("seed", range(200))
def test_an_object_in_any_pieces_reads_as_json_loads_reads_it(seed: int) -> None:
    rng = random.Random(seed)
    document = rng.randbytes(rng.randrange(400))
    text = base64.b64encode(document).decode()
    if rng.random() < 0.3:
        text = "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    space = rng.choice(["", " ", "\n  ", "\t"])
    username = 'bv "01929" é\\'
    members = [
        f'"{escaped(rng, "userName")}"{space}:{space}"{escaped(rng, username)}"',
        f'"loaiHoSo":{space}{rng.choice(["130", "-7", "0"])}',
        f'"fileHSBase64"{space}:"{escaped(rng, text)}"',
    ]
    rng.shuffle(members)
    body = f"{space}{{{space}{f',{space}'.join(members)}{space}}}{space}".encode()
    cuts = [rng.randrange(len(body) + 1) for _ in range(rng.randrange(8))]
    whole = {key.lower(): value for key, value in json.loads(body).items()}
    assert read(body, cuts) == Body(
        {"username": whole["username"], "loaihoso": str(whole["loaihoso"])}, document
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"username":"a","username":"b"}',
        b'{"x":"1"}',
        b'{"username":null}',
        b'{"username":["a"]}',
        b'{"loaiHoSo":1.5}',
        b'{"loaiHoSo":012}',
        b'{"fileHSBase64":130}',
        b'{"fileHSBase64":"QQ\\"=="}',
        b'{"username":"a"',
        b'{"username":"a"}{}',
        b'["username"]',
        b'{"username":"a",}',
    ],
)
def test_what_is_not_one_object_of_known_fields_is_malformed(body: bytes) -> None:
    with pytest.raises(XmlMalformed):
        read(body, [])


def test_a_field_over_its_bound_is_too_large() -> None:
    with pytest.raises(XmlTooLarge):
        read(b'{"username":"' + b"x" * 300 + b'"}', [])
