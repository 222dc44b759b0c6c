"""One file of a dossier: an XML form decoded, signed at its own ``Cky``, valid against its XSD;
or an attachment, within its size and starting as its file type does, kept by digest and size.
Every error names the form and the file's path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from lxml import etree

from adapters.portal.binding import applicant_of, same_signer
from adapters.portal.envelope import FileEntry
from adapters.portal.procedures import CONTENT_STARTS, FORMS, Form, Procedure
from gateway.dossiers.ports import Applicant, FormInfo, Trust
from gateway.errors import (
    CertificateError,
    Forbidden,
    Issue,
    RuleViolation,
    SignatureInvalid,
    SignatureMissing,
    XmlForbiddenConstruct,
    XmlMalformed,
    XmlTooLarge,
)
from gateway.trust.verify import SignerInfo, verify_enveloped
from gateway.xml.parser import XmlLimits, decode_base64, parse

# The XSD of each XML form, by MaToKhai (its root element is the code itself).
SCHEMAS = {
    "TK1-TS": "dossier/tk1-ts",
    "D02-TS": "dossier/d02-ts",
    "DN01-HSB": "dossier/dn01-hsb",
    "DN02-TS": "dossier/dn02-ts",
    "DN03-TS": "dossier/dn03-ts",
    "DN04-TS": "dossier/dn04-ts",
    "BC01-TT": "dossier/bc01-tt",
}
# Errors raised inside a form that are given the form's code and path (schema errors name the
# form through the registry; the others, an Unavailable CRL above all, pass unchanged).
_NAMED = (
    Forbidden,  # a form signer's certificate that names no one
    SignatureMissing,
    SignatureInvalid,
    CertificateError,
    XmlMalformed,
    XmlForbiddenConstruct,
    XmlTooLarge,
)


@dataclass(frozen=True)
class ReadForm:
    """A file of the dossier, checked; ``root`` is the signed form, None for an attachment."""

    info: FormInfo
    root: etree._Element | None


class _Naming:
    """Re-raise a form's signature, certificate or XML error with the form and its path (a
    class: a generator-based context manager cost four times as much, twice per form)."""

    def __init__(self, entry: FileEntry) -> None:
        self._entry = entry

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _: object
    ) -> None:
        if isinstance(exc, _NAMED):
            entry = self._entry
            raise type(exc)(
                f"form {entry.code} (file {entry.index}): {exc.detail}",
                issues=[*exc.issues, Issue(exc.detail, table=entry.code, path=entry.path)],
            ) from exc


def _rule(rule: str, message: str, entry: FileEntry, path: str) -> RuleViolation:
    return RuleViolation(message, issues=[Issue(message, rule=rule, table=entry.code, path=path)])


def _limits(form: Form, limits: XmlLimits) -> XmlLimits:
    """The gateway's limits, with an attachment's own bound on its decoded size."""
    if form.max_bytes is None or form.max_bytes >= limits.max_base64_bytes:
        return limits
    return replace(limits, max_base64_bytes=form.max_bytes)


def read_form(
    entry: FileEntry, *, procedure: Procedure, applicant: Applicant, trust: Trust
) -> ReadForm:
    """Check one file against the procedure, then decode and verify it."""
    form = FORMS.get(entry.code)
    if form is None or not procedure.takes(entry.code):
        raise _rule(
            "DOSSIER.FORM_NOT_TAKEN",
            f"procedure {procedure.code} does not take form {entry.code!r}",
            entry,
            f"{entry.path}/MaToKhai",
        )
    if entry.file_type.lower() not in form.file_types:
        raise _rule(
            "DOSSIER.FILE_TYPE",
            f"form {entry.code} comes as {', '.join(form.file_types)}, not {entry.file_type!r}",
            entry,
            f"{entry.path}/LoaiFile",
        )
    with _Naming(entry):
        data = decode_base64(
            entry.content, _limits(form, trust.limits), what=f"file {entry.index} NoiDungFile"
        )
    if form.kind == "attachment":
        if not data.startswith(CONTENT_STARTS[entry.file_type.lower()]):
            raise _rule(
                "DOSSIER.ATTACHMENT_CONTENT",
                f"file {entry.index} ({entry.code}) is declared {entry.file_type}, but its "
                "content is not such a file",
                entry,
                f"{entry.path}/NoiDungFile",
            )
        return ReadForm(info=_info(entry, data, signer=None), root=None)
    with _Naming(entry):  # a rule broken inside passes through unchanged
        root = parse(data, trust.limits)
        if root.tag != entry.code:
            raise _rule(
                "DOSSIER.FORM_ROOT",
                f"file {entry.index} is declared {entry.code} but its root is {root.tag!r}",
                entry,
                f"{entry.path}/NoiDungFile",
            )
        verified = verify_enveloped(
            root,
            location=(entry.code, "Cky"),
            anchors=trust.anchors,
            policy=trust.policy,
            at=trust.at,
        )
        signer = applicant_of(verified.certificate)
    same_signer(signer, applicant, code=entry.code, path=entry.path)
    trust.schemas.validate(SCHEMAS[entry.code], verified.root, table=entry.code)
    return ReadForm(info=_info(entry, data, signer=verified.signer), root=verified.root)


def _info(entry: FileEntry, data: bytes, *, signer: SignerInfo | None) -> FormInfo:
    return FormInfo(
        code=entry.code,
        file_name=entry.file_name,
        file_type=entry.file_type,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        signer=signer,
    )
