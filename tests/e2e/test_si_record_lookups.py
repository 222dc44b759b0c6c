"""VNeID lookups of SI records over real HTTP, with tokens of the VNeID simulator: REST (httpx) and
SOAP (zeep on the WSDL the gateway serves) answer the same record to the token's own citizen and
refuse everyone else with the same codes; answers come from the cache once cached, and a change
of the record shows at once; every lookup is in the audit log under the citizen's pseudonym."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import zeep.exceptions

from gateway.api.citizens import ASSERTION_HEADER
from gateway.audit import Action, AuditEvent, Result
from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.identity.citizen_key import CitizenKey
from gateway.sirecords.ports import ClaimedTreatment, GrantedBenefit
from gateway.xml.ns import LOOKUP_SERVICE
from tests.conftest import HOSPITAL, TOKENS, Pki, Served
from tests.support.sirecords import benefit, card, period, person, treatment
from tests.support.soap import ZeepClients, gateway_fault
from tests.support.vneid import (
    CITIZEN,
    OTHER_CITIZEN,
    VNEID_TOKEN,
    SimulatedProvider,
    with_vneid,
)

UNKNOWN = "001234567890"  # a citizen with no SI record
CARD = "DN4010199012345"
ANSWER = {
    "si_number": "0199012345",
    "contributions": [
        {
            "scheme": "compulsory",
            "employer_name": "Công ty TNHH Minh Phát",
            "from_month": "2015-01",
            "to_month": None,
            "salary_basis": "8500000",
        }
    ],
    "cards": [
        {
            "number": CARD,
            "valid_from": "2025-01-01",
            "valid_to": "2025-12-31",
            "registered_facility": "01929",
            "benefit_level": 4,
            "five_year_date": "2020-01-01",
        }
    ],
    "treatments": [
        {
            "facility_code": "01929",
            "arrived_at": "2025-03-10T08:30:00Z",
            "discharged_at": "2025-03-10T11:30:00Z",
            "diagnosis_code": "J06.9",
            "total": "350000.00",
            "insurance_paid": "280000.00",
        }
    ],
    "benefits": [
        {"procedure": "BENEFIT_MATERNITY", "decided_on": "2025-04-02", "amount": "12000000.00"}
    ],
}


def seeded(settings: Settings, vneid_sim: SimulatedProvider, **more: object) -> Gateway:
    """A gateway that takes the simulator's tokens, holding CITIZEN's record (with a treatment
    and a benefit) and OTHER_CITIZEN's."""
    gateway = build(with_vneid(settings, vneid_sim.jwks_url, **more))
    records = gateway.si_records
    records.upsert(person(CITIZEN), contributions=[period()], cards=[card(CARD)])
    records.upsert(person(OTHER_CITIZEN), cards=[card("DN4010188001234")])
    records.record_treatments([ClaimedTreatment(CITIZEN, treatment(card_number=CARD))])
    granted = benefit(amount=Decimal("12000000.00"))
    assert records.record_benefit(GrantedBenefit(CITIZEN, granted))
    return gateway


@pytest.fixture
def served(settings: Settings, vneid_sim: SimulatedProvider) -> Iterator[Served]:
    gateway = seeded(settings, vneid_sim)
    try:
        with Served(gateway) as server:
            yield server
    finally:
        gateway.close()


def rest(
    served: Served,
    citizen: str,
    token: str | None,
    *,
    bearer: str = VNEID_TOKEN,
    purpose: str | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"}
    if token is not None:
        headers[ASSERTION_HEADER] = token
    if purpose is not None:
        headers["X-Purpose"] = purpose
    with httpx.Client(base_url=served.url, timeout=10) as client:
        return client.get(f"/api/v1/si-records/{citizen}", headers=headers)


def refused(answer: httpx.Response) -> tuple[int, str]:
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.status_code, answer.json()["code"]


def lookups(gateway: Gateway, cache: str) -> float:
    found = gateway.metrics.registry.get_sample_value(
        "gateway_si_record_lookups_total", {"cache": cache}
    )
    return found or 0.0


def events(gateway: Gateway) -> list[AuditEvent]:
    return [entry.event() for entry in gateway.audit.log.entries(limit=1000)]


# -- REST -----------------------------------------------------------------------------------


def test_the_citizen_reads_their_own_record_and_nothing_vneid_holds(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    answer = rest(served, CITIZEN, vneid_sim.idp.mint(CITIZEN))

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == ANSWER
    for held_elsewhere in (CITIZEN, "Nguyễn", "1990-05-17", "female", "Nhiễm trùng", "0101234567"):
        assert held_elsewhere not in answer.text


@pytest.mark.parametrize(
    ("citizen", "token", "expected"),
    [
        (OTHER_CITIZEN, "own", (403, "FORBIDDEN")),  # another citizen's record
        (CITIZEN, None, (401, "UNAUTHORIZED")),  # no token
        (CITIZEN, "level-1", (403, "FORBIDDEN")),
        (CITIZEN, "alg-none", (401, "UNAUTHORIZED")),
        (UNKNOWN, "unknown", (404, "NOT_FOUND")),  # a valid token, no record
    ],
    ids=["another-citizen", "no-token", "level-1", "alg-none", "unknown-citizen"],
)
def test_refusals(
    served: Served,
    vneid_sim: SimulatedProvider,
    citizen: str,
    token: str | None,
    expected: tuple[int, str],
) -> None:
    tokens = {
        "own": vneid_sim.idp.mint(CITIZEN),
        "level-1": vneid_sim.idp.mint(CITIZEN, level=1),
        "alg-none": vneid_sim.idp.forge("alg-none", CITIZEN),
        "unknown": vneid_sim.idp.mint(UNKNOWN),
    }
    answer = rest(served, citizen, None if token is None else tokens[token])

    assert refused(answer) == expected
    assert "si_number" not in answer.text


def test_a_partner_other_than_vneid_is_forbidden(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    answer = rest(served, CITIZEN, vneid_sim.idp.mint(CITIZEN), bearer=TOKENS[HOSPITAL])
    assert refused(answer) == (403, "FORBIDDEN")


def test_no_partner_credential_is_unauthorized_and_not_audited(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    answer = rest(served, CITIZEN, vneid_sim.idp.mint(CITIZEN), bearer="not-a-token-of-anyone")
    assert refused(answer) == (401, "UNAUTHORIZED")
    assert events(served.gateway) == []


@pytest.mark.parametrize("citizen", ["00109901234", "0010990123456", "00109901234x"])
def test_a_path_that_is_not_a_citizen_id_is_malformed(
    served: Served, vneid_sim: SimulatedProvider, citizen: str
) -> None:
    assert refused(rest(served, citizen, vneid_sim.idp.mint(CITIZEN))) == (400, "XML_MALFORMED")


def test_a_purpose_that_is_not_a_code_is_malformed(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    answer = rest(served, CITIZEN, vneid_sim.idp.mint(CITIZEN), purpose="read it, please")
    assert refused(answer) == (400, "XML_MALFORMED")


def test_over_the_citizens_limit_is_rate_limited_with_retry_after(
    settings: Settings, vneid_sim: SimulatedProvider
) -> None:
    gateway = seeded(settings, vneid_sim, citizen_rate_limit="2/min")
    try:
        with Served(gateway) as served:
            token = vneid_sim.idp.mint(CITIZEN)
            assert [rest(served, CITIZEN, token).status_code for _ in range(2)] == [200, 200]
            limited = rest(served, CITIZEN, token)
            other = rest(served, OTHER_CITIZEN, vneid_sim.idp.mint(OTHER_CITIZEN))
            soap = ZeepClients(served, "lookup", partner="portal")
            client = soap(None, authorization=f"Bearer {VNEID_TOKEN}")
            with pytest.raises(zeep.exceptions.Fault) as fault:
                client.service.GetSiRecord(CitizenId=CITIZEN, IdToken=token)
            soap.close()
    finally:
        gateway.close()

    assert refused(limited) == (429, "RATE_LIMITED")
    assert 1 <= int(limited.headers["retry-after"]) <= 30
    assert other.status_code == 200  # each citizen has their own allowance
    assert gateway_fault(fault.value, client, LOOKUP_SERVICE).Code == "RATE_LIMITED"


def test_a_second_lookup_is_answered_from_the_cache_until_the_record_changes(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    gateway, token = served.gateway, vneid_sim.idp.mint(CITIZEN)
    first = rest(served, CITIZEN, token)
    assert (lookups(gateway, "miss"), lookups(gateway, "hit")) == (1, 0)

    second = rest(served, CITIZEN, token)
    assert (lookups(gateway, "miss"), lookups(gateway, "hit")) == (1, 1)
    assert second.content == first.content

    later = treatment(datetime(2025, 6, 1, 2, 0, tzinfo=UTC), card_number=CARD)
    gateway.si_records.record_treatments([ClaimedTreatment(CITIZEN, later)])
    third = rest(served, CITIZEN, token)
    assert (lookups(gateway, "miss"), lookups(gateway, "hit")) == (2, 1)
    assert [t["arrived_at"] for t in third.json()["treatments"]] == [
        "2025-03-10T08:30:00Z",
        "2025-06-01T02:00:00Z",
    ]
    metrics = httpx.get(f"{served.url}/metrics", timeout=10).text
    assert 'gateway_si_record_lookups_total{cache="hit"} 1.0' in metrics


def test_every_lookup_is_audited_under_the_citizens_pseudonym_never_the_id(
    served: Served, vneid_sim: SimulatedProvider, pki: Pki
) -> None:
    token = vneid_sim.idp.mint(CITIZEN)
    statuses = [
        rest(served, CITIZEN, token).status_code,  # miss
        rest(served, CITIZEN, token, purpose="consent:TX-0042").status_code,  # hit
        rest(served, OTHER_CITIZEN, token).status_code,
        rest(served, CITIZEN, None).status_code,
        rest(served, CITIZEN, vneid_sim.idp.mint(CITIZEN, level=1)).status_code,
        rest(served, UNKNOWN, vneid_sim.idp.mint(UNKNOWN)).status_code,
        rest(served, CITIZEN, token, bearer=TOKENS[HOSPITAL]).status_code,
    ]
    assert statuses == [200, 200, 403, 401, 403, 404, 403]

    pseudonyms = CitizenKey.from_file(pki.pseudonym_key).pseudonyms()
    mine, theirs, unknown = (pseudonyms.of(c).key for c in (CITIZEN, OTHER_CITIZEN, UNKNOWN))
    audited = events(served.gateway)
    assert [(e.partner, e.citizen, e.purpose, e.result) for e in audited] == [
        ("vneid", mine, "data_subject_access", Result.OK),
        ("vneid", mine, "consent:TX-0042", Result.OK),
        ("vneid", theirs, "data_subject_access", Result.DENIED),
        ("vneid", mine, "data_subject_access", Result.UNAUTHORIZED),
        ("vneid", mine, "data_subject_access", Result.DENIED),
        ("vneid", unknown, "data_subject_access", Result.NOT_FOUND),
        (HOSPITAL, mine, "data_subject_access", Result.DENIED),
    ]
    assert {(e.action, e.channel) for e in audited} == {(Action.SI_RECORD_LOOKUP, "rest")}
    assert audited[0].target == "si_record:********2345"
    assert all(e.latency_ms is not None and e.latency_ms >= 0 for e in audited)
    bodies = b"".join(entry.body for entry in served.gateway.audit.log.entries(limit=1000))
    for raw in (CITIZEN, OTHER_CITIZEN, UNKNOWN, CARD):
        assert raw.encode() not in bodies
    assert [e.seq for e in served.gateway.audit.log.of_citizen(mine)] == [7, 5, 4, 2, 1]
    assert served.gateway.audit.log.verify().ok


# -- SOAP -----------------------------------------------------------------------------------


@pytest.fixture
def zeep_client(served: Served) -> Iterator[Any]:
    clients = ZeepClients(served, "lookup", partner="portal")
    yield clients(None, authorization=f"Bearer {VNEID_TOKEN}")
    clients.close()


def test_soap_answers_the_same_record_to_the_tokens_citizen(
    served: Served, vneid_sim: SimulatedProvider, zeep_client: Any
) -> None:
    token = vneid_sim.idp.mint(CITIZEN)
    record = zeep_client.service.GetSiRecord(CitizenId=CITIZEN, IdToken=token)

    assert record.SiNumber == ANSWER["si_number"]
    [period_] = record.Contribution
    assert (period_.Scheme, period_.FromMonth, period_.ToMonth) == ("compulsory", "2015-01", None)
    assert period_.SalaryBasis == Decimal("8500000")
    [card_] = record.Card
    assert (card_.Number, card_.RegisteredFacility, card_.BenefitLevel) == (CARD, "01929", 4)
    assert (card_.ValidFrom.isoformat(), card_.ValidTo.isoformat()) == ("2025-01-01", "2025-12-31")
    [visit] = record.Treatment
    assert visit.ArrivedAt == datetime(2025, 3, 10, 8, 30, tzinfo=UTC)
    assert (visit.DiagnosisCode, visit.InsurancePaid) == ("J06.9", Decimal("280000.00"))
    [granted] = record.Benefit
    assert (granted.Procedure, granted.Amount) == ("BENEFIT_MATERNITY", Decimal("12000000.00"))
    assert [(e.channel, e.result) for e in events(served.gateway)] == [("soap", Result.OK)]


@pytest.mark.parametrize(
    ("citizen", "token", "code"),
    [
        (OTHER_CITIZEN, "own", "FORBIDDEN"),
        (CITIZEN, "", "UNAUTHORIZED"),
        (CITIZEN, "level-1", "FORBIDDEN"),
        (UNKNOWN, "unknown", "NOT_FOUND"),
    ],
    ids=["another-citizen", "no-token", "level-1", "unknown-citizen"],
)
def test_soap_refusals_are_faults_with_the_same_codes(
    served: Served,
    vneid_sim: SimulatedProvider,
    zeep_client: Any,
    citizen: str,
    token: str,
    code: str,
) -> None:
    tokens = {
        "own": vneid_sim.idp.mint(CITIZEN),
        "level-1": vneid_sim.idp.mint(CITIZEN, level=1),
        "unknown": vneid_sim.idp.mint(UNKNOWN),
        "": "",
    }
    with pytest.raises(zeep.exceptions.Fault) as fault:
        zeep_client.service.GetSiRecord(CitizenId=citizen, IdToken=tokens[token])

    assert gateway_fault(fault.value, zeep_client, LOOKUP_SERVICE).Code == code
    [event] = events(served.gateway)
    assert (event.channel, event.action) == ("soap", Action.SI_RECORD_LOOKUP)


def test_soap_purpose_is_audited_and_a_malformed_citizen_id_is_refused(
    served: Served, vneid_sim: SimulatedProvider, zeep_client: Any
) -> None:
    token = vneid_sim.idp.mint(CITIZEN)
    zeep_client.service.GetSiRecord(CitizenId=CITIZEN, IdToken=token, Purpose="consent:TX-7")
    with pytest.raises(zeep.exceptions.Fault) as fault:
        zeep_client.service.GetSiRecord(CitizenId="12345", IdToken=token)

    assert gateway_fault(fault.value, zeep_client, LOOKUP_SERVICE).Code == "XML_MALFORMED"
    assert [e.purpose for e in events(served.gateway)] == ["consent:TX-7"]
