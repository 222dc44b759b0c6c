"""The VSS e-dossier read at both signature levels: every procedure, every bad input."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest
from lxml import etree

from adapters.portal.edossier import EDossierFormat
from adapters.portal.payload import DossierPayload
from adapters.portal.procedures import CATALOGUE
from adapters.portal.synth import make_dossier, sign_with_gateway
from gateway.dossiers.lifecycle import State
from gateway.dossiers.ports import Applicant, Dossier, DossierFormat, Trust
from gateway.errors import (
    CertExpired,
    CertRevoked,
    CertUntrusted,
    Forbidden,
    GatewayError,
    Issue,
    RuleViolation,
    SignatureInvalid,
    SignatureMissing,
)
from gateway.trust.sign import SigningIdentity
from gateway.xml.ns import DS
from gateway.xml.parser import XmlLimits, parse
from tests.adapters.portal.conftest import (
    CITIZEN_ID,
    SCHEMAS,
    TODAY,
    UNIT_TAX_CODE,
    Applicants,
    Make,
    xmlsec_signer,
)
from tests.support.xmlsec_signer import xmlsec_sign


def _identity(procedure: str, applicants: Applicants) -> SigningIdentity:
    kinds = CATALOGUE[procedure].applicants
    return applicants.citizen if "citizen" in kinds else applicants.unit


@pytest.mark.parametrize("procedure", sorted(CATALOGUE))
def test_a_valid_dossier_of_every_procedure_is_read(
    procedure: str, dossier: Make, applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    made = dossier(procedure, identity=_identity(procedure, applicants))
    read = fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    assert read.procedure == procedure
    assert read.ma_thu_tuc == CATALOGUE[procedure].ma_thu_tuc
    assert read.applicant.id in (CITIZEN_ID, UNIT_TAX_CODE)
    assert read.payload["procedure"]["code"] == procedure
    assert all(f.signer is not None for f in read.forms if f.file_type == ".xml")
    assert {f.code for f in read.forms} >= set(CATALOGUE[procedure].required_forms)


def _issue(exc: GatewayError) -> Issue:
    assert exc.issues, exc.detail
    return exc.issues[-1]


@pytest.mark.parametrize(
    ("fault", "error", "rule", "table", "path_end"),
    [
        ("unsigned-form", SignatureMissing, None, "DN01-HSB", "FileToKhai[1]"),
        ("tampered-form", SignatureInvalid, None, "DN01-HSB", "FileToKhai[1]"),
        ("count-mismatch", RuleViolation, "DOSSIER.FILE_COUNT", None, "/SoLuongFile"),
        ("length-mismatch", RuleViolation, "DOSSIER.FILE_LENGTH", "DN01-HSB", "/DoDaiFile"),
        ("unknown-procedure", RuleViolation, "DOSSIER.PROCEDURE_UNKNOWN", None, "/MaThuTuc"),
        ("form-not-taken", RuleViolation, "DOSSIER.FORM_NOT_TAKEN", "TK1-TS", "/MaToKhai"),
        ("missing-form", RuleViolation, "DOSSIER.FORM_MISSING", "DN01-HSB", "/ToKhais"),
        ("form-root", RuleViolation, "DOSSIER.FORM_ROOT", "DN01-HSB", "[1]/NoiDungFile"),
        ("file-type", RuleViolation, "DOSSIER.FILE_TYPE", "DN01-HSB", "FileToKhai[1]/LoaiFile"),
        ("form-twice", RuleViolation, "DOSSIER.FORM_TWICE", "DN01-HSB", "/ToKhais/FileToKhai[2]"),
    ],
)
def test_each_fault_has_its_code_form_and_path(
    fault: str,
    error: type[GatewayError],
    rule: str | None,
    table: str | None,
    path_end: str,
    dossier: Make,
    fmt: DossierFormat,
    trust: Trust,
) -> None:
    made = dossier("BENEFIT_MATERNITY", faults=(fault,))
    with pytest.raises(error) as caught:
        fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    issue = _issue(caught.value)
    assert (issue.rule, issue.table) == (rule, table)
    assert issue.path is not None and issue.path.endswith(path_end)


@pytest.mark.parametrize(
    ("procedure", "applicant"), [("BENEFIT_SICKNESS", "citizen"), ("BENEFIT_LUMP_SUM", "unit")]
)
def test_a_procedure_filed_by_the_other_kind_of_applicant_is_refused(
    procedure: str,
    applicant: str,
    dossier: Make,
    applicants: Applicants,
    fmt: DossierFormat,
    trust: Trust,
) -> None:
    """Sickness benefits are claimed by the employer, a lump sum by the worker."""
    identity = applicants.citizen if applicant == "citizen" else applicants.unit
    made = dossier(procedure, identity=identity, faults=("applicant-kind",))
    with pytest.raises(RuleViolation, match=f"not filed by a {applicant}") as caught:
        fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    issue = _issue(caught.value)
    assert (issue.rule, issue.table, issue.path) == (
        "DOSSIER.APPLICANT_KIND",
        None,
        "/Hoso/NoiDung/ThongTinDonVi/LoaiDoiTuong",
    )


@pytest.mark.parametrize(
    ("fault", "message", "table", "path"),
    [
        pytest.param(
            "form-signed-by-other",
            "signed by someone else",
            "DN01-HSB",
            "/Hoso/NoiDung/ThongTinHoSo/ToKhais/FileToKhai[1]",
            id="a-form",
        ),
        pytest.param(
            "envelope-signed-by-other",
            "signed by citizen 079090004321",
            None,
            "/Hoso/NoiDung/ThongTinDonVi/MaSoThue",
            id="the-envelope",
        ),
    ],
)
def test_a_signature_by_someone_other_than_the_applicant_is_forbidden(
    fault: str,
    message: str,
    table: str | None,
    path: str,
    dossier: Make,
    applicants: Applicants,
    fmt: DossierFormat,
    trust: Trust,
) -> None:
    made = dossier("BENEFIT_MATERNITY", faults=(fault,), other=applicants.other_citizen)
    with pytest.raises(Forbidden, match=message) as caught:
        fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    issue = _issue(caught.value)
    assert (issue.table, issue.path) == (table, path)


def test_a_signer_whose_certificate_names_no_one_is_forbidden(
    dossier: Make, applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    made = dossier(
        "BENEFIT_MATERNITY", faults=("envelope-signed-by-other",), other=applicants.no_uid
    )
    with pytest.raises(Forbidden, match="UID=MST"):
        fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)


def test_an_unknown_matthc_is_refused(dossier: Make, fmt: DossierFormat, trust: Trust) -> None:
    made = dossier("BENEFIT_MATERNITY")
    with pytest.raises(RuleViolation) as caught:
        fmt.read(made.body, ma_tthc="1.000000", trust=trust)
    assert (_issue(caught.value).rule, _issue(caught.value).path) == (
        "DOSSIER.PROCEDURE_UNKNOWN",
        "MaTTHC",
    )


def test_matthc_and_mathutuc_of_different_procedures_are_refused(
    dossier: Make, fmt: DossierFormat, trust: Trust
) -> None:
    made = dossier("BENEFIT_MATERNITY")
    with pytest.raises(RuleViolation) as caught:
        fmt.read(made.body, ma_tthc=CATALOGUE["BENEFIT_PENSION"].ma_tthc, trust=trust)
    issue = _issue(caught.value)
    assert (issue.rule, issue.path) == (
        "DOSSIER.PROCEDURE_MISMATCH",
        "/Hoso/NoiDung/ThongTinHoSo/MaThuTuc",
    )


@pytest.mark.parametrize(
    ("certificate", "error"),
    [("expired", CertExpired), ("revoked", CertRevoked), ("untrusted", CertUntrusted)],
)
@pytest.mark.parametrize("level", ["envelope", "form"])
def test_certificates_are_checked_at_both_levels(
    certificate: str,
    error: type[GatewayError],
    level: str,
    dossier: Make,
    applicants: Applicants,
    fmt: DossierFormat,
    trust: Trust,
) -> None:
    made = dossier(
        "BENEFIT_MATERNITY",
        faults=(f"{level if level == 'form' else 'envelope'}-signed-by-other",),
        other=applicants.bad[certificate],
    )
    with pytest.raises(error) as caught:
        fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    if level == "form":
        assert _issue(caught.value).table == "DN01-HSB"


def test_a_signature_over_part_of_the_envelope_is_refused(
    dossier: Make, applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    """The wrapping vector: a Reference to an Id'd subtree instead of the whole document."""
    made = dossier("BENEFIT_MATERNITY")
    root = parse(made.body, XmlLimits())
    for signature in root.iter(f"{{{DS}}}Signature"):
        parent = signature.getparent()
        if parent is not None and parent.tag == "CKy_Dvi":
            parent.remove(signature)
    content = root.find("NoiDung")
    assert content is not None
    content.set("Id", "hoso")
    body = xmlsec_sign(
        etree.tostring(root),
        applicants.citizen,
        container="CKy_Dvi",
        uri="#hoso",
        id_attribute="Id",
    )
    with pytest.raises(SignatureInvalid, match="whole document"):
        fmt.read(body, ma_tthc=made.ma_tthc, trust=trust)


def test_a_dossier_signed_by_the_gateways_own_signer_is_read(
    applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    made = make_dossier(
        random.Random(3),
        "REISSUE_HI_CARD",
        applicants.unit,
        signer=sign_with_gateway,
        number=3,
        today=TODAY,
    )
    read = fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    assert read.applicant == Applicant(kind="unit", id=UNIT_TAX_CODE, name="Công ty TNHH Minh Phát")
    assert read.payload["reissue"]["item"] == "hi_card"
    assert read.subject.citizen_id == read.payload["reissue"]["person"]["citizen_id"]


@pytest.mark.parametrize("procedure", ["PERSONAL_INFO_ADJUSTMENT", "UNPAID_CONTRIBUTION_REPORT"])
def test_a_dossier_with_its_optional_xml_forms_has_each_form_signed(
    procedure: str, applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    made = make_dossier(
        random.Random(5),
        procedure,
        applicants.unit,
        signer=xmlsec_signer,
        number=5,
        today=TODAY,
        optional_xml=True,
    )
    read = fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    xml = [f for f in read.forms if f.file_type == ".xml"]
    takes = CATALOGUE[procedure]
    assert [f.code for f in xml] == [
        c for c in (*takes.required_forms, *takes.optional_forms) if c != "CT-DK"
    ]
    assert all(f.signer == read.signer for f in xml)


def test_a_household_renewal_is_normalized_with_its_members(
    dossier: Make, fmt: DossierFormat, trust: Trust
) -> None:
    made = dossier("HI_HOUSEHOLD_RENEWAL")
    read = fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    DossierPayload.model_validate(read.payload)  # the payload is what its schema says
    (participant,) = read.payload["participants"]
    assert participant["citizen_id"] == CITIZEN_ID
    assert participant["household"]["members"]
    assert read.payload["declaration_period"] == "2026-03"
    assert read.payload["created_on"] == "2026-03-02"
    assert read.subject.citizen_id == CITIZEN_ID
    assert read.subject.full_name == "Nguyễn Thị Lan"
    assert "participants" in fmt.payload_schema()["properties"]


def _stored(read_procedure: str, applicant: Applicant) -> Dossier:
    now = datetime.now(UTC)
    return Dossier(
        id="01J00000000000000000000000",
        partner_id="portal",
        ma_ho_so="000.00.01.G24-260302-00007",
        ma_tthc=CATALOGUE[read_procedure].ma_tthc,
        procedure=read_procedure,
        department="benefits",
        state=State.SUPPLEMENT_REQUESTED,
        received_at=now,
        due_date=TODAY,
        receipt_id="r",
        record_id="d",
        applicant=applicant,
        version=3,
    )


def test_additional_documents_of_the_same_applicant_are_read(
    dossier: Make, fmt: DossierFormat, trust: Trust
) -> None:
    first = fmt.read(dossier("BENEFIT_MATERNITY").body, ma_tthc="1.009108", trust=trust)
    more = dossier("BENEFIT_MATERNITY", seed=8)
    read = fmt.read_documents(
        more.body, dossier=_stored("BENEFIT_MATERNITY", first.applicant), trust=trust
    )
    assert read.applicant == first.applicant
    assert read.forms


def test_additional_documents_of_another_applicant_or_procedure_are_refused(
    dossier: Make, applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    other = dossier("BENEFIT_MATERNITY", identity=applicants.other_citizen)
    mine = Applicant(kind="citizen", id=CITIZEN_ID, name="Nguyễn Thị Lan")
    with pytest.raises(Forbidden):
        fmt.read_documents(other.body, dossier=_stored("BENEFIT_MATERNITY", mine), trust=trust)
    pension = dossier("BENEFIT_PENSION")
    with pytest.raises(RuleViolation) as caught:
        fmt.read_documents(pension.body, dossier=_stored("BENEFIT_MATERNITY", mine), trust=trust)
    assert _issue(caught.value).rule == "DOSSIER.PROCEDURE_MISMATCH"


def test_a_date_that_does_not_exist_is_refused_with_its_form_and_path(
    applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    def signer(unsigned: bytes, identity: SigningIdentity, container: str) -> bytes:
        if container == "Cky":  # the form: its event on a day February does not have
            unsigned = re.sub(rb"<NgayXayRa>[^<]*<", b"<NgayXayRa>30/02/2026<", unsigned)
        return xmlsec_signer(unsigned, identity, container)

    made = make_dossier(
        random.Random(1),
        "BENEFIT_MATERNITY",
        applicants.citizen,
        signer=signer,
        number=1,
        today=TODAY,
    )
    with pytest.raises(RuleViolation) as caught:
        fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    issue = _issue(caught.value)
    assert (issue.rule, issue.table, issue.path) == (
        "DOSSIER.DATE",
        "DN01-HSB",
        "/DN01-HSB/NoiDung/SuKien/NgayXayRa",
    )


def test_the_format_is_a_dossier_format() -> None:
    fmt: DossierFormat = EDossierFormat()
    assert set(fmt.schema_names) <= set(SCHEMAS.names())
    assert fmt.procedure_of("BENEFIT_PENSION") == "BENEFIT_PENSION"
