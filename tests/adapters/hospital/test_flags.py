"""Per-record signals: orders dated outside the stay and quantities above a per-day ceiling."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.hospital import flags, synth
from adapters.hospital.visit import normalize_visit
from gateway.records.model import Signal
from tests.adapters.hospital import visits
from tests.adapters.hospital.visits import get, put, rows, shift

CEILING = Decimal(100)  # above the generator's largest prescription (90 units for 30 days)


def _payload(seed: int, *faults: str) -> dict[str, Any]:
    _, payload = normalize_visit(visits.parsed(synth.tables(visits.make_visit(seed, *faults))))
    return payload


def _signals(payload: dict[str, Any], **options: Any) -> list[Signal]:
    return flags.record_signals(payload, max_units_per_day=CEILING, **options)


def test_clean_synthetic_visits_raise_no_signal() -> None:
    for seed in range(50):
        assert _signals(_payload(seed)) == [], seed


def test_a_drug_ordered_before_arrival_is_outside_the_stay() -> None:
    tables = visits.visit_tables(visits.first_seed(visits.inpatient))
    drug = rows(tables, "XML2")[0]
    put(drug, "NGAY_YL", get(tables["XML1"], "NGAY_VAO"))
    shift(drug, "NGAY_YL", -30)
    _, payload = normalize_visit(tables)
    (signal,) = _signals(payload)
    line = payload["drugs"][0]
    assert signal.code == flags.OUTSIDE_STAY
    assert signal.reason.startswith(f"XML2 STT 1 ({line['drug_code']} {line['name']}): NGAY_YL ")
    assert "before NGAY_VAO" in signal.reason


def test_a_note_after_discharge_is_outside_the_stay() -> None:
    tables = visits.visit_tables(visits.first_seed(visits.inpatient))
    note = rows(tables, "XML5")[-1]
    put(note, "THOI_DIEM_DBLS", get(tables["XML1"], "NGAY_RA"))
    shift(note, "THOI_DIEM_DBLS", 1)
    _, payload = normalize_visit(tables)
    (signal,) = _signals(payload)
    assert signal.code == flags.OUTSIDE_STAY
    assert "XML5 STT" in signal.reason and "THOI_DIEM_DBLS" in signal.reason
    assert "after NGAY_RA" in signal.reason


def test_a_result_after_discharge_is_not_a_signal() -> None:
    # The decision lets late results be entered after the visit (QD130.md B XML3 39, XML4 10).
    tables = visits.visit_tables(0)
    tested = next(row for row in rows(tables, "XML3") if get(row, "NGAY_KQ"))
    put(tested, "NGAY_KQ", get(tables["XML1"], "NGAY_RA"))
    shift(tested, "NGAY_KQ", 24 * 60)
    _, payload = normalize_visit(tables)
    assert _signals(payload) == []


def test_a_tolerance_widens_the_stay() -> None:
    tables = visits.visit_tables(0)
    drug = rows(tables, "XML2")[0]
    put(drug, "NGAY_TH_YL", get(tables["XML1"], "NGAY_RA"))
    shift(drug, "NGAY_TH_YL", 10)
    _, payload = normalize_visit(tables)
    assert [s.code for s in _signals(payload)] == [flags.OUTSIDE_STAY]
    assert _signals(payload, outside_stay_tolerance=timedelta(minutes=10)) == []


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("order_after_discharge", flags.OUTSIDE_STAY),
        ("service_outside_stay", flags.OUTSIDE_STAY),
        ("high_quantity", flags.QUANTITY_CEILING),
    ],
)
def test_generator_signal_faults_raise_their_signal(fault: str, code: str) -> None:
    # An outpatient visit: one day of stay, so 500 units in one order are 500 a day.
    payload = _payload(visits.first_seed(lambda v: not visits.inpatient(v)), fault)
    assert {signal.code for signal in _signals(payload)} == {code}


def _stay(days: int, quantity: str) -> dict[str, Any]:
    arrived = "2024-03-10T08:00:00+07:00"
    discharged = f"2024-03-{9 + days:02d}T10:00:00+07:00"
    drug = {"sequence": 3, "drug_code": "40.48", "name": "Paracetamol", "unit": "Viên"}
    return {
        "visit": {"arrived_at": arrived, "discharged_at": discharged},
        "drugs": [{**drug, "quantity": quantity}],
    }


@pytest.mark.parametrize(
    ("days", "quantity", "flagged"),
    [(3, "30", False), (3, "30.003", True), (1, "10", False), (1, "10.5", True)],
)
def test_quantity_per_day_of_stay_above_the_ceiling(
    days: int, quantity: str, flagged: bool
) -> None:
    signals = flags.record_signals(_stay(days, quantity), max_units_per_day=Decimal(10))
    assert bool(signals) is flagged
    if flagged:
        (signal,) = signals
        assert signal.code == flags.QUANTITY_CEILING
        assert signal.reason.startswith("XML2 STT 3 (40.48 Paracetamol): SO_LUONG ")
        assert f"over {days} day(s) of stay" in signal.reason
