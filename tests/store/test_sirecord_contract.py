"""The SiRecordStore contract: people, contributions, cards, treatments, benefits, versions and
changes; run on every store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from gateway.errors import Conflict
from gateway.sirecords.ports import ClaimedTreatment, GrantedBenefit, SiRecordStore
from tests.support.sirecords import (
    CARD,
    CITIZEN,
    OTHER_CITIZEN,
    benefit,
    card,
    period,
    person,
    treatment,
)

if TYPE_CHECKING:
    from tests.store.conftest import SiRecordBackend


@pytest.fixture
def store(si_records: SiRecordBackend) -> SiRecordStore:
    return si_records.store


def seeded(store: SiRecordStore) -> int:
    return store.upsert(
        person(), contributions=[period("2015-01", "2019-12"), period("2020-01")], cards=[card()]
    )


def test_a_seeded_record_reads_back_whole(store: SiRecordStore) -> None:
    version = seeded(store)

    record = store.get(CITIZEN)

    assert record is not None
    assert record.person == person()
    assert record.contributions == (period("2015-01", "2019-12"), period("2020-01"))
    assert record.cards == (card(),)
    assert record.treatments == record.benefits == ()
    assert record.version == version == store.version(CITIZEN) == 1


def test_an_unknown_citizen_has_no_record(store: SiRecordStore) -> None:
    assert store.get(CITIZEN) is None
    assert store.version(CITIZEN) == 0
    assert store.held_card(CARD) is None


def test_a_card_is_found_with_its_holder(store: SiRecordStore) -> None:
    seeded(store)

    held = store.held_card(CARD)

    assert held is not None
    assert (held.citizen_id, held.card) == (CITIZEN, card())


def test_an_unchanged_upsert_keeps_the_version(store: SiRecordStore) -> None:
    first = seeded(store)

    again = seeded(store)

    assert again == first
    assert [c.version for c in store.changes()] == [1]


def test_a_given_list_replaces_the_held_one_and_none_keeps_it(store: SiRecordStore) -> None:
    seeded(store)
    renewed = card("DN4010999999999", valid_from=date(2026, 1, 1))

    version = store.upsert(person(full_name="Nguyễn Thị Lan Anh"), cards=[renewed])

    record = store.get(CITIZEN)
    assert record is not None
    assert version == record.version == 2
    assert record.person.full_name == "Nguyễn Thị Lan Anh"
    assert record.cards == (renewed,)
    assert len(record.contributions) == 2
    assert store.held_card(CARD) is None


def test_cards_read_back_in_validity_order(store: SiRecordStore) -> None:
    later = card("GD4010000000001", valid_from=date(2026, 1, 1))
    earlier = card("HN2010000000002", valid_from=date(2024, 1, 1))

    store.upsert(person(), cards=[later, earlier])

    record = store.get(CITIZEN)
    assert record is not None
    assert record.cards == (earlier, later)


def test_a_card_of_another_citizen_is_a_conflict_and_writes_nothing(store: SiRecordStore) -> None:
    seeded(store)

    with pytest.raises(Conflict):
        store.upsert(person(OTHER_CITIZEN), cards=[card()])

    assert store.get(OTHER_CITIZEN) is None
    held = store.held_card(CARD)
    assert held is not None and held.citizen_id == CITIZEN


def test_an_si_number_of_another_citizen_is_a_conflict(store: SiRecordStore) -> None:
    seeded(store)

    with pytest.raises(Conflict):
        store.upsert(person(OTHER_CITIZEN, si_number=person().si_number))

    assert store.get(OTHER_CITIZEN) is None


def test_a_treatment_is_recorded_once_per_record(store: SiRecordStore) -> None:
    seeded(store)
    visit = treatment()

    first = store.record_treatments([ClaimedTreatment(CITIZEN, visit)])
    again = store.record_treatments([ClaimedTreatment(CITIZEN, visit)])

    record = store.get(CITIZEN)
    assert (first, again) == (1, 0)
    assert record is not None
    assert record.treatments == (visit,)
    assert record.version == 2


def test_a_benefit_is_recorded_once_per_dossier(store: SiRecordStore) -> None:
    seeded(store)
    granted = benefit(amount=Decimal("12500000.00"))

    first = store.record_benefit(GrantedBenefit(CITIZEN, granted))
    again = store.record_benefit(GrantedBenefit(CITIZEN, granted))

    record = store.get(CITIZEN)
    assert (first, again) == (True, False)
    assert record is not None
    assert record.benefits == (granted,)
    assert record.version == 2


def test_a_treatment_without_a_known_citizen_goes_to_its_cards_holder(
    store: SiRecordStore,
) -> None:
    seeded(store)
    by_card = [treatment(), treatment()]

    added = store.record_treatments(
        [ClaimedTreatment(None, by_card[0]), ClaimedTreatment(OTHER_CITIZEN, by_card[1])]
    )

    record = store.get(CITIZEN)
    assert added == 2
    assert record is not None
    assert set(record.treatments) == set(by_card)


def test_a_treatment_of_nobody_known_is_skipped(store: SiRecordStore) -> None:
    seeded(store)
    stranger = treatment(card_number="GD4790000000009")

    added = store.record_treatments(
        [ClaimedTreatment(OTHER_CITIZEN, stranger), ClaimedTreatment(None, stranger)]
    )

    assert added == 0
    assert store.version(CITIZEN) == 1
    assert store.get(OTHER_CITIZEN) is None


def test_a_benefit_of_a_citizen_without_a_record_is_skipped(store: SiRecordStore) -> None:
    assert store.record_benefit(GrantedBenefit(CITIZEN, benefit())) is False
    assert store.changes() == []


def test_history_reads_back_oldest_first_and_only_the_latest(store: SiRecordStore) -> None:
    seeded(store)
    visits = [treatment(treatment().arrived_at.replace(month=m)) for m in (5, 1, 3, 2)]
    store.record_treatments([ClaimedTreatment(CITIZEN, visit) for visit in visits])
    grants = [benefit(date(2025, m, 1)) for m in (4, 2, 6)]
    for grant in grants:
        store.record_benefit(GrantedBenefit(CITIZEN, grant))

    record = store.get(CITIZEN, history=2)

    assert record is not None
    assert [t.arrived_at.month for t in record.treatments] == [3, 5]
    assert [b.decided_on.month for b in record.benefits] == [4, 6]


def test_changes_list_every_version_of_every_citizen_in_order(store: SiRecordStore) -> None:
    seeded(store)
    store.upsert(person(OTHER_CITIZEN))
    store.record_treatments([ClaimedTreatment(CITIZEN, treatment())])

    changes = store.changes()

    assert [(c.citizen_id, c.version) for c in changes] == [
        (CITIZEN, 1),
        (OTHER_CITIZEN, 1),
        (CITIZEN, 2),
    ]
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)
    assert store.changes(after=changes[0].seq, limit=1) == [changes[1]]


def test_another_store_on_the_same_database_sees_every_write(si_records: SiRecordBackend) -> None:
    seeded(si_records.store)
    other = si_records.open_another()

    other.record_treatments([ClaimedTreatment(CITIZEN, treatment())])

    assert si_records.store.version(CITIZEN) == 2
    assert other.get(CITIZEN) == si_records.store.get(CITIZEN)


def test_concurrent_treatments_from_two_stores_are_each_kept_once(
    si_records: SiRecordBackend,
) -> None:
    seeded(si_records.store)
    stores = [si_records.store, si_records.open_another()]
    visits = [treatment() for _ in range(20)]

    with ThreadPoolExecutor(8) as pool:
        added = list(
            pool.map(
                lambda n: stores[n % 2].record_treatments(
                    [ClaimedTreatment(CITIZEN, visits[n // 2])]
                ),
                range(40),
            )
        )

    record = si_records.store.get(CITIZEN)
    assert sum(added) == 20
    assert record is not None
    assert len(record.treatments) == 20
    assert record.version == 21
    assert [c.version for c in si_records.store.changes(limit=1000)] == list(range(1, 22))


def test_one_card_given_to_two_citizens_at_once_goes_to_one_of_them(
    si_records: SiRecordBackend,
) -> None:
    stores = [si_records.store, si_records.open_another()]
    citizens = [CITIZEN, OTHER_CITIZEN]

    def give(n: int) -> str:
        try:
            stores[n].upsert(person(citizens[n]), cards=[card()])
        except Conflict:
            return "conflict"
        return "given"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(give, range(2)))

    held = si_records.store.held_card(CARD)
    assert outcomes == ["conflict", "given"]
    assert held is not None
    assert (
        si_records.store.get(citizens[0] if held.citizen_id == citizens[1] else citizens[1]) is None
    )
