"""The one hardened parser for untrusted XML, and the limits it enforces.

Invariant: every untrusted byte (REST body, SOAP envelope, embedded base64 table) becomes a tree
only through ``parse``; the tree it returns has no DTD, no entity, no processing instruction, was
read without network or file access, is UTF-8, and is within ``XmlLimits``. It has no comment
either: comments are dropped while parsing, and the text on both sides of one is a single text
node, so ``<MACSKCB>019<!-- x -->29</MACSKCB>`` reads ``01929``, the very text that the signature
digested (the accepted canonicalizations, ``gateway.trust.policy``, leave comments out) and that
the XSD validated. A reader can never see only part of a text.
"""

from __future__ import annotations

import binascii
import io
import re
import threading
from dataclasses import dataclass

from lxml import etree

from gateway.errors import XmlForbiddenConstruct, XmlMalformed, XmlTooLarge
from gateway.xml.tree import truth

_UTF8_BOM = b"\xef\xbb\xbf"
# The XML declaration's encoding pseudo-attribute; only UTF-8 (or none, which means UTF-8) is
# accepted, so a document can never be read in an encoding other than the one its bytes are in.
_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


@dataclass(frozen=True)
class XmlLimits:
    """Limits on one XML document; the defaults fit a large QĐ 130 batch with room to spare."""

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 2_000_000
    # QĐ 130 documents have almost none (namespace declarations, the signature's).
    max_attributes: int = 200_000
    max_attribute_length: int = 64 * 1024
    max_base64_bytes: int = 32 * 1024 * 1024


# One lxml parser per thread: lxml parsers are not thread-safe, and building one per document
# costs more than the parse of a small table.
_local = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_pis=False,  # kept so that they can be refused, not silently dropped
            remove_comments=True,  # text split by a comment reads whole (module docstring)
            collect_ids=False,
            strip_cdata=True,
        )
        _local.parser = parser
    return parser


def _check_encoding(data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")):
        raise XmlMalformed("the document must be UTF-8 encoded")
    match = _DECLARATION.match(data)
    if match and match.group(1).lower() not in (b"utf-8", b"utf8"):
        raise XmlMalformed(
            f"declared encoding {match.group(1).decode('ascii')!r} is not accepted; send UTF-8"
        )
    # Bytes that are not UTF-8 are then refused by libxml2 itself ("Input is not proper UTF-8").


def _translate_syntax_error(exc: etree.XMLSyntaxError, data: bytes) -> Exception:
    message = str(exc)
    lowered = message.lower()
    if "excessive depth" in lowered or "huge" in lowered:
        return XmlTooLarge(f"the document exceeds the parser's limits: {message}")
    # A DTD that libxml2 could not even read (an unresolvable parameter entity, an external
    # subset) is still a DTD: the refusal names the construct, not the syntax.
    if b"<!DOCTYPE" in data or "entity" in lowered or "doctype" in lowered or "dtd" in lowered:
        return XmlForbiddenConstruct(f"forbidden construct: {message}")
    return XmlMalformed(f"not well-formed XML: {message}")


def parse(data: bytes, limits: XmlLimits) -> etree._Element:
    """Parse untrusted bytes into a root element, or raise the SPEC error that says why not."""
    if len(data) > limits.max_bytes:
        raise XmlTooLarge(f"the document has {len(data)} bytes; the limit is {limits.max_bytes}")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    _check_encoding(data)
    _check_size(data, limits)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _translate_syntax_error(exc, data) from exc
    _check_constructs(root, data, limits)
    return root


_PIS = "/processing-instruction() | //processing-instruction()"
# Above this size the raw-byte prefilters of ``_suspicious`` are skipped (bench/README.md).
_PREFILTER_MAX = 1024 * 1024
# Up to this size the "<" of a document are counted to rule out nesting over the depth limit.
_COUNT_MAX = 16 * 1024
_XINCLUDE = "//*[namespace-uri()='http://www.w3.org/2001/XInclude']"
# "<?xml" and white space opens the XML declaration; "<?xml-stylesheet" opens an instruction.
_DECLARATION_OPEN = tuple(b"<?xml" + space for space in (b" ", b"\t", b"\r", b"\n"))


def _too_deep(limits: XmlLimits) -> str:
    return "/*" * (limits.max_depth + 1)


def _long_attribute(limits: XmlLimits) -> str:
    return f"//@*[string-length(.) > {limits.max_attribute_length}]"


def _suspicious(data: bytes, limits: XmlLimits) -> etree.XPath | None:
    """One compiled XPath that is true when any check could fail, so that a clean document pays
    for a single evaluation in C; a failing one is then examined check by check. A check that
    the raw bytes already rule out is left out of it: no ``<?`` after the XML declaration means
    no processing instruction, no XInclude namespace name (nor character reference) means no
    XInclude element, a document shorter than the attribute limit has no attribute over it, one
    with no more ``<`` than the depth limit is not nested deeper (entities, which could hide
    any of these, are refused before). None when the bytes rule out every check. Compiled once
    per thread, as lxml evaluators are not to be shared between threads."""
    if len(data) > _PREFILTER_MAX:
        # On a large envelope the byte scans cost more than the XPath they would spare.
        instruction = xinclude = long_attribute = deep = True
    else:
        # Each pattern is searched from the first occurrence of one byte it needs: CPython finds
        # a single byte with memchr (0.2 µs in 21 KB), a longer pattern 30-80 times slower, and
        # base64 content, most of a dossier's bytes, holds none of these bytes.
        declaration_end = data.find(b"?>") + 2 if data.startswith(_DECLARATION_OPEN) else 0
        question = data.find(b"?", declaration_end)  # a "<?" starts one byte before its "?"
        instruction = question >= 0 and data.find(b"<?", max(question - 1, declaration_end)) >= 0
        # A character reference starts with "&"; the namespace name, written without one, has
        # "XInclude" after the colon of its "http:", so after the document's first colon.
        ampersand, colon = data.find(b"&"), data.find(b":")
        reference = ampersand >= 0 and data.find(b"&#", ampersand) >= 0
        xinclude = reference or (colon >= 0 and data.find(b"XInclude", colon) >= 0)
        long_attribute = len(data) > limits.max_attribute_length
        # Each level of nesting opens with a "<". Counted in a small document only (0.25 ns a
        # byte), where it spares the XPath evaluation (2-6 us) of most embedded forms.
        deep = len(data) > _COUNT_MAX or data.count(b"<") > limits.max_depth
    if not (instruction or xinclude or long_attribute or deep):
        return None
    key = (
        instruction,
        xinclude,
        long_attribute,
        deep,
        limits.max_depth,
        limits.max_attribute_length,
    )
    compiled: dict[tuple[bool | int, ...], etree.XPath] = _local.__dict__.setdefault("checks", {})
    check = compiled.get(key)
    if check is None:
        parts = (
            _PIS if instruction else "",
            _XINCLUDE if xinclude else "",
            _long_attribute(limits) if long_attribute else "",
            _too_deep(limits) if deep else "",
        )
        check = compiled[key] = etree.XPath(f"boolean({' | '.join(p for p in parts if p)})")
    return check


def _check_constructs(root: etree._Element, data: bytes, limits: XmlLimits) -> None:
    if b"!" in data:  # a document type declaration opens with "<!DOCTYPE"
        info = root.getroottree().docinfo
        if info.internalDTD is not None or info.system_url or info.public_id:
            raise XmlForbiddenConstruct("a document type declaration (DTD) is not allowed")
    check = _suspicious(data, limits)
    if check is None or not check(root):
        return
    if truth(root, f"boolean({_PIS})"):
        raise XmlForbiddenConstruct("processing instructions are not allowed")
    if truth(root, f"boolean({_XINCLUDE})"):
        raise XmlForbiddenConstruct("XInclude elements are not allowed")
    if truth(root, f"boolean({_too_deep(limits)})"):
        raise XmlTooLarge(f"the document is nested deeper than {limits.max_depth} levels")
    raise XmlTooLarge(f"an attribute is longer than {limits.max_attribute_length} characters")


def _check_size(data: bytes, limits: XmlLimits) -> None:
    """Bound the tree before libxml2 builds it: a node costs 140-250 bytes, so that 7.6 MiB of
    ``<a/>`` took 285 MB to be refused after parsing, 61 MiB 2 GB (and a 500), 37 MiB of
    ``b=""`` 1.7 GB. Every element opens with a ``<`` not followed by ``/`` and every attribute
    has an ``=``: these counts of the raw bytes are upper bounds (one in a comment, CDATA or
    text only adds to them)."""
    # A count never exceeds the document's length: a shorter document needs no scan.
    opened = data.count(b"<") if len(data) > limits.max_elements else 0
    if opened > limits.max_elements:  # a scan for the single byte settles most documents
        opened -= data.count(b"</")
    if opened > limits.max_elements:
        raise XmlTooLarge(
            f"the document has more than {limits.max_elements} elements (or other markup)"
        )
    if len(data) > limits.max_attributes and data.count(b"=") > limits.max_attributes:
        raise XmlTooLarge(
            f"the document has more than {limits.max_attributes} attributes (or '=' in text)"
        )


# XML white space, which base64Binary allows anywhere and exporters use to wrap base64 in lines.
_BASE64_SPACE = b" \t\r\n"
# Characters of a payload decoded per call: binascii holds the GIL while it decodes, so that a
# worker thread decoding a large payload keeps the event loop waiting at most this long.
_BASE64_SLICE = 1024 * 1024


class Base64Decoder:
    """Base64 text fed in pieces, decoded as ``base64.b64decode(validate=True)`` decodes it once
    its white space is removed; and, as RFC 4648 has it, "=" only pads a group of four (CPython
    also takes "QUFB=" for "AAA").

    Invariant: the decoded payload never holds more than ``limit`` bytes: a piece that would
    take it over is refused before it is decoded. Memory is the decoded payload and one piece,
    whatever white space or splitting the text has."""

    def __init__(self, limit: int, *, what: str) -> None:
        self._limit = limit
        self._what = what
        self._decoded = io.BytesIO()
        self._pending = b""  # characters short of a group of four
        self._padded = False  # a group ended with "=": no character may follow

    def feed(self, text: bytes) -> None:
        if _spaced(text):
            text = text.translate(None, _BASE64_SPACE)
        text = self._pending + text
        whole = len(text) - len(text) % 4
        self._pending = text[whole:]
        if not whole:
            return
        if self._padded:
            raise XmlMalformed(f"{self._what} is not valid base64: text after the padding")
        groups = memoryview(text)[:whole]
        before = self._decoded.tell()
        self._decoded.write(_groups(groups, before=before, limit=self._limit, what=self._what))
        self._padded = text[whole - 1] == ord("=")

    def finish(self) -> bytes:
        """The decoded payload, once the whole text is fed."""
        if self._pending:
            raise XmlMalformed(f"{self._what} is not valid base64: its length is not whole")
        return self._decoded.getvalue()  # the buffer itself: a copy of 64 MiB took 0.1 s


def _spaced(text: bytes) -> bool:
    # Four memchr scans: cheaper than a translate that finds nothing to remove.
    return b"\n" in text or b" " in text or b"\r" in text or b"\t" in text


def _groups(groups: bytes | memoryview, *, before: int, limit: int, what: str) -> bytes:
    """Whole groups of four, without white space, decoded after ``before`` bytes; refused
    before they are decoded if that would take the payload over ``limit``."""
    if before + len(groups) // 4 * 3 - bytes(groups[-2:]).count(b"=") > limit:
        raise XmlTooLarge(f"{what} is larger than {limit} bytes")
    try:
        return binascii.a2b_base64(groups, strict_mode=True)
    except binascii.Error as exc:
        raise XmlMalformed(f"{what} is not valid base64: {exc}") from exc


def _ascii(text: str, what: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise XmlMalformed(f"{what} is not valid base64: {exc.reason}") from exc


def decode_base64(text: str | None, limits: XmlLimits, *, what: str) -> bytes:
    """Decode an embedded base64 payload (white space allowed), refusing one over the limit as
    soon as it is known to be."""
    text = text or ""
    if len(text) <= _BASE64_SLICE:
        piece = _ascii(text, what)
        if len(piece) % 4 == 0 and not _spaced(piece):
            # What the decoder does with one such piece, without it: 4 -> 1.5 us over the decode.
            return _groups(piece, before=0, limit=limits.max_base64_bytes, what=what)
    decoder = Base64Decoder(limits.max_base64_bytes, what=what)
    for start in range(0, len(text), _BASE64_SLICE):
        decoder.feed(_ascii(text[start : start + _BASE64_SLICE], what))
    return decoder.finish()


class _LocalOnly(etree.Resolver):
    """Resolves schema imports inside the contracts folder and nowhere else."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self._folder = folder

    def resolve(self, system_url: str, public_id: str, context: object = None) -> object:
        if "://" in system_url and not system_url.startswith("file://" + self._folder):
            raise XmlForbiddenConstruct(f"contract import outside {self._folder}: {system_url}")
        return None


def load_contract(path: str, *, folder: str) -> etree._ElementTree:
    """Parse one of our own contract files (XSD, WSDL), resolving imports only inside ``folder``."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    parser.resolvers.add(_LocalOnly(folder))
    return etree.parse(path, parser)
