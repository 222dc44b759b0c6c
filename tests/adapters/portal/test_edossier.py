"""The VSS e-dossier read at both signature levels: every procedure, every bad input."""

from __future__ import annotations

import pytest

from adapters.portal.procedures import CATALOGUE
from gateway.dossiers.ports import DossierFormat, Trust
from gateway.trust.sign import SigningIdentity
from tests.adapters.portal.conftest import CITIZEN_ID, UNIT_TAX_CODE, Applicants, Make


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
