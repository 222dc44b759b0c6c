"""``gateway seed si-records``: deterministic synthetic SI records in the dossiers' database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.sirecords.synth import synthetic_records
from gateway.store.sqlite_sirecords import SqliteSiRecordStore


def test_the_same_arguments_give_the_same_citizens() -> None:
    today = date(2025, 6, 1)
    first = list(synthetic_records(50, seed=7, today=today))
    assert first == list(synthetic_records(50, seed=7, today=today))
    assert first != list(synthetic_records(50, seed=8, today=today))
    assert len({r.person.citizen_id for r in first}) == 50
    assert all(r.cards[0].covers(today) for r in first)


def test_seeding_twice_loads_the_records_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_STORE_URL", f"sqlite:///{tmp_path / 'gateway.sqlite3'}")

    assert main(["seed", "si-records", "--count", "20", "--seed", "3"]) == 0
    assert main(["seed", "si-records", "--count", "20", "--seed", "3"]) == 0

    assert "20 new or changed" in capsys.readouterr().out.splitlines()[0]
    store = SqliteSiRecordStore(tmp_path / "gateway.sqlite3")
    try:
        expected = list(synthetic_records(20, seed=3, today=date.today()))
        for seed in expected:
            record = store.get(seed.person.citizen_id)
            assert record is not None
            assert (record.person, record.cards, record.version) == (seed.person, seed.cards, 1)
        assert len(store.changes(limit=1000)) == 20
    finally:
        store.close()


def test_a_count_out_of_bounds_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "si-records", "--count", "100001"]) == 2
    assert "--count" in capsys.readouterr().err
