"""Synthetic VSS e-dossiers: forms signed at their ``Cky``, embedded in a ``Hoso`` envelope
signed at ``CKy_Dvi``, by the unit or citizen the signing certificate names; faults on request.

Signing goes through a seam (``Signer``): the ``gateway generate dossiers`` command signs with
the gateway's own code (``sign_with_gateway``), the tests with an independent signer (xmlsec).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import date

from lxml import etree

from adapters.portal.binding import applicant_of
from adapters.portal.procedures import CATALOGUE, FORMS, Procedure
from adapters.portal.synth.draws import Person, dmy, employer, my, person
from adapters.portal.synth.forms import add_fields, unsigned_form
from gateway.trust.sign import SigningIdentity, sign_enveloped
from gateway.xml.parser import XmlLimits, parse

# (unsigned document, identity, the tag of the root's child that receives the signature)
Signer = Callable[[bytes, SigningIdentity, str], bytes]

FAULTS = {
    "tampered-form": "a form changed after it was signed (SIGNATURE_INVALID)",
    "unsigned-form": "a form without its own signature (SIGNATURE_MISSING)",
    "form-signed-by-other": "a form signed by another identity (FORBIDDEN; needs --other-*)",
    "envelope-signed-by-other": "the envelope signed by another identity (FORBIDDEN)",
    "count-mismatch": "SoLuongFile one more than the files (DOSSIER.FILE_COUNT)",
    "length-mismatch": "a DoDaiFile one more than its NoiDungFile (DOSSIER.FILE_LENGTH)",
    "unknown-procedure": "a MaThuTuc that is no procedure (DOSSIER.PROCEDURE_UNKNOWN)",
    "form-not-taken": "a form the procedure does not take (DOSSIER.FORM_NOT_TAKEN)",
    "missing-form": "the mandatory XML form left out (DOSSIER.FORM_MISSING)",
    "form-root": "a form whose root is another form's (DOSSIER.FORM_ROOT)",
    "file-type": "an XML form declared as a .pdf file (DOSSIER.FILE_TYPE)",
    "form-twice": "the first form a second time (DOSSIER.FORM_TWICE)",
    "applicant-kind": "a --procedure its applicant may not file (DOSSIER.APPLICANT_KIND)",
    "attachment-content": "a .pdf that is a program (DOSSIER.ATTACHMENT_CONTENT)",
    "attachment-count": "more attachments than a dossier takes (DOSSIER.ATTACHMENT_COUNT)",
    "attachment-too-large": "an attachment one byte over its bound (XML_TOO_LARGE)",
}
_NEEDS_OTHER = frozenset({"form-signed-by-other", "envelope-signed-by-other"})
_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# A small, well-formed PDF: the scanned supporting document (CT-DK).
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
# What a program looks like: a Windows executable's header, in a file declared a PDF.
_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(50)
AGENCY = "000.00.01.G24"  # VSS's electronic agency identifier on DVCQG (designed: G24 is VSS)


def sign_with_gateway(unsigned: bytes, identity: SigningIdentity, container: str) -> bytes:
    """The gateway's own signer (``gateway.trust.sign``), in the .NET SignedXml layout."""
    root = parse(unsigned, XmlLimits())
    parent = root.find(container)
    assert parent is not None
    sign_enveloped(root, identity, container=parent)
    return _DECLARATION + etree.tostring(root, encoding="utf-8")


@dataclass(frozen=True)
class GeneratedDossier:
    body: bytes
    ma_ho_so: str  # the portal's dossier code
    ma_tthc: str  # the portal's procedure code
    procedure: str
    faults: tuple[str, ...]
    subject: Person | None = None  # who the forms are about


@dataclass(frozen=True)
class _File:
    code: str
    name: str
    kind: str
    data: bytes


def ma_ho_so(day: date, number: int, *, agency: str = AGENCY) -> str:
    """``{agency id}-{yyMMdd}-{NNNNN}``, as DVCQG numbers dossiers."""
    return f"{agency}-{day:%y%m%d}-{number:05d}"


def _tamper(signed: bytes) -> bytes:
    root = parse(signed, XmlLimits())
    content = root.find("NoiDung")
    assert content is not None
    target = next(e for e in content.iter() if e.text and e.text.strip())
    target.text = (target.text or "") + "1"
    return _DECLARATION + etree.tostring(root, encoding="utf-8")


def _renamed(unsigned: bytes) -> bytes:
    """The form with another XML form's root (the signature's place follows it)."""
    root = parse(unsigned, XmlLimits())
    root.tag = next(c for c in FORMS if FORMS[c].kind == "xml" and c != root.tag)
    return _DECLARATION + etree.tostring(root, encoding="utf-8")


def _file_faults(files: list[_File], faults: Collection[str]) -> list[_File]:
    """The faults of the list of files: the first form twice or declared another type;
    attachments that are too many, too large or not what their type says."""
    if "form-twice" in faults:
        files.insert(1, files[0])
    if "file-type" in faults:
        files[0] = replace(files[0], kind=".pdf")
    attachment = _File("CT-DK", "CT-DK_x.pdf", ".pdf", _PDF)
    if "attachment-content" in faults:
        files.append(replace(attachment, data=_PROGRAM))
    if "attachment-count" in faults:
        files += [attachment] * (FORMS["CT-DK"].max_files + 1)
    if "attachment-too-large" in faults:
        over = (FORMS["CT-DK"].max_bytes or 0) + 1 - len(_PDF)
        files.append(replace(attachment, data=_PDF + b"\n" * over))
    return files


def _files(
    rng: random.Random,
    procedure: Procedure,
    who: Person,
    *,
    identity: SigningIdentity,
    signer: Signer,
    faults: Collection[str],
    other: SigningIdentity | None,
    today: date,
    optional_xml: bool,
) -> list[_File]:
    codes = list(procedure.required_forms)
    if optional_xml:
        codes += [c for c in procedure.optional_forms if FORMS[c].kind == "xml"]
    codes += [c for c in procedure.optional_forms if FORMS[c].kind == "attachment"][
        : rng.randrange(2)
    ]
    if "missing-form" in faults:
        codes = [c for c in codes if FORMS[c].kind == "attachment"] or ["CT-DK"]
    if "form-not-taken" in faults:
        codes.append(next(c for c in FORMS if FORMS[c].kind == "xml" and not procedure.takes(c)))
    files = []
    for n, code in enumerate(codes):
        if FORMS[code].kind == "attachment":
            files.append(_File(code, f"{code}_{n}.pdf", ".pdf", _PDF))
            continue
        data = unsigned_form(code, rng, who, procedure=procedure.code, today=today)
        first = n == 0
        if first and "form-root" in faults:
            data = _renamed(data)
        if not (first and "unsigned-form" in faults):
            by = other if first and "form-signed-by-other" in faults and other else identity
            data = signer(data, by, "Cky")
        if first and "tampered-form" in faults:
            data = _tamper(data)
        files.append(_File(code, f"{today:%Y%m%d}_{code}.xml", ".xml", data))
    return _file_faults(files, faults)


def make_dossier(
    rng: random.Random,
    procedure_code: str,
    identity: SigningIdentity,
    *,
    signer: Signer,
    number: int,
    today: date,
    faults: Collection[str] = (),
    other: SigningIdentity | None = None,
    agency: str = AGENCY,
    optional_xml: bool = False,
    born: date | None = None,
) -> GeneratedDossier:
    """A dossier of ``procedure_code`` by the unit or citizen ``identity``'s certificate names;
    with ``optional_xml``, every optional XML form the procedure takes is in it too; ``born``:
    the birth of the person its forms are about, when it must be a given one."""
    procedure = CATALOGUE[procedure_code]
    applicant = applicant_of(identity.certificate)
    if applicant.kind not in procedure.applicants and "applicant-kind" not in faults:
        raise ValueError(f"{procedure_code} is not filed by a {applicant.kind}")
    unknown = set(faults) - set(FAULTS)
    if unknown or (_NEEDS_OTHER & set(faults) and other is None):
        raise ValueError(f"faults {sorted(unknown)} unknown, or a fault needs another identity")
    citizen = applicant.kind == "citizen"
    who = (
        person(rng, citizen=applicant.id, name=applicant.name, born=born)
        if citizen
        else person(rng, born=born)
    )
    files = _files(
        rng,
        procedure,
        who,
        identity=identity,
        signer=signer,
        faults=faults,
        other=other,
        today=today,
        optional_xml=optional_xml,
    )
    hoso = etree.Element("Hoso")
    content = etree.SubElement(hoso, "NoiDung")
    ivan = etree.SubElement(content, "ThongTinIVAN")
    add_fields(ivan, MaIVAN="DVCQG", TenIVAN="Cổng Dịch vụ công quốc gia")
    unit = etree.SubElement(content, "ThongTinDonVi")
    me = employer(rng, tax_code=applicant.id, name=applicant.name) if not citizen else None
    add_fields(
        unit,
        TenDoiTuong=applicant.name,
        MaSoBHXH=who.si_number if citizen else me.si_code if me else None,
        LoaiDoiTuong="1" if citizen else "2",
        MaSoThue=applicant.id,
        NguoiKy=who.full_name if citizen else "Giám đốc",
        DienThoai="0243" + f"{rng.randrange(10**7):07d}",
        CoQuanQuanLy=f"{who.province}001",
    )
    info = etree.SubElement(content, "ThongTinHoSo")
    add_fields(
        info,
        TenThuTuc=procedure.name,
        MaThuTuc="699" if "unknown-procedure" in faults else procedure.ma_thu_tuc,
        KyKeKhai=my(today),
        NgayLap=dmy(today),
        SoLuongFile=str(len(files) + ("count-mismatch" in faults)),
    )
    forms = etree.SubElement(info, "ToKhais")
    for n, file in enumerate(files):
        encoded = base64.b64encode(file.data).decode("ascii")
        extra = int(n == 0 and "length-mismatch" in faults)
        entry = etree.SubElement(forms, "FileToKhai")
        add_fields(entry, MaToKhai=file.code, MoTaToKhai=FORMS[file.code].name, TenFile=file.name)
        add_fields(
            entry, LoaiFile=file.kind, DoDaiFile=str(len(encoded) + extra), NoiDungFile=encoded
        )
    etree.SubElement(hoso, "CKy_Dvi")
    unsigned = _DECLARATION + etree.tostring(hoso, encoding="utf-8")
    envelope_signer = other if "envelope-signed-by-other" in faults and other else identity
    return GeneratedDossier(
        body=signer(unsigned, envelope_signer, "CKy_Dvi"),
        ma_ho_so=ma_ho_so(today, number, agency=agency),
        ma_tthc=procedure.ma_tthc,
        procedure=procedure.code,
        faults=tuple(faults),
        subject=who,
    )
