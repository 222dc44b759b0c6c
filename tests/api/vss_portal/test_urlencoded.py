"""Form bodies read piece by piece as ``urllib.parse.parse_qsl`` reads them whole, without its
object per escape; invalid percent-encoding refused."""

from __future__ import annotations

import base64
import random
import urllib.parse

import pytest

from gateway.api.vss_portal.fields import Body, FieldSet
from gateway.api.vss_portal.urlencoded import UrlencodedReader, unquote
from gateway.errors import XmlMalformed
from tests.api.vss_portal.pieces import read_in_pieces

FIELDS = FieldSet(("username", "maTinh", "fileHSBase64"), document="fileHSBase64")


def read(body: bytes, cuts: list[int]) -> Body:
    return read_in_pieces(UrlencodedReader, FIELDS, body, cuts)


def encode(rng: random.Random, text: str) -> str:
    """``text`` form-encoded as some client might: plain, every byte escaped, or a mix."""
    return "".join(
        urllib.parse.quote_plus(c)  # UTF-8, escaped
        if not c.isascii()
        else rng.choice([urllib.parse.quote_plus(c), f"%{ord(c):02X}", f"%{ord(c):02x}"])
        if c in "+/= &%" or rng.random() < 0.5
        else c
        for c in text
    )


@pytest.mark.parametrize("seed", range(200))
def test_a_form_in_any_pieces_reads_as_parse_qsl_reads_it(seed: int) -> None:
    rng = random.Random(seed)
    document = rng.randbytes(rng.randrange(400))
    text = base64.b64encode(document).decode()
    if rng.random() < 0.3:  # wrapped in lines, as some exporters do
        text = "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    pairs = [
        ("username", "bv 01929+é"),
        ("MaTinh", rng.choice(["01", "", "a=b"])),
        ("fileHSBase64", text),
    ]
    rng.shuffle(pairs)
    body = "&".join(f"{encode(rng, name)}={encode(rng, value)}" for name, value in pairs)
    body += rng.choice(["", "&", "&&"])
    cuts = [rng.randrange(len(body) + 1) for _ in range(rng.randrange(8))]
    read_whole = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    assert read(body.encode(), cuts) == Body(
        {"username": read_whole["username"], "matinh": read_whole["MaTinh"]}, document
    )


@pytest.mark.parametrize("raw", [b"%", b"%4", b"a%zz", b"%4g", b"%\n41", b"%\r\n", b"%%41", b"x=%"])
def test_a_percent_not_followed_by_two_hex_digits_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        unquote(raw)


def test_every_escape_decodes_to_its_byte() -> None:
    every = bytes(range(256))
    for spelled in (every.hex().upper(), every.hex()):
        escaped = "".join(f"%{spelled[i : i + 2]}" for i in range(0, len(spelled), 2))
        assert unquote(escaped.encode()) == every
    assert unquote(b"a=b+c%3D%3d") == b"a=b+c=="


@pytest.mark.parametrize(
    "body",
    [b"fileHSBase64=QQ==&fileHSBase64=QQ==", b"x=1", b"a" * 65, b"fileHSBase64=QQ=%3D=", b"&" * 33],
    ids=["repeated", "unknown", "long-name", "more-than-two-equals", "too-many-pairs"],
)
def test_fields_that_no_form_holds_are_refused(body: bytes) -> None:
    with pytest.raises(XmlMalformed):
        read(body, [])
