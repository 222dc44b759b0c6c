"""The C06 client with zeep over HTTP against the simulator: answers, faults, breaker, bulkhead."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from adapters.population.citizens import SAMPLE
from adapters.population.client import PopulationClient, WrongAnswer
from adapters.population.simulator import Fault
from gateway.errors import Unavailable
from gateway.identity.population import Address, Inquiry, Person
from gateway.resilience import Guard, GuardPolicy, Refused, Transient
from tests.support.population import CLIENT, OFFICER, SimulatedPopulation, simulated_population

AN, MAI, HUNG = SAMPLE[0], SAMPLE[1], SAMPLE[2]  # current scheme; Hà Giang, year only; SoCMND
ASKED = Inquiry(service="1.009101")


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatedPopulation]:
    with simulated_population() as sim:
        yield sim


@pytest.fixture
def sim(running: SimulatedPopulation) -> Iterator[SimulatedPopulation]:
    yield running
    running.population.reset_faults()


def _calls(sim: SimulatedPopulation) -> int:
    return len(sim.population.calls())


def test_a_person_as_the_database_holds_them_matches(sim: SimulatedPopulation) -> None:
    client = sim.client()
    # Names compare upper-case and NFC, as C06 holds them.
    assert client.verify(Person(AN.citizen_id, "nguyễn  văn An", "1990-11-22"), inquiry=ASKED)
    answer = client.verify(Person(AN.citizen_id, "Nguyễn Văn An", "1990-11-22"), inquiry=ASKED)
    assert answer.matched
    assert answer.request_id == sim.population.calls()[-1].leading["MaYeuCau"]


@pytest.mark.parametrize(
    "person",
    [
        Person(AN.citizen_id, "Nguyễn Văn Ân", "1990-11-22"),  # one diacritic off
        Person(AN.citizen_id, "Nguyễn Văn An", "1990-11-23"),
        Person(AN.citizen_id, "Nguyễn Văn An", "1991"),
        Person(MAI.citizen_id, "Hoàng Thị Mai", "1986"),
    ],
    ids=["name", "day", "year", "year-only birth"],
)
def test_another_name_or_birth_does_not_match(sim: SimulatedPopulation, person: Person) -> None:
    assert not sim.client().verify(person, inquiry=ASKED).matched


def test_a_year_only_birth_matches_on_its_year(sim: SimulatedPopulation) -> None:
    client = sim.client()
    assert client.verify(Person(MAI.citizen_id, "Hoàng Thị Mai", "1985"), inquiry=ASKED).matched
    # A whole date given for someone the database knows only by the year: the year decides.
    assert client.verify(Person(MAI.citizen_id, "Hoàng Thị Mai", "1985-06-01"), inquiry=ASKED)


def test_an_unknown_citizen_neither_matches_nor_has_a_record(sim: SimulatedPopulation) -> None:
    client = sim.client()
    assert not client.verify(Person("001090999999", "Nguyễn Văn An"), inquiry=ASKED).matched
    assert client.lookup("001090999999", inquiry=ASKED) is None


def test_lookup_reads_both_schemes_of_provinces(sim: SimulatedPopulation) -> None:
    client = sim.client()
    legacy = client.lookup(MAI.citizen_id, inquiry=ASKED)
    assert legacy is not None
    # Born in Hà Giang (002, merged into Tuyên Quang in 2025), living at a 3-level address.
    assert (legacy.full_name, legacy.birth, legacy.gender) == ("HOÀNG THỊ MAI", "1985", "2")
    assert legacy.residence == Address("02", "024", "00688", "THÔN NÀ LÀNG, XÃ PHÚ LINH")
    current = client.lookup(AN.citizen_id, inquiry=ASKED)
    assert current is not None
    assert (current.full_name, current.birth) == ("NGUYỄN VĂN AN", "1990-11-22")
    assert current.residence is not None
    assert (current.residence.province, current.residence.district) == ("01", None)


def test_an_old_nine_digit_id_is_asked_as_so_cmnd(sim: SimulatedPopulation) -> None:
    record = sim.client().lookup("142345678", inquiry=ASKED)
    assert record is not None
    assert (record.citizen_id, record.legacy_id) == (HUNG.citizen_id, "142345678")
    assert "SoCMND" in sim.population.calls()[-1].fields


def test_calls_lead_with_their_fields_in_order_and_say_who_asks(sim: SimulatedPopulation) -> None:
    client = sim.client()
    client.verify(Person(AN.citizen_id, AN.full_name, "1990"), inquiry=ASKED)
    client.lookup(AN.citizen_id, inquiry=Inquiry(service="2.001", officer="can.bo.01"))
    verify, lookup = sim.population.calls()[-2:]
    assert verify.fields == (
        "MaYeuCau", "MaDVC", "MaTichHop", "MaCanBo", "SoDinhDanh", "HoVaTen", "NgayThangNamSinh"
    )  # fmt: skip
    assert {k: v for k, v in verify.leading.items() if k != "MaYeuCau"} == {
        "MaDVC": "1.009101",
        "MaTichHop": "003",
        "MaCanBo": OFFICER,
    }
    assert lookup.fields[:5] == ("MaYeuCau", "MaDVC", "MaTichHop", "MaCanBo", "SoDinhDanh")
    assert (lookup.leading["MaDVC"], lookup.leading["MaTichHop"]) == ("2.001", "037")
    assert lookup.leading["MaCanBo"] == "can.bo.01"
    assert verify.client == lookup.client == CLIENT


def test_a_wrong_ndxp_secret_is_refused_and_not_retried(sim: SimulatedPopulation) -> None:
    before = _calls(sim)
    client = sim.client()
    client._transport._account = sim.account(secret="not-the-secret")
    with pytest.raises(Unavailable) as caught:
        client.verify(Person(AN.citizen_id, AN.full_name), inquiry=ASKED)
    assert isinstance(caught.value.__cause__, Refused)
    assert str(caught.value.__cause__) == "HTTP 401"
    assert _calls(sim) == before  # refused before the service looked at it


def test_a_5xx_is_retried_with_a_new_request_id(sim: SimulatedPopulation) -> None:
    sim.population.inject(Fault(kind="status", status=502, times=1))
    before = _calls(sim)
    assert sim.client().verify(Person(AN.citizen_id, AN.full_name), inquiry=ASKED).matched
    first, second = sim.population.calls()[before:]
    assert first.leading["MaYeuCau"] != second.leading["MaYeuCau"]


def test_5xx_until_reset_is_unavailable_after_the_retries(sim: SimulatedPopulation) -> None:
    sim.population.inject(Fault(kind="status", status=503))
    before = _calls(sim)
    with pytest.raises(Unavailable) as caught:
        sim.client(GuardPolicy(retries=2, backoff=0)).lookup(AN.citizen_id, inquiry=ASKED)
    assert isinstance(caught.value.__cause__, Transient)
    assert caught.value.retry_after is not None
    assert _calls(sim) - before == 3


def test_slow_answers_time_out_are_retried_then_unavailable(sim: SimulatedPopulation) -> None:
    sim.population.inject(Fault(kind="slow", delay=3))
    before = _calls(sim)
    with pytest.raises(Unavailable) as caught:
        sim.client(timeout=0.2).verify(Person(AN.citizen_id, AN.full_name), inquiry=ASKED)
    assert str(caught.value.__cause__) == "no answer in time"
    assert _calls(sim) - before == 2  # the first try and one retry
    sim.population.inject(Fault(kind="slow", delay=3, times=1))
    assert sim.client(timeout=0.2).verify(Person(AN.citizen_id, AN.full_name), inquiry=ASKED)


def test_a_soap_fault_is_unavailable_and_not_retried(sim: SimulatedPopulation) -> None:
    sim.population.inject(Fault(kind="fault"))
    before = _calls(sim)
    with pytest.raises(Unavailable) as caught:
        sim.client().verify(Person(AN.citizen_id, AN.full_name), inquiry=ASKED)
    assert str(caught.value.__cause__) == "SOAP Fault"
    assert _calls(sim) - before == 1


@pytest.mark.parametrize("operation", ["verify", "lookup"])
def test_a_wrong_answer_is_a_protocol_error_never_a_mismatch(
    sim: SimulatedPopulation, operation: str
) -> None:
    """An answer to another question says nothing of this person: refusing the citizen for it
    would blame them for the database's fault, so it is UNAVAILABLE, and not retried."""
    sim.population.inject(Fault(kind="wrong"))
    client, before = sim.client(), _calls(sim)
    with pytest.raises(Unavailable) as caught:
        if operation == "verify":
            client.verify(Person(AN.citizen_id, AN.full_name), inquiry=ASKED)
        else:
            client.lookup(AN.citizen_id, inquiry=ASKED)
    assert isinstance(caught.value.__cause__, WrongAnswer)
    assert _calls(sim) - before == 1


def test_the_breaker_opens_fails_fast_and_closes_after_a_probe(sim: SimulatedPopulation) -> None:
    now = [1000.0]
    guard = Guard(GuardPolicy(retries=0, failures=2, cool_down=30), clock=lambda: now[0])
    client = sim.client(guard=guard)
    person = Person(AN.citizen_id, AN.full_name)
    sim.population.inject(Fault(kind="status"))
    for _ in range(2):
        with pytest.raises(Unavailable):
            client.verify(person, inquiry=ASKED)
    assert guard.breaker.state == "open"
    sim.population.reset_faults()
    before = _calls(sim)
    now[0] += 10
    with pytest.raises(Unavailable) as caught:
        client.verify(person, inquiry=ASKED)
    assert caught.value.retry_after == 20
    assert _calls(sim) == before  # failed fast: the database was not asked
    now[0] += 20
    sim.population.inject(Fault(kind="fault", times=1))  # the probe fails: open again
    with pytest.raises(Unavailable):
        client.verify(person, inquiry=ASKED)
    assert guard.breaker.state == "open"
    now[0] += 30
    assert client.verify(person, inquiry=ASKED).matched  # the probe succeeds: closed
    assert guard.breaker.state == "closed"
    assert _calls(sim) - before == 2


def _holding_the_slot(
    sim: SimulatedPopulation, client: PopulationClient, person: Person, *, delay: float
) -> threading.Thread:
    """A call of ``person`` answered ``delay`` seconds late, started in a thread and in the
    simulator by the time this returns: it holds the client's one slot until then."""
    sim.population.inject(Fault(kind="slow", delay=delay, times=1))
    before = _calls(sim)
    held = threading.Thread(target=client.verify, args=(person,), kwargs={"inquiry": ASKED})
    held.start()
    while _calls(sim) == before:
        threading.Event().wait(0.01)
    return held


def test_the_bulkhead_refuses_a_call_over_its_cap(sim: SimulatedPopulation) -> None:
    client = sim.client(GuardPolicy(max_in_flight=1, backoff=0))
    person = Person(AN.citizen_id, AN.full_name)
    before = _calls(sim)
    held = _holding_the_slot(sim, client, person, delay=1)
    with pytest.raises(Unavailable) as caught:
        client.verify(person, inquiry=ASKED)
    assert "too many calls in flight" in caught.value.detail
    assert caught.value.retry_after == 1
    held.join()
    assert _calls(sim) - before == 1
    assert client.verify(person, inquiry=ASKED).matched  # the slot is free again


def test_a_call_over_the_cap_waits_for_a_slot_freed_within_max_wait(
    sim: SimulatedPopulation,
) -> None:
    client = sim.client(GuardPolicy(max_in_flight=1, max_wait=30, backoff=0))
    person = Person(AN.citizen_id, AN.full_name)
    before = _calls(sim)
    held = _holding_the_slot(sim, client, person, delay=0.3)
    assert client.verify(person, inquiry=ASKED).matched  # waited, then went
    held.join()
    assert _calls(sim) - before == 2


def test_logs_name_calls_but_no_citizen_id_name_or_birth(
    sim: SimulatedPopulation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = sim.client()
    client.verify(Person(AN.citizen_id, AN.full_name, "1990-11-22"), inquiry=ASKED)
    client.lookup(MAI.citizen_id, inquiry=ASKED)
    sim.population.inject(Fault(kind="fault"))
    with pytest.raises(Unavailable):
        client.verify(Person(AN.citizen_id, AN.full_name, "1990-11-22"), inquiry=ASKED)
    text = caplog.text
    assert "*********001" in text and "*********234" in text
    for secret in (AN.citizen_id, MAI.citizen_id, "NGUYỄN", "HOÀNG", "19901122", "00688"):
        assert secret not in text
    assert text.count("C06 ") == 3
