"""Attacks on the VSS e-dossier at both of its levels (the ``Hoso`` envelope, a form inside it)
and the error each must get: the XML attack documents, signature wrapping, base64 and length
tricks, files that are not what they say.

An attack changes how a maternity-benefit dossier is signed: a ``Signer`` (the independent
signer, xmlsec) becomes one that edits the first form (``Cky``) or the envelope (``CKy_Dvi``)
before or after signing it. Everything else about the dossier is valid, so the error is the
attack's own.
"""

from __future__ import annotations

import base64
import copy
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from lxml import etree

from adapters.portal.envelope import FILES_PATH
from adapters.portal.synth import GeneratedDossier, Signer, make_dossier
from gateway.errors import (
    GatewayError,
    RuleViolation,
    SchemaInvalid,
    SignatureInvalid,
    XmlForbiddenConstruct,
    XmlMalformed,
    XmlTooLarge,
)
from gateway.trust.sign import SigningIdentity
from gateway.xml.ns import DS
from gateway.xml.parser import XmlLimits, parse
from tests.support.attacks import ERRORS, attack
from tests.support.edossiers import xmlsec_signer
from tests.support.xmlsec_signer import xmlsec_sign

PROCEDURE = "BENEFIT_MATERNITY"  # one XML form, DN01-HSB, and attachments (CT-DK)
FORM = "DN01-HSB"
FIRST = f"{FILES_PATH}/FileToKhai[1]"
ENVELOPE, FORM_SIGNATURE = "CKy_Dvi", "Cky"  # the signature's place at each level
Edit = Callable[[bytes], bytes]
Twist = Callable[[Signer], Signer]


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _content(root: etree._Element) -> etree._Element:
    """The document's ``NoiDung``: what its signature covers."""
    content = root.find("NoiDung")
    assert content is not None
    return content


def before(container: str, edit: Edit) -> Twist:
    """The document signed in ``container`` edited, then signed."""

    def twist(sign: Signer) -> Signer:
        def signer(unsigned: bytes, identity: SigningIdentity, where: str) -> bytes:
            return sign(edit(unsigned) if where == container else unsigned, identity, where)

        return signer

    return twist


def after(container: str, edit: Edit) -> Twist:
    """The document signed in ``container``, then edited."""

    def twist(sign: Signer) -> Signer:
        def signer(unsigned: bytes, identity: SigningIdentity, where: str) -> bytes:
            signed = sign(unsigned, identity, where)
            return edit(signed) if where == container else signed

        return signer

    return twist


def by_id(container: str) -> Twist:
    """Signed over its ``NoiDung`` by an Id reference, not over the whole document."""

    def twist(sign: Signer) -> Signer:
        def signer(unsigned: bytes, identity: SigningIdentity, where: str) -> bytes:
            if where != container:
                return sign(unsigned, identity, where)
            root = parse(unsigned, XmlLimits())
            _content(root).set("Id", "signed")
            return xmlsec_sign(
                _xml(root), identity, container=where, uri="#signed", id_attribute="Id"
            )

        return signer

    return twist


def replaced_by(data: bytes) -> Edit:
    return lambda _: data


# --- Wrapping: the signed content kept, other content put where a reader would look ----------


def _signature(root: etree._Element) -> etree._Element:
    return next(root.iter(f"{{{DS}}}Signature"))


def _evil_content(root: etree._Element) -> etree._Element:
    """The document's NoiDung, its first text changed."""
    content = copy.deepcopy(_content(root))
    target = next(e for e in content.iter() if e.text and e.text.strip())
    target.text = "0" + (target.text or "")
    return content


def wrapped_in_another(container: str) -> Edit:
    """A new root of the same name holds other content, the signed document inside it."""

    def edit(signed: bytes) -> bytes:
        root = parse(signed, XmlLimits())
        outer = etree.Element(root.tag)
        outer.append(_evil_content(root))
        outer.append(root)
        etree.SubElement(outer, container)
        return _xml(outer)

    return edit


def signature_over_other_content(container: str) -> Edit:
    """The classic wrapping: the signature where it belongs, over other content, the signed
    content hidden beside it in the signature's parent."""

    def edit(signed: bytes) -> bytes:
        root = parse(signed, XmlLimits())
        original = _content(root)
        root.replace(original, _evil_content(root))
        place = root.find(container)
        assert place is not None
        place.append(original)
        return _xml(root)

    return edit


def second_signature(signed: bytes) -> bytes:
    root = parse(signed, XmlLimits())
    signature = _signature(root)
    parent = signature.getparent()
    assert parent is not None
    parent.append(copy.deepcopy(signature))
    return _xml(root)


def signature_moved(signed: bytes) -> bytes:
    """The signature moved from its place into the content."""
    root = parse(signed, XmlLimits())
    _content(root).append(_signature(root))
    return _xml(root)


def second_root(signed: bytes) -> bytes:
    """Another document after the signed one."""
    return signed + signed[signed.index(b"?>") + 2 :]


def second_content(unsigned: bytes) -> bytes:
    """A second NoiDung beside the first, before signing: signed, but not the format."""
    root = parse(unsigned, XmlLimits())
    _content(root).addnext(_evil_content(root))
    return _xml(root)


# --- The XML itself --------------------------------------------------------------------------


def with_doctype(signed: bytes) -> bytes:
    """An external entity declared before the signed document's root (which does not use it)."""
    declaration = signed.index(b"?>") + 2
    root = re.search(rb"<([A-Za-z0-9_-]+)", signed[declaration:])
    assert root is not None
    doctype = b'<!DOCTYPE %s [<!ENTITY x SYSTEM "file:///etc/passwd">]>' % root.group(1)
    return signed[:declaration] + doctype + signed[declaration:]


def in_encoding(name: str, codec: str) -> Edit:
    """The signed document declared in ``name`` and its bytes in ``codec``."""

    def edit(signed: bytes) -> bytes:
        body = signed[signed.index(b"?>") + 2 :].decode("utf-8")
        return f'<?xml version="1.0" encoding="{name}"?>{body}'.encode(codec, "xmlcharrefreplace")

    return edit


# --- The files of the envelope ---------------------------------------------------------------


def file_content(content: str, *, declared: int | None = None) -> Edit:
    """The first file's NoiDungFile replaced; its DoDaiFile the new length unless ``declared``."""

    def edit(unsigned: bytes) -> bytes:
        root = parse(unsigned, XmlLimits())
        entry = root.find("NoiDung/ThongTinHoSo/ToKhais/FileToKhai")
        assert entry is not None
        entry.find("NoiDungFile").text = content  # type: ignore[union-attr]
        length = len(content) if declared is None else declared
        entry.find("DoDaiFile").text = str(length)  # type: ignore[union-attr]
        return _xml(root)

    return edit


def files_repeated(count: int) -> Edit:
    """The first file ``count`` times, SoLuongFile saying so."""

    def edit(unsigned: bytes) -> bytes:
        root = parse(unsigned, XmlLimits())
        files = root.find("NoiDung/ThongTinHoSo/ToKhais")
        assert files is not None
        first = files[0]
        for child in list(files):
            files.remove(child)
        for _ in range(count):
            files.append(copy.deepcopy(first))
        root.find("NoiDung/ThongTinHoSo/SoLuongFile").text = str(count)  # type: ignore[union-attr]
        return _xml(root)

    return edit


def attachment(data: bytes, *, kind: str = ".pdf", extra_length: int = 0) -> Edit:
    """A CT-DK attachment added after the other files."""

    def edit(unsigned: bytes) -> bytes:
        root = parse(unsigned, XmlLimits())
        files = root.find("NoiDung/ThongTinHoSo/ToKhais")
        count = root.find("NoiDung/ThongTinHoSo/SoLuongFile")
        assert files is not None and count is not None
        encoded = etree.SubElement(files, "FileToKhai")
        text = base64.b64encode(data).decode("ascii")
        for tag, value in (
            ("MaToKhai", "CT-DK"),
            ("TenFile", f"giay-ra-vien{kind}"),
            ("LoaiFile", kind),
            ("DoDaiFile", str(len(text) + extra_length)),
            ("NoiDungFile", text),
        ):
            etree.SubElement(encoded, tag).text = value
        count.text = str(len(files))
        return _xml(root)

    return edit


# --- The table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """One attack, and where the refusal must point: the rule, the form (``table``), the start
    of the path."""

    name: str
    error: type[GatewayError]
    twist: Twist | None = None
    faults: tuple[str, ...] = ()
    rule: str | None = None
    table: str | None = None
    path: str | None = None

    def made(self, identity: SigningIdentity, *, number: int, today: date) -> GeneratedDossier:
        sign = self.twist(xmlsec_signer) if self.twist else xmlsec_signer
        return make_dossier(
            random.Random(number),
            PROCEDURE,
            identity,
            signer=sign,
            number=number,
            today=today,
            faults=self.faults,
        )


def _form(name: str, error: type[GatewayError], twist: Twist, *, path: str = FIRST) -> Attack:
    """An attack on the first form: the refusal names it and its file."""
    return Attack(name, error, twist, table=FORM, path=path)


_PDF = b"%PDF-1.4\n%%EOF\n"
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32) + b"\xff\xd9"

ATTACKS: tuple[Attack, ...] = (
    # Every XML attack document, as the dossier and as its form.
    *(
        Attack(f"dossier {n}", e, after(ENVELOPE, replaced_by(attack(n))))
        for n, e in ERRORS.items()
    ),
    *(
        _form(f"form {n}", e, after(FORM_SIGNATURE, replaced_by(attack(n))))
        for n, e in ERRORS.items()
    ),
    # A DTD with an external entity before a signed document's root.
    Attack("dossier with a DTD", XmlForbiddenConstruct, after(ENVELOPE, with_doctype)),
    _form("form with a DTD", XmlForbiddenConstruct, after(FORM_SIGNATURE, with_doctype)),
    # Wrapping, at both levels.
    Attack(
        "dossier in another Hoso", SignatureInvalid, after(ENVELOPE, wrapped_in_another(ENVELOPE))
    ),
    _form(
        "form in another form",
        SignatureInvalid,
        after(FORM_SIGNATURE, wrapped_in_another(FORM_SIGNATURE)),
    ),
    Attack(
        "dossier's signature over other content",
        SignatureInvalid,
        after(ENVELOPE, signature_over_other_content(ENVELOPE)),
    ),
    _form(
        "form's signature over other content",
        SignatureInvalid,
        after(FORM_SIGNATURE, signature_over_other_content(FORM_SIGNATURE)),
    ),
    Attack("dossier signed twice", SignatureInvalid, after(ENVELOPE, second_signature)),
    _form("form signed twice", SignatureInvalid, after(FORM_SIGNATURE, second_signature)),
    Attack("dossier's signature moved", SignatureInvalid, after(ENVELOPE, signature_moved)),
    _form("form's signature moved", SignatureInvalid, after(FORM_SIGNATURE, signature_moved)),
    Attack("dossier signed by Id", SignatureInvalid, by_id(ENVELOPE)),
    _form("form signed by Id", SignatureInvalid, by_id(FORM_SIGNATURE)),
    Attack("a second Hoso after the dossier", XmlMalformed, after(ENVELOPE, second_root)),
    _form("a second form after the form", XmlMalformed, after(FORM_SIGNATURE, second_root)),
    Attack(
        "dossier with two NoiDung", SchemaInvalid, before(ENVELOPE, second_content), table="Hoso"
    ),
    _form(
        "form with two NoiDung",
        SchemaInvalid,
        before(FORM_SIGNATURE, second_content),
        path=f"/{FORM}/NoiDung",
    ),
    # Encodings of a form.
    _form("form in UTF-16", XmlMalformed, after(FORM_SIGNATURE, in_encoding("UTF-16", "utf-16"))),
    _form(
        "form declared Latin-1",
        XmlMalformed,
        after(FORM_SIGNATURE, in_encoding("ISO-8859-1", "latin-1")),
    ),
    # Base64 and lengths.
    _form("form that is not base64", XmlMalformed, before(ENVELOPE, file_content("!!!!" * 64))),
    _form(
        "form of white space only", XmlMalformed, before(ENVELOPE, file_content(" \n" * (2 << 20)))
    ),
    Attack(
        "DoDaiFile small, content large",
        RuleViolation,
        before(ENVELOPE, file_content("QUFB" * (2 << 20), declared=100)),
        rule="DOSSIER.FILE_LENGTH",
        table=FORM,
        path=f"{FIRST}/DoDaiFile",
    ),
    # libxml2 reads no text node over 10 MB (XML_PARSE_HUGE is off): the whole dossier is too large.
    Attack(
        "a file over the parser's text limit",
        XmlTooLarge,
        after(ENVELOPE, file_content("QUFB" * (5 << 19))),
    ),
    Attack(
        "more files than a dossier has",
        SchemaInvalid,
        before(ENVELOPE, files_repeated(101)),
        table="Hoso",
    ),
    # Attachments: count, size, content, type, length.
    Attack(
        "attachments over their count",
        RuleViolation,
        faults=("attachment-count",),
        rule="DOSSIER.ATTACHMENT_COUNT",
        table="CT-DK",
        path=FILES_PATH,
    ),
    Attack(
        "attachment over its size",
        XmlTooLarge,
        faults=("attachment-too-large",),
        table="CT-DK",
        path=FILES_PATH,
    ),
    Attack(
        "a program declared a PDF",
        RuleViolation,
        faults=("attachment-content",),
        rule="DOSSIER.ATTACHMENT_CONTENT",
        table="CT-DK",
        path=FILES_PATH,
    ),
    Attack(
        "a JPEG declared a PDF",
        RuleViolation,
        before(ENVELOPE, attachment(_JPEG)),
        rule="DOSSIER.ATTACHMENT_CONTENT",
        table="CT-DK",
        path=FILES_PATH,
    ),
    Attack(
        "an empty PDF",
        RuleViolation,
        before(ENVELOPE, attachment(b"")),
        rule="DOSSIER.ATTACHMENT_CONTENT",
        table="CT-DK",
        path=FILES_PATH,
    ),
    Attack(
        "an attachment of a type not taken",
        RuleViolation,
        before(ENVELOPE, attachment(_PDF, kind=".exe")),
        rule="DOSSIER.FILE_TYPE",
        table="CT-DK",
        path=FILES_PATH,
    ),
    Attack(
        "an attachment of the wrong length",
        RuleViolation,
        before(ENVELOPE, attachment(_PDF, extra_length=1)),
        rule="DOSSIER.FILE_LENGTH",
        table="CT-DK",
        path=FILES_PATH,
    ),
)
