"""A citizen's dossier checked against the population-database simulator at submission, over
HTTP end to end: received when the person is who C06 holds, refused with the rule and path when
not, 503 with Retry-After and nothing stored when C06 does not answer."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator

import pytest

from adapters.population.citizens import SAMPLE, citizen, current_address
from adapters.population.simulator import Fault
from adapters.portal.synth.draws import person
from gateway.bootstrap import build
from gateway.config import Settings
from gateway.trust.sign import SigningIdentity
from tests.conftest import DOSSIER_TABLES, Pki, Served, counts, serving, settings_in
from tests.support.edossiers import CITIZEN_ID, CITIZEN_NAME, signed_dossier, submit
from tests.support.population import SimulatedPopulation, simulated_population

NUMBER = 700  # the MaHoSo serial of the module's dossier, and the seed of its person
# The person the dossier's form names: the generator's first draw for this serial.
BORN = person(random.Random(NUMBER), citizen=CITIZEN_ID, name=CITIZEN_NAME).born.isoformat()
HOME = current_address("01", "00004", "Số 3 Phố Huế")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatedPopulation]:
    with simulated_population(SAMPLE) as running:
        yield running


@pytest.fixture(scope="module")
def served(
    sim: SimulatedPopulation, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    settings = sim.configured(settings_in(pki, tmp_path_factory.mktemp("population")))
    with serving(settings) as server:
        yield server


@pytest.fixture
def registered(sim: SimulatedPopulation) -> Iterator[None]:
    """The applicant as C06 holds her; faults cleared after the test."""
    sim.population.add(citizen(CITIZEN_ID, CITIZEN_NAME, born=BORN, residence=HOME))
    yield
    sim.population.reset_faults()


def test_a_person_c06_does_not_hold_so_is_refused_with_rule_and_path(
    served: Served, sim: SimulatedPopulation, applicant: SigningIdentity, registered: None
) -> None:
    other_year = str(int(BORN[:4]) + 1)
    sim.population.add(citizen(CITIZEN_ID, CITIZEN_NAME, born=other_year, residence=HOME))
    before = counts(served.gateway, DOSSIER_TABLES)
    with served.client("portal") as portal:
        answer = submit(portal, signed_dossier(applicant, number=NUMBER))
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "RULE_VIOLATION"
    assert [(i["rule"], i["path"]) for i in problem["issues"]] == [
        ("DOSSIER.PERSON_MISMATCH", "subject.citizen_id")
    ]
    assert CITIZEN_ID not in answer.text and CITIZEN_ID[-3:] in problem["detail"]
    assert counts(served.gateway, DOSSIER_TABLES) == before


def test_c06_down_is_503_with_retry_after_and_nothing_stored_then_received(
    served: Served, sim: SimulatedPopulation, applicant: SigningIdentity, registered: None
) -> None:
    made = signed_dossier(applicant, number=NUMBER)
    before = counts(served.gateway, DOSSIER_TABLES)
    sim.population.inject(Fault(kind="status", status=503))
    with served.client("portal") as portal:
        down = submit(portal, made)
        assert down.status_code == 503, down.text
        assert down.json()["code"] == "UNAVAILABLE"
        assert int(down.headers["Retry-After"]) >= 1
        assert counts(served.gateway, DOSSIER_TABLES) == before
        sim.population.reset_faults()
        calls = len(sim.population.calls())
        received = submit(portal, made)
    assert received.status_code == 202, received.text
    assert received.json()["duplicate"] is False
    (check,) = sim.population.calls()[calls:]  # the form's person is the applicant: one check
    assert check.operation == "XacThucThongTinCongDan"
    assert (check.leading["MaDVC"], check.leading["MaTichHop"]) == (made.ma_tthc, "003")


def test_unset_population_url_checks_nobody_and_says_so(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.bootstrap"):
        gateway = build(settings)
    try:
        assert gateway.dossiers.population is None
        assert "GATEWAY_POPULATION_URL is unset" in caplog.text
    finally:
        gateway.close()
