"""The SI records in the flows, over REST: a claim's cards checked against them where
GATEWAY_SI_CARD_CHECK is on (and not where it is off), accepted claims adding treatments, and
finished benefit dossiers adding benefits in the move's transaction."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from adapters.hospital import synth
from adapters.hospital.synth.sirecords import si_card, si_person
from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.sirecords.model import HiCard
from gateway.trust.sign import SigningIdentity
from tests.conftest import Pki, Served
from tests.support import edossiers
from tests.support.sirecords import person

XML = {"Content-Type": "application/xml"}


def served_gateway(settings: Settings, *, card_check: bool) -> Iterator[Served]:
    gateway = build(settings.model_copy(update={"si_card_check": card_check}))
    try:
        with Served(gateway) as server:
            yield server
    finally:
        gateway.close()


@pytest.fixture
def checking(settings: Settings) -> Iterator[Served]:
    yield from served_gateway(settings, card_check=True)


@pytest.fixture
def unchecked(settings: Settings) -> Iterator[Served]:
    yield from served_gateway(settings, card_check=False)


def claim(pki: Pki, seed: int, count: int = 2) -> tuple[bytes, list[synth.Visit]]:
    return synth.make_batch(random.Random(seed), pki.hospital, "01929", count, created=date.today())


def seed_patients(
    gateway: Gateway, visits: Sequence[synth.Visit], card: HiCard | None = None
) -> None:
    for visit in visits:
        gateway.si_records.upsert(si_person(visit), cards=[card or si_card(visit)])


def results(served: Served, body: bytes) -> list[dict[str, Any]]:
    with served.client() as http:
        answer = http.post("/api/v1/claims", content=body, headers=XML)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["results"]
    return found


def rules_of(result: dict[str, Any]) -> set[str]:
    return {issue["rule"] for error in result["errors"] for issue in error["issues"]}


# -- cards checked against the SI records ----------------------------------------------------


def test_claims_of_known_patients_under_valid_cards_are_accepted(
    checking: Served, pki: Pki
) -> None:
    body, visits = claim(pki, 1)
    seed_patients(checking.gateway, visits)

    assert [r["status"] for r in results(checking, body)] == ["accepted", "accepted"]


def test_a_card_unknown_to_the_si_records_is_refused_with_its_rule(
    checking: Served, pki: Pki
) -> None:
    body, visits = claim(pki, 2)
    seed_patients(checking.gateway, visits[:1])

    first, second = results(checking, body)

    assert first["status"] == "accepted"
    assert second["status"] == "rejected"
    assert rules_of(second) == {"QD130-CARD-KNOWN"}
    assert visits[1].ma_the_bhyt not in str(second)


def test_a_card_the_si_records_end_before_arrival_is_refused_with_its_rule(
    checking: Served, pki: Pki
) -> None:
    body, [visit] = claim(pki, 3, count=1)
    ended = si_card(visit).model_copy(
        update={"valid_to": visit.ngay_vao.date() - timedelta(days=1)}
    )
    seed_patients(checking.gateway, [visit], ended)

    [result] = results(checking, body)

    assert result["status"] == "rejected"
    assert rules_of(result) == {"QD130-CARD-SI-VALID"}


def test_without_the_card_check_claims_of_unknown_cards_are_accepted(
    unchecked: Served, pki: Pki
) -> None:
    body, _ = claim(pki, 4)

    assert [r["status"] for r in results(unchecked, body)] == ["accepted", "accepted"]


# -- treatments from accepted claims ----------------------------------------------------------


@pytest.mark.parametrize("card_check", [True, False], ids=["checked", "unchecked"])
def test_an_accepted_claim_adds_its_treatment_to_the_patients_record(
    settings: Settings, pki: Pki, card_check: bool
) -> None:
    body, visits = claim(pki, 5)
    for served in served_gateway(settings, card_check=card_check):
        seed_patients(served.gateway, visits)
        accepted = results(served, body)
        again = results(served, body)  # a duplicate adds nothing
        for visit, result in zip(visits, accepted, strict=True):
            record = served.gateway.si_records.get(visit.so_cccd)
            assert record is not None
            [treatment] = record.treatments
            assert treatment.record_id == result["record_id"]
            assert treatment.visit_key == visit.ma_lk
            assert treatment.facility_code == "01929"
            assert treatment.card_number == visit.ma_the_bhyt
            assert treatment.arrived_at.replace(tzinfo=None) == visit.ngay_vao
            assert treatment.diagnosis_code == visit.diagnosis.icd
            assert record.version == 2
        assert [r["record_id"] for r in again] == [r["record_id"] for r in accepted]


def test_a_claim_without_the_citizen_id_goes_to_the_cards_holder(
    unchecked: Served, pki: Pki
) -> None:
    _, [visit] = claim(pki, 6, count=1)
    anonymous = replace(visit, so_cccd="")  # the same visit, sent without SO_CCCD
    body = synth.signed_batch(pki.hospital, "01929", [anonymous], created=date.today())
    seed_patients(unchecked.gateway, [visit])

    [result] = results(unchecked, body)

    record = unchecked.gateway.si_records.get(visit.so_cccd)
    assert result["status"] == "accepted"
    assert record is not None
    assert [t.record_id for t in record.treatments] == [result["record_id"]]


# -- benefits from finished dossiers ----------------------------------------------------------


@pytest.fixture
def citizen(pki: Pki) -> SigningIdentity:
    return edossiers.citizen(pki)


def finished(served: Served, made: Any, department: str) -> str:
    with served.client("portal") as portal:
        dossier_id = edossiers.submitted(portal, made)
    with served.client(department) as dept:
        for to in ("accepted", "processing", "finished"):
            edossiers.moved(dept, dossier_id, to=to)
    return dossier_id


def test_a_finished_benefit_dossier_adds_the_benefit(
    unchecked: Served, citizen: SigningIdentity
) -> None:
    records = unchecked.gateway.si_records
    records.upsert(person(edossiers.CITIZEN_ID))
    made = edossiers.signed_dossier(citizen, number=1, procedure="BENEFIT_MATERNITY")

    dossier_id = finished(unchecked, made, "benefits")

    record = records.get(edossiers.CITIZEN_ID)
    assert record is not None
    [benefit] = record.benefits
    assert (benefit.dossier_id, benefit.ma_ho_so) == (dossier_id, made.ma_ho_so)
    assert benefit.procedure == "BENEFIT_MATERNITY"
    assert benefit.amount is None
    assert record.version == 2


def test_a_finished_dossier_of_another_procedure_adds_no_benefit(
    unchecked: Served, citizen: SigningIdentity
) -> None:
    records = unchecked.gateway.si_records
    records.upsert(person(edossiers.CITIZEN_ID))

    finished(
        unchecked,
        edossiers.signed_dossier(citizen, number=2, procedure="REISSUE_HI_CARD"),
        "book-and-card",
    )

    record = records.get(edossiers.CITIZEN_ID)
    assert record is not None
    assert record.benefits == ()
    assert record.version == 1


def test_a_benefit_dossier_of_a_citizen_without_a_record_finishes_all_the_same(
    unchecked: Served, citizen: SigningIdentity
) -> None:
    made = edossiers.signed_dossier(citizen, number=3, procedure="BENEFIT_MATERNITY")

    finished(unchecked, made, "benefits")

    assert unchecked.gateway.si_records.get(edossiers.CITIZEN_ID) is None
