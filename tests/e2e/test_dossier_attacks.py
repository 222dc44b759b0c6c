"""Attacks on dossiers over REST, through the served gateway: each dossier or added document of
tests/support/dossier_attacks.py answered with its SPEC code and status, naming the form and its
file, and nothing of it stored."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from gateway.dossiers.calendar import vietnam_date
from gateway.trust.sign import SigningIdentity
from tests.conftest import Pki, Served, serving, settings_in
from tests.support.dossier_attacks import ATTACKS, Attack
from tests.support.edossiers import signed_dossier, submit, submitted


@pytest.fixture(scope="module")
def served(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One gateway for the module: a refused attack leaves nothing in it for the next."""
    with serving(settings_in(pki, tmp_path_factory.mktemp("attacked"))) as server:
        yield server


def refused(answer: httpx.Response, attack: Attack) -> None:
    """``answer`` is the attack's problem, its last issue pointing where the attack is."""
    assert answer.status_code == attack.error.status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == attack.error.code
    last = (problem.get("issues") or [{}])[-1]
    assert (last.get("rule"), last.get("table")) == (attack.rule, attack.table)
    if attack.path is not None:
        assert last["path"].startswith(attack.path), last


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_an_attacking_dossier_gets_its_code_and_nothing_is_stored(
    attack: Attack, served: Served, applicant: SigningIdentity
) -> None:
    made = attack.made(applicant, number=1, today=vietnam_date(datetime.now(UTC)))
    with served.client("portal") as portal:
        refused(submit(portal, made), attack)
    store = served.gateway.dossiers.store
    digest = hashlib.sha256(made.body).hexdigest()
    assert store.find("portal", ma_ho_so=made.ma_ho_so, sha256=digest) is None
    assert store.get_original(digest) is None


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attacking_documents_get_their_code_and_the_dossier_is_unchanged(
    attack: Attack, served: Served, applicant: SigningIdentity
) -> None:
    store = served.gateway.dossiers.store
    with served.client("portal") as portal:
        dossier_id = submitted(portal, signed_dossier(applicant, number=2))
        before = store.get(dossier_id)
        made = attack.made(applicant, number=3, today=vietnam_date(datetime.now(UTC)))
        refused(
            portal.post(
                f"/api/v1/dossiers/{dossier_id}/documents",
                content=made.body,
                headers={"Content-Type": "application/xml"},
            ),
            attack,
        )
    assert store.get(dossier_id) == before
    assert store.get_original(hashlib.sha256(made.body).hexdigest()) is None
