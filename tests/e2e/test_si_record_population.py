"""VNeID lookups confirmed with the population-database simulator, over real HTTP: on a cache miss
the record's person is checked by XacThucThongTinCongDan (the token's citizen ID with the SI
record's name and birth, the purpose as MaDVC) and the answer cached with that outcome; a person
C06 does not hold so is 409 CONFLICT SI_RECORD.PERSON_MISMATCH, C06 down is 503 with
Retry-After; neither is cached, and each is audited."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.population.citizens import citizen, current_address
from adapters.population.simulator import Fault
from gateway.api.citizens import ASSERTION_HEADER
from gateway.audit import Result
from gateway.bootstrap import build
from gateway.config import Settings
from gateway.sirecords.lookups import DEFAULT_PURPOSE, MISMATCH
from tests.conftest import Served
from tests.support.population import SimulatedPopulation, simulated_population
from tests.support.sirecords import card, person
from tests.support.vneid import (
    CITIZEN,
    OTHER_CITIZEN,
    VNEID_TOKEN,
    SimulatedProvider,
    with_vneid,
)

HOME = current_address("01", "00004", "Số 3 Phố Huế")
# C06 holds CITIZEN as her SI record names her; OTHER_CITIZEN born a year later than his says.
HELD = (
    citizen(CITIZEN, "Nguyễn Thị Lan", born="1990-05-17", residence=HOME),
    citizen(OTHER_CITIZEN, "Nguyễn Thị Lan", born="1991", residence=HOME),
)


@pytest.fixture(scope="module")
def c06() -> Iterator[SimulatedPopulation]:
    with simulated_population(HELD) as running:
        yield running


@pytest.fixture
def served(
    settings: Settings, vneid_sim: SimulatedProvider, c06: SimulatedPopulation
) -> Iterator[Served]:
    configured = c06.configured(with_vneid(settings, vneid_sim.jwks_url), population_retries=1)
    gateway = build(configured)
    gateway.si_records.upsert(person(CITIZEN), cards=[card()])
    gateway.si_records.upsert(person(OTHER_CITIZEN), cards=[card("DN4010188001234")])
    try:
        with Served(gateway) as server:
            yield server
    finally:
        gateway.close()
        c06.population.reset_faults()


def lookup(served: Served, vneid_sim: SimulatedProvider, citizen_id: str) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {VNEID_TOKEN}",
        ASSERTION_HEADER: vneid_sim.idp.mint(citizen_id),
    }
    with httpx.Client(base_url=served.url, timeout=10) as client:
        return client.get(f"/api/v1/si-records/{citizen_id}", headers=headers)


def checks(c06: SimulatedPopulation) -> list[dict[str, str]]:
    """The leading fields of every XacThucThongTinCongDan the simulator received."""
    calls = c06.population.calls()
    return [call.leading for call in calls if call.operation == "XacThucThongTinCongDan"]


def results(served: Served) -> list[Result]:
    return [entry.event().result for entry in served.gateway.audit.log.entries(limit=100)]


def test_a_confirmed_citizen_is_answered_and_the_second_lookup_does_not_ask_c06(
    served: Served, vneid_sim: SimulatedProvider, c06: SimulatedPopulation
) -> None:
    before = len(checks(c06))
    first = lookup(served, vneid_sim, CITIZEN)
    second = lookup(served, vneid_sim, CITIZEN)

    assert first.status_code == 200, first.text
    assert second.content == first.content
    (asked,) = checks(c06)[before:]
    assert (asked["MaDVC"], asked["MaTichHop"]) == (DEFAULT_PURPOSE, "003")
    assert results(served) == [Result.OK, Result.OK]


def test_a_record_whose_person_c06_does_not_hold_is_a_conflict_and_not_cached(
    served: Served, vneid_sim: SimulatedProvider, c06: SimulatedPopulation
) -> None:
    before = len(checks(c06))
    answers = [lookup(served, vneid_sim, OTHER_CITIZEN) for _ in range(2)]

    for answer in answers:
        assert answer.status_code == 409, answer.text
        problem = answer.json()
        assert problem["code"] == "CONFLICT"
        assert [issue["rule"] for issue in problem["issues"]] == [MISMATCH]
        assert OTHER_CITIZEN not in problem["detail"] and OTHER_CITIZEN[-3:] in problem["detail"]
        assert "si_number" not in answer.text
    assert len(checks(c06)) - before == 2  # a mismatch is asked again, not cached
    assert results(served) == [Result.MISMATCH, Result.MISMATCH]


def test_c06_down_is_503_with_retry_after_then_the_citizen_is_answered(
    served: Served, vneid_sim: SimulatedProvider, c06: SimulatedPopulation
) -> None:
    c06.population.inject(Fault(kind="status", status=503))
    down = lookup(served, vneid_sim, CITIZEN)
    c06.population.reset_faults()
    before = len(checks(c06))
    up = lookup(served, vneid_sim, CITIZEN)

    assert down.status_code == 503, down.text
    assert down.json()["code"] == "UNAVAILABLE"
    assert int(down.headers["Retry-After"]) >= 1
    assert "si_number" not in down.text
    assert up.status_code == 200, up.text
    assert len(checks(c06)) - before == 1  # the failure was not cached: asked again
    assert results(served) == [Result.UNAVAILABLE, Result.OK]


def test_without_population_url_nobody_is_asked(
    settings: Settings, vneid_sim: SimulatedProvider, c06: SimulatedPopulation
) -> None:
    gateway = build(with_vneid(settings, vneid_sim.jwks_url))
    gateway.si_records.upsert(person(OTHER_CITIZEN), cards=[card("DN4010188001234")])
    before = len(checks(c06))
    try:
        with Served(gateway) as served:
            answer = lookup(served, vneid_sim, OTHER_CITIZEN)
    finally:
        gateway.close()
    assert answer.status_code == 200, answer.text
    assert len(checks(c06)) == before
