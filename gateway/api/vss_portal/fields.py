"""The fields of one portal body as its reader finds them: only the names the endpoint takes, each
once and within its bound, and the document's base64 decoded while it arrives.

Invariant: what a body costs is bounded before it is spent: the body by ``FieldSet.body_limit``
(refused as soon as it is over), each small field by ``FIELD_LIMIT`` bytes as sent, the number of
fields by the names allowed, and the document by the configured limit on decoded bytes, which is
all of a body that is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import XmlMalformed, XmlTooLarge
from gateway.xml.parser import Base64Decoder

# Bytes, as sent, of a field other than the document (a username, a code, an MD5 in hex).
FIELD_LIMIT = 256
# Bytes of syntax a field may add around its name and value: "=" and "&", or a JSON object's
# quotes, colon, comma and some white space.
_SYNTAX = 64


@dataclass(frozen=True)
class FieldSet:
    """The fields an endpoint takes, as the guide spells them (they are matched without regard to
    case), and the one, if any, holding a document in base64."""

    names: tuple[str, ...]
    document: str | None = None

    def body_limit(self, document_limit: int, *, expansion: int) -> int:
        """The largest body these fields can make when every character takes ``expansion``
        bytes at worst: the base64 of a document of ``document_limit`` bytes (4 characters per 3
        bytes, padded), every name, the other fields at ``FIELD_LIMIT``, and their syntax."""
        base64 = (document_limit + 2) // 3 * 4 if self.document else 0
        names = sum(len(name) for name in self.names)
        small = len(self.names) - (1 if self.document else 0)
        return expansion * (base64 + names) + small * FIELD_LIMIT + len(self.names) * _SYNTAX


@dataclass(frozen=True)
class Body:
    """A body's small fields by lower-case name, and the decoded document (``None`` if not
    sent)."""

    values: dict[str, str]
    document: bytes | None


class Fields:
    """Collects the fields of one body: ``start`` a field, give its value by pieces (``add`` as
    sent, or ``document_text`` once decoded from the body's encoding), ``end`` it."""

    def __init__(self, allowed: FieldSet, *, document_limit: int) -> None:
        self._spelled = {name.lower(): name for name in allowed.names}
        self._document_key = (allowed.document or "").lower()
        self._seen: set[str] = set()
        self._values: dict[str, str] = {}
        self._current = ""
        self._raw = bytearray()
        self._base64 = Base64Decoder(document_limit, what=f"the field {allowed.document}")
        self._document: bytes | None = None

    def start(self, name: str) -> bool:
        """Open the field ``name`` (decoded); True if it holds the document."""
        key = name.lower()
        if key not in self._spelled:
            fields = ", ".join(self._spelled.values())
            raise XmlMalformed(f"unknown field {name!r}; the fields are {fields}")
        if key in self._seen:
            raise XmlMalformed(f"the field {self._spelled[key]} is sent twice")
        self._seen.add(key)
        self._current = key
        return key == self._document_key

    def add(self, raw: bytes) -> None:
        """A piece of the open field's value, as sent."""
        if len(self._raw) + len(raw) > FIELD_LIMIT:
            field = self._spelled[self._current]
            raise XmlTooLarge(f"the field {field} is longer than {FIELD_LIMIT} bytes")
        self._raw += raw

    def document_text(self, text: bytes) -> None:
        """A piece of the document's base64 text, decoded from the body's encoding."""
        # A "+" that the client did not percent-encode reads as a space; base64 has no spaces.
        self._base64.feed(text.replace(b" ", b"+"))

    def end(self, decode: Callable[[bytes], str]) -> None:
        """Close the open field; a small field's value is ``decode`` of its bytes as sent."""
        if self._current == self._document_key:
            self._document = self._base64.finish()
            return
        try:
            self._values[self._current] = decode(bytes(self._raw))
        except ValueError as exc:  # an invalid escape, or bytes that are not UTF-8
            field = self._spelled[self._current]
            raise XmlMalformed(f"the field {field} cannot be read: {exc}") from exc
        self._raw.clear()

    def body(self) -> Body:
        return Body(self._values, self._document)
