"""``application/x-www-form-urlencoded`` bodies read as they arrive: split on ``&`` and ``=`` piece
by piece, values percent-decoded in C, never one Python object per byte.

``urllib.parse.parse_qsl`` needs the whole body as one string and splits it on every ``%``: a
document of 20 MiB percent-encoded (``%41%41…``) took 1.9 GB and 8 s of the event loop. Here a
body is never held whole; the document's pieces go to the base64 decoder as they come.
"""

from __future__ import annotations

import binascii

from gateway.api.vss_portal.fields import Fields
from gateway.errors import XmlMalformed

# Bytes a character of a value takes at worst: "%XX".
EXPANSION = 3
# Pairs, empty ones ("a=1&&b=2") included, that a body may hold; parse_qsl's max_num_fields was 32.
_MAX_PAIRS = 32
# Bytes of a field name as sent (the longest, fileHSBase64, percent-encoded is 36).
_NAME_LIMIT = 64
# Base64 has at most two "=", both at its end: more in the document field is not base64.
_DOCUMENT_EQUALS = 2

_PERCENT_AS_EQUALS = bytes.maketrans(b"%", b"=")


def _unquote_run(raw: bytes) -> bytes:
    # Quoted-printable is percent-encoding with "=" for "%": binascii decodes it in C. Its one
    # other rule, "=" before a line break is a soft break and dropped, would take "%\n" (an
    # invalid escape) for nothing, so that is refused first; any other invalid escape ("%4",
    # "%zz") is left as it is, which the length shows.
    if b"%\n" in raw or b"%\r" in raw:
        raise ValueError("a '%' not followed by two hexadecimal digits")
    decoded = binascii.a2b_qp(raw.translate(_PERCENT_AS_EQUALS))
    if len(decoded) != len(raw) - 2 * raw.count(b"%"):
        raise ValueError("a '%' not followed by two hexadecimal digits")
    return decoded


def unquote(raw: bytes) -> bytes:
    """Percent-decode ``raw``; a ``%`` not followed by two hexadecimal digits is a ValueError
    (urllib keeps it as it is). An ``=`` would be an escape to binascii, so the runs between
    them are decoded one by one: each costs an object, and callers bound them."""
    return b"=".join(_unquote_run(run) for run in raw.split(b"="))


def _small_value(raw: bytes) -> str:
    return unquote(raw.replace(b"+", b" ")).decode("utf-8")


class UrlencodedReader:
    """Feeds the fields of a form body, given in pieces of any size, to ``fields``."""

    def __init__(self, fields: Fields) -> None:
        self._fields = fields
        self._state = "name"  # or "value" (a small field's), or "document"
        self._name = bytearray()
        self._pairs = 0
        self._carry = b""  # the document's last percent-escape, when a piece splits it
        self._equals = 0  # raw "=" seen in the document field

    def feed(self, chunk: bytes) -> None:
        position = 0
        while position < len(chunk):
            if self._state == "name":
                position = self._read_name(chunk, position)
                continue
            end = chunk.find(b"&", position)
            stop = len(chunk) if end < 0 else end
            self._read_value(chunk[position:stop], last=end >= 0)
            if end < 0:
                return
            self._close()
            position = end + 1

    def finish(self) -> None:
        """The body is over: close its last field."""
        if self._state != "name":
            self._read_value(b"", last=True)
            self._close()
        elif self._name:  # a last name without "=": a field with an empty value
            self._open()
            self._close()

    def _read_name(self, chunk: bytes, position: int) -> int:
        window = chunk[position : position + _NAME_LIMIT + 1 - len(self._name)]
        ends = [i for i in (window.find(b"="), window.find(b"&")) if i >= 0]
        if not ends:
            self._name += window
            if len(self._name) > _NAME_LIMIT:
                raise XmlMalformed(f"a field name is longer than {_NAME_LIMIT} bytes")
            return position + len(window)
        end = min(ends)
        self._name += window[:end]
        if window[end : end + 1] == b"=":
            self._open()
        elif self._name:  # "&" after a name: a field with an empty value
            self._open()
            self._close()
        else:  # "&&": an empty pair, which parse_qsl skips too
            self._count_pair()
        return position + end + 1

    def _count_pair(self) -> None:
        self._pairs += 1
        if self._pairs > _MAX_PAIRS:
            raise XmlMalformed(f"the body has more than {_MAX_PAIRS} fields")

    def _open(self) -> None:
        self._count_pair()
        try:
            name = _small_value(bytes(self._name))
        except ValueError as exc:
            raise XmlMalformed(f"a field name cannot be read: {exc}") from exc
        self._state = "document" if self._fields.start(name) else "value"

    def _read_value(self, piece: bytes, *, last: bool) -> None:
        if self._state == "value":
            self._fields.add(piece)
            return
        self._equals += piece.count(b"=")
        if self._equals > _DOCUMENT_EQUALS:
            raise XmlMalformed("the document is not valid base64: '=' is only its padding")
        text = self._carry + piece
        # A piece may end inside an escape ("…%4"): those bytes wait for the next piece.
        keep = 0
        if not last:
            keep = 1 if text.endswith(b"%") else 2 if text[-2:-1] == b"%" else 0
        self._carry = text[len(text) - keep :]
        try:
            self._fields.document_text(unquote(text[: len(text) - keep]))
        except ValueError as exc:
            raise XmlMalformed(f"the document's percent-encoding is invalid: {exc}") from exc

    def _close(self) -> None:
        self._fields.end(_small_value)
        self._state = "name"
        self._name.clear()
        self._carry = b""
        self._equals = 0
