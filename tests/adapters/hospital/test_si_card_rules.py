"""The card rules that read the SI records (QD130-CARD-KNOWN, -SI-VALID, -HOLDER), on a real
SQLite SI-record store: each fires on its own break, and none without a register."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.hospital import rules
from adapters.hospital.synth.sirecords import si_card, si_person
from adapters.hospital.visit import normalize_visit
from gateway.sirecords.model import HiCard
from gateway.store.sqlite_sirecords import SqliteSiRecordStore
from tests.adapters.hospital import visits
from tests.adapters.hospital.visits import put

SEED = 3


@pytest.fixture
def register(tmp_path: Path) -> Iterator[SqliteSiRecordStore]:
    store = SqliteSiRecordStore(tmp_path / "dossiers.sqlite3")
    yield store
    store.close()


def fired(register: SqliteSiRecordStore | None, **edits: str) -> set[str | None]:
    tables = visits.visit_tables(SEED)
    for name, value in edits.items():
        put(tables["XML1"], name, value)
    _, payload = normalize_visit(tables)
    return {issue.rule for issue in rules.check_visit(tables, payload, register=register)}


def seed(register: SqliteSiRecordStore, card: HiCard | None = None) -> None:
    visit = visits.make_visit(SEED)
    register.upsert(si_person(visit), cards=[card or si_card(visit)])


def test_a_claim_under_the_patients_valid_card_passes(register: SqliteSiRecordStore) -> None:
    seed(register)
    assert fired(register) == set()


def test_without_a_register_no_card_is_checked() -> None:
    assert fired(None) == set()


def test_a_card_unknown_to_the_si_records_is_refused(register: SqliteSiRecordStore) -> None:
    assert fired(register) == {"QD130-CARD-KNOWN"}


def test_a_card_the_si_records_end_before_arrival_is_refused(
    register: SqliteSiRecordStore,
) -> None:
    visit = visits.make_visit(SEED)
    ended = si_card(visit).model_copy(
        update={"valid_to": visit.ngay_vao.date() - timedelta(days=1)}
    )
    seed(register, ended)
    # The claim still states the card valid on arrival: its own rule (QD130-CARD-VALID) passes.
    assert fired(register) == {"QD130-CARD-SI-VALID"}


def test_a_card_of_another_citizen_is_refused(register: SqliteSiRecordStore) -> None:
    seed(register)
    assert fired(register, SO_CCCD="079085000321") == {"QD130-CARD-HOLDER"}


def test_messages_mask_the_card_number(register: SqliteSiRecordStore) -> None:
    tables = visits.visit_tables(SEED)
    _, payload = normalize_visit(tables)
    [issue] = rules.check_visit(tables, payload, register=register)
    number = visits.make_visit(SEED).ma_the_bhyt
    assert number not in issue.message
    assert f"{number[:3]}…{number[-4:]}" in issue.message
    assert issue.path == "/TONG_HOP/MA_THE_BHYT"
