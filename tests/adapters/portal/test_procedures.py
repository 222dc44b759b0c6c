"""The procedure catalogue: every canonical procedure, codes unique and well-formed."""

from __future__ import annotations

import re

from adapters.portal.procedures import CATALOGUE, FORMS, by_ma_thu_tuc, by_ma_tthc

SPEC_PROCEDURES = {
    "SI_VOLUNTARY_REGISTRATION",
    "HI_HOUSEHOLD_RENEWAL",
    "REISSUE_SI_BOOK",
    "REISSUE_HI_CARD",
    "PERSONAL_INFO_ADJUSTMENT",
    "CERTIFICATE_OF_COVERAGE",
    "BENEFIT_SICKNESS",
    "BENEFIT_MATERNITY",
    "BENEFIT_WORK_INJURY",
    "BENEFIT_SURVIVOR",
    "BENEFIT_PENSION",
    "BENEFIT_LUMP_SUM",
    "BENEFIT_UNEMPLOYMENT",
    "UNPAID_CONTRIBUTION_REPORT",
}


def test_every_procedure_of_the_spec_is_in_the_catalogue() -> None:
    assert set(CATALOGUE) == SPEC_PROCEDURES


def test_codes_are_unique_and_in_the_portals_format() -> None:
    procedures = list(CATALOGUE.values())
    assert len({p.ma_tthc for p in procedures}) == len(procedures)
    assert len({p.ma_thu_tuc for p in procedures}) == len(procedures)
    assert all(re.fullmatch(r"1\.00\d{4}", p.ma_tthc) for p in procedures)
    assert CATALOGUE["REISSUE_HI_CARD"].ma_thu_tuc == "610"  # VSS's own code


def test_procedures_are_found_by_either_code() -> None:
    for procedure in CATALOGUE.values():
        assert by_ma_tthc(procedure.ma_tthc) is procedure
        assert by_ma_thu_tuc(procedure.ma_thu_tuc) is procedure
    assert by_ma_tthc("1.000000") is None
    assert by_ma_thu_tuc("600") is None  # a VSS procedure the portal does not send


def test_every_procedure_requires_an_xml_form_that_the_catalogue_knows() -> None:
    for procedure in CATALOGUE.values():
        assert procedure.applicants
        assert any(FORMS[f].kind == "xml" for f in procedure.required_forms)
        assert all(procedure.takes(f) and f in FORMS for f in procedure.required_forms)
