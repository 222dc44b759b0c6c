"""A JSON object of string (or integer) fields read as it arrives: the portal's other body (package
docstring). Its strings are unescaped by the ``json`` module's C scanner a piece at a time; the
body is never parsed whole, so that a document of 64 MiB never makes one call that holds the GIL
for the length of the body (``orjson.loads`` took 0.17 s for 85 MiB here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from gateway.api.vss_portal.fields import FIELD_LIMIT, Fields
from gateway.errors import XmlMalformed

# Bytes a character of a string takes at worst: "\uXXXX".
EXPANSION = 6
# Bytes of a field name as sent (the longest, fileHSBase64, escaped is 72).
_NAME_LIMIT = 80
_SPACE = re.compile(rb"[ \t\r\n]*")
_DIGITS = re.compile(rb"[-0-9]*")
_INTEGER = re.compile(rb"-?(?:0|[1-9][0-9]*)")


def _run_end(pattern: re.Pattern[bytes], chunk: bytes, position: int) -> int:
    """Where the run of ``pattern`` (which matches the empty string too) from ``position`` ends."""
    match = pattern.match(chunk, position)
    assert match is not None  # the patterns match the empty string
    return match.end()


def _string(raw: bytes) -> str:
    text: str = json.loads(b'"' + raw + b'"')
    return text


def _integer(raw: bytes) -> str:
    if not _INTEGER.fullmatch(raw):
        raise ValueError(f"{raw[:20]!r} is not an integer")
    return raw.decode("ascii")


def _backslashes(piece: bytes, before: int) -> int:
    """The backslashes that end ``piece``, counting ``before`` (those that ended what came
    before it) when it is all backslashes."""
    run = len(piece) - len(piece.rstrip(b"\\"))
    return run + before if run == len(piece) else run


def _closing_quote(piece: bytes, before: int) -> int:
    """Where in ``piece`` a string ends, ``before`` backslashes having ended its earlier bytes;
    -1 if not in ``piece``."""
    quote = piece.find(b'"')
    while quote >= 0 and _backslashes(piece[:quote], before) % 2:  # an escaped quote
        quote = piece.find(b'"', quote + 1)
    return quote


def _partial_escape(text: bytes) -> int:
    """How many bytes at the end of ``text`` are an escape not yet whole ("\\", "\\u00")."""
    escape = text.rfind(b"\\", max(0, len(text) - 6))
    if escape < 0:
        return 0
    width = 6 if text[escape + 1 : escape + 2] == b"u" else 2
    return len(text) - escape if len(text) - escape < width else 0


class JsonObjectReader:
    """Feeds the fields of a JSON object, given in pieces of any size, to ``fields``."""

    def __init__(self, fields: Fields) -> None:
        self._fields = fields
        # Between tokens: "object" (before "{"), "name" (before a name's quote), "colon",
        # "value", "next" (before "," or "}"), "done". In one: "in name", "string",
        # "document", "integer".
        self._state = "object"
        self._first = True
        self._name = b""
        self._before = 0  # backslashes that end what is read of the open name or string
        self._carry = b""  # the document's last escape, when a piece splits it

    def feed(self, chunk: bytes) -> None:
        position = 0
        while position < len(chunk):
            if self._state in ("in name", "string", "document", "integer"):
                position = self._read_token(chunk, position)
                continue
            position = _run_end(_SPACE, chunk, position)
            if position < len(chunk):
                self._punctuation(chunk[position : position + 1])
                position += 1

    def finish(self) -> None:
        """The body is over: it must have been one whole object."""
        if self._state != "done":
            raise XmlMalformed("the JSON body ends before its object does")

    def _punctuation(self, byte: bytes) -> None:
        state = self._state
        if state == "object" and byte == b"{":
            self._state = "name"
        elif state == "name" and byte == b'"':
            self._state, self._name, self._before = "in name", b"", 0
        elif state == "name" and byte == b"}" and self._first:
            self._state = "done"
        elif state == "colon" and byte == b":":
            self._state = "value"
        elif state == "value" and byte == b'"':
            self._state, self._before = ("document" if self._open() else "string"), 0
        elif state == "value" and byte in b"-0123456789" and not self._open():
            self._state = "integer"
            self._fields.add(byte)
        elif state == "next" and byte in b",}":
            self._state, self._first = ("name" if byte == b"," else "done"), False
        else:
            expected = "a string" if state == "value" else "JSON syntax"
            raise XmlMalformed(f"the JSON body has {byte!r} where {expected} belongs")

    def _open(self) -> bool:
        """Start the field just named; True if it is the document."""
        try:
            name = _string(self._name)
        except ValueError as exc:
            raise XmlMalformed(f"a field name cannot be read: {exc}") from exc
        return self._fields.start(name)

    def _read_token(self, chunk: bytes, position: int) -> int:
        """Read on in the open name, string or integer; where the reading stopped."""
        if self._state == "document":
            quote = chunk.find(b'"', position)
            self._document(chunk[position : len(chunk) if quote < 0 else quote], last=quote >= 0)
            return len(chunk) if quote < 0 else self._close(_string, quote + 1)
        if self._state == "integer":
            end = _run_end(_DIGITS, chunk, position)
            self._fields.add(chunk[position:end])
            return end if end == len(chunk) else self._close(_integer, end)
        room = _NAME_LIMIT - len(self._name) if self._state == "in name" else FIELD_LIMIT
        piece = chunk[position : position + room + 1]
        quote = _closing_quote(piece, self._before)
        value = piece if quote < 0 else piece[:quote]
        if self._state == "in name":
            self._name += value
            if len(self._name) > _NAME_LIMIT:
                raise XmlMalformed(f"a field name is longer than {_NAME_LIMIT} bytes")
        else:
            self._fields.add(value)
        self._before = _backslashes(value, self._before)
        if quote < 0:
            return position + len(piece)
        if self._state == "in name":
            self._state = "colon"
            return position + quote + 1
        return self._close(_string, position + quote + 1)

    def _document(self, piece: bytes, *, last: bool) -> None:
        text = self._carry + piece
        if last and text.endswith(b"\\"):  # the "closing" quote is escaped, or a backslash is
            raise XmlMalformed("the document is not valid base64: it holds a quote or a backslash")
        keep = 0 if last else _partial_escape(text)
        self._carry = text[len(text) - keep :]
        try:
            self._fields.document_text(_string(text[: len(text) - keep]).encode("ascii"))
        except ValueError as exc:  # a JSON error, or a character that is not ASCII
            raise XmlMalformed(f"the document's JSON string cannot be read: {exc}") from exc

    def _close(self, decode: Callable[[bytes], str], position: int) -> int:
        self._fields.end(decode)
        self._state = "next"
        self._carry = b""
        return position
