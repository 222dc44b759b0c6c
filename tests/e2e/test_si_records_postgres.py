"""VNeID lookups over HTTP with the SI records in PostgreSQL (GATEWAY_STORE_URL=postgresql://):
the record seeded through the gateway is in the database and answered whole, and a treatment
recorded afterwards shows in the next answer (the cache follows the database's changes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from gateway.bootstrap import Gateway
from gateway.config import Settings
from gateway.sirecords.ports import ClaimedTreatment
from gateway.store import pg_schema
from gateway.store.postgres_card_checks import PostgresCardCheckLog
from gateway.store.postgres_sirecords import PostgresSiRecordStore
from tests.conftest import Served
from tests.e2e.test_si_record_lookups import ANSWER, CARD, rest, seeded
from tests.support.sirecords import treatment
from tests.support.vneid import CITIZEN, SimulatedProvider


@pytest.fixture
def pg_gateway(
    settings: Settings,
    vneid_sim: SimulatedProvider,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Gateway]:
    monkeypatch.chdir(tmp_path)  # what stays in SQLite (the audit log) goes to ./dossiers.sqlite3
    pg_schema.upgrade(postgres_url)
    gateway = seeded(settings.model_copy(update={"store_url": postgres_url}), vneid_sim)
    yield gateway
    gateway.close()


def test_a_record_in_postgres_is_looked_up_over_http_and_its_changes_show(
    pg_gateway: Gateway, vneid_sim: SimulatedProvider, postgres_url: str
) -> None:
    assert isinstance(pg_gateway.si_records, PostgresSiRecordStore)
    assert isinstance(pg_gateway.card_checks.log, PostgresCardCheckLog)
    with psycopg.connect(postgres_url) as conn:
        held = conn.execute("SELECT count(*) FROM si_people").fetchone()
    assert held == (2,)
    later = treatment(datetime(2025, 5, 20, 7, 0, tzinfo=UTC), card_number=CARD)

    with Served(pg_gateway) as served:
        first = rest(served, CITIZEN, vneid_sim.idp.mint(CITIZEN))
        pg_gateway.si_records.record_treatments([ClaimedTreatment(CITIZEN, later)])
        second = rest(served, CITIZEN, vneid_sim.idp.mint(CITIZEN))

    assert first.status_code == 200, first.text
    assert first.json() == ANSWER
    assert second.status_code == 200, second.text
    arrivals = [t["arrived_at"] for t in second.json()["treatments"]]
    assert arrivals == [ANSWER["treatments"][0]["arrived_at"], "2025-05-20T07:00:00Z"]
