"""The VSS electronic dossier (``DossierFormat``): the ``Hoso`` envelope signed at ``CKy_Dvi`` by
the unit or citizen it is about, each XML form signed at its own ``Cky`` by the same one.

Invariant: ``read`` returns a ``ReadDossier`` only when both signature levels verified (chain,
validity, revocation, no wrapping), the envelope and every XML form are valid against their
XSDs, ``SoLuongFile`` and every ``DoDaiFile`` match what arrived, the signer is the applicant,
``MaTTHC`` and ``MaThuTuc`` name the same known procedure, and the files are exactly forms that
procedure takes, its mandatory ones included, each XML form once and each attachment within its
count, size and file type. Otherwise it raises the first fault's error.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from adapters.portal import payload
from adapters.portal.binding import applicant_of, bind
from adapters.portal.envelope import FILES_PATH, HOSO_PATH, Envelope, check_counts, read_envelope
from adapters.portal.forms import SCHEMAS, ReadForm, read_form
from adapters.portal.normalize import normalize, subject_of
from adapters.portal.procedures import CATALOGUE, FORMS, Procedure, by_ma_thu_tuc, by_ma_tthc
from gateway.dossiers.ports import Applicant, Dossier, ReadDocuments, ReadDossier, Trust
from gateway.errors import Forbidden, Issue, RuleViolation, SchemaInvalid
from gateway.trust.verify import SignerInfo, verify_enveloped
from gateway.xml.parser import parse

ENVELOPE_SCHEMA = "dossier/hoso"
SIGNATURE_LOCATION = ("Hoso", "CKy_Dvi")


def _rule(rule: str, message: str, *, path: str, table: str | None = None) -> RuleViolation:
    return RuleViolation(message, issues=[Issue(message, rule=rule, path=path, table=table)])


@dataclass(frozen=True)
class _Checked:
    """An envelope verified, valid and bound to its signer; its files not yet read."""

    envelope: Envelope
    procedure: Procedure
    applicant: Applicant
    signer: SignerInfo


class EDossierFormat:
    """VSS e-dossiers as the portal and I-VAN services send them."""

    name = "VSS-EDOSSIER"
    version = "1"

    @property
    def schema_names(self) -> tuple[str, ...]:
        return (ENVELOPE_SCHEMA, *SCHEMAS.values())

    def procedure_of(self, ma_tthc: str) -> str:
        procedure = by_ma_tthc(ma_tthc) or CATALOGUE.get(ma_tthc)
        if procedure is None:
            raise _rule(
                "DOSSIER.PROCEDURE_UNKNOWN",
                f"MaTTHC {ma_tthc!r} is not a known procedure",
                path="MaTTHC",
            )
        return procedure.code

    def read(self, body: bytes, *, ma_tthc: str, trust: Trust) -> ReadDossier:
        procedure = CATALOGUE[self.procedure_of(ma_tthc)]
        checked = self._envelope(body, procedure, trust)
        forms = self._forms(checked, trust)
        present = {f.info.code for f in forms}
        for code in procedure.required_forms:
            if code not in present:
                raise _rule(
                    "DOSSIER.FORM_MISSING",
                    f"procedure {procedure.code} requires form {code}",
                    path=FILES_PATH,
                    table=code,
                )
        content = normalize(
            checked.envelope, forms, procedure=procedure, applicant=checked.applicant
        )
        return ReadDossier(
            procedure=procedure.code,
            ma_thu_tuc=checked.envelope.ma_thu_tuc,
            applicant=checked.applicant,
            signer=checked.signer,
            subject=subject_of(content, checked.applicant),
            payload=content.model_dump(mode="json", exclude_none=True),
            forms=tuple(f.info for f in forms),
        )

    def read_documents(self, body: bytes, *, dossier: Dossier, trust: Trust) -> ReadDocuments:
        checked = self._envelope(body, CATALOGUE[dossier.procedure], trust)
        mine = (dossier.applicant.kind, dossier.applicant.id)
        if (checked.applicant.kind, checked.applicant.id) != mine:
            raise Forbidden(
                "additional documents must be signed by the dossier's applicant "
                f"({dossier.applicant.kind} {dossier.applicant.id})"
            )
        forms = self._forms(checked, trust)
        content = normalize(
            checked.envelope, forms, procedure=checked.procedure, applicant=checked.applicant
        )
        return ReadDocuments(
            applicant=checked.applicant,
            signer=checked.signer,
            forms=tuple(f.info for f in forms),
            payload=content.model_dump(mode="json", exclude_none=True),
        )

    def payload_schema(self) -> dict[str, Any]:
        return payload.json_schema()

    def _envelope(self, body: bytes, procedure: Procedure, trust: Trust) -> _Checked:
        """Parse, verify the envelope's signature, validate it, bind its signer, check its
        procedure and counts."""
        root = parse(body, trust.limits)
        if root.tag != "Hoso":
            raise SchemaInvalid(
                f"a dossier is a Hoso envelope, not {root.tag!r}",
                issues=[Issue("root element must be Hoso", path=f"/{root.tag}", table="Hoso")],
            )
        verified = verify_enveloped(
            root,
            location=SIGNATURE_LOCATION,
            anchors=trust.anchors,
            policy=trust.policy,
            at=trust.at,
        )
        trust.schemas.validate(ENVELOPE_SCHEMA, verified.root, table="Hoso")
        envelope = read_envelope(verified.root)
        applicant = applicant_of(verified.certificate)
        bind(
            applicant,
            kind_code=envelope.unit["LoaiDoiTuong"],
            tax_code=envelope.unit["MaSoThue"],
        )
        self._same_procedure(envelope, procedure)
        if applicant.kind not in procedure.applicants:
            raise _rule(
                "DOSSIER.APPLICANT_KIND",
                f"procedure {procedure.code} is not filed by a {applicant.kind}",
                path="/Hoso/NoiDung/ThongTinDonVi/LoaiDoiTuong",
            )
        check_counts(envelope)
        return _Checked(envelope, procedure, applicant, verified.signer)

    @staticmethod
    def _same_procedure(envelope: Envelope, procedure: Procedure) -> None:
        named = by_ma_thu_tuc(envelope.ma_thu_tuc)
        path = f"{HOSO_PATH}/MaThuTuc"
        if named is None:
            raise _rule(
                "DOSSIER.PROCEDURE_UNKNOWN",
                f"MaThuTuc {envelope.ma_thu_tuc!r} is not a known procedure",
                path=path,
            )
        if named is not procedure:
            raise _rule(
                "DOSSIER.PROCEDURE_MISMATCH",
                f"MaThuTuc {envelope.ma_thu_tuc} is {named.code}, but MaTTHC names "
                f"{procedure.code}",
                path=path,
            )

    @staticmethod
    def _forms(checked: _Checked, trust: Trust) -> list[ReadForm]:
        _check_repeats(checked.envelope)
        return [
            read_form(entry, procedure=checked.procedure, applicant=checked.applicant, trust=trust)
            for entry in checked.envelope.files
        ]


def _check_repeats(envelope: Envelope) -> None:
    """Each form at most as many times as it may be there (an XML form once), counted before
    any file is decoded."""
    seen: Counter[str] = Counter()
    for entry in envelope.files:
        seen[entry.code] += 1
        form = FORMS.get(entry.code)  # an unknown one is refused when its file is read
        if form is None or seen[entry.code] <= form.max_files:
            continue
        if form.kind == "xml":
            raise _rule(
                "DOSSIER.FORM_TWICE",
                f"form {entry.code} is in the dossier twice",
                path=entry.path,
                table=entry.code,
            )
        raise _rule(
            "DOSSIER.ATTACHMENT_COUNT",
            f"a dossier has at most {form.max_files} files {entry.code}",
            path=entry.path,
            table=entry.code,
        )
