"""Attacks on the VSS e-dossier, read by the format: each refused with its SPEC error, pointing at
the form and the file it is in (tests/support/dossier_attacks.py)."""

from __future__ import annotations

import pytest

from gateway.dossiers.ports import DossierFormat, Trust
from gateway.errors import GatewayError
from tests.adapters.portal.conftest import TODAY, Applicants
from tests.support.dossier_attacks import ATTACKS, Attack


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_each_attack_is_refused_with_its_code_form_and_path(
    attack: Attack, applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    made = attack.made(applicants.citizen, number=1, today=TODAY)
    with pytest.raises(GatewayError) as caught:
        fmt.read(made.body, ma_tthc=made.ma_tthc, trust=trust)
    error = caught.value
    assert type(error) is attack.error, error.detail
    last = error.issues[-1] if error.issues else None
    assert (last.rule if last else None) == attack.rule
    assert (last.table if last else None) == attack.table
    if attack.path is not None:
        assert last is not None and last.path is not None
        assert last.path.startswith(attack.path), last.path
