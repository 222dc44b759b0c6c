"""The PostgreSQL store's migrations (fresh, from an older version, two at once), its refusal of
an old schema or a server that may lose commits, and its monthly partitions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
import pytest
from ulid import ULID

from gateway.cli import main
from gateway.errors import ConfigError
from gateway.store import pg_schema
from gateway.store.postgres import PostgresStore

if TYPE_CHECKING:
    from tests.store.conftest import ClaimXml, MakeSubmission


def _partitions(url: str, parent: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            (parent,),
        ).fetchall()
    return {row[0] for row in rows}


def _month_after(month: datetime) -> tuple[datetime, datetime]:
    """``month`` (its first day) and the first day of the next."""
    return month, month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _month_name(at: datetime) -> str:
    return f"{at.year:04d}_{at.month:02d}"


def test_a_fresh_database_is_migrated_to_the_latest_version(postgres_url: str) -> None:
    assert pg_schema.status(postgres_url).current == 0

    applied = pg_schema.upgrade(postgres_url)

    assert [m.version for m in applied] == list(range(1, pg_schema.latest() + 1))
    found = pg_schema.status(postgres_url)
    assert (found.current, found.pending) == (pg_schema.latest(), ())
    assert pg_schema.upgrade(postgres_url) == []  # nothing left to do


def test_the_store_refuses_a_database_without_the_schema(postgres_url: str) -> None:
    with pytest.raises(ConfigError, match=r"has no gateway schema.*`gateway db upgrade`"):
        PostgresStore(postgres_url)


def test_an_older_database_is_refused_until_upgraded_and_keeps_its_data(
    postgres_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    pg_schema.upgrade(postgres_url, target=1)
    later = [m.version for m in pg_schema.migrations()[1:]]
    assert [m.version for m in pg_schema.status(postgres_url).pending] == later
    with pytest.raises(
        ConfigError,
        match=rf"schema version 1; .*needs version {pg_schema.latest()}.*gateway db upgrade",
    ):
        PostgresStore(postgres_url)
    # Data written at version 1 (by hand: its code had no partitions made ahead) survives.
    submission = make_submission(claim_xml(), records=0)
    receipt = submission.receipt
    at = ULID.from_str(receipt.id).datetime
    month, after = _month_after(datetime(at.year, at.month, 1, tzinfo=UTC))
    with psycopg.connect(postgres_url) as conn:
        conn.execute(
            f"CREATE TABLE receipts_{_month_name(month)} PARTITION OF receipts "
            f"FOR VALUES FROM ('{month}') TO ('{after}')"
        )
        conn.execute(
            "INSERT INTO receipts (id, received_at, partner_id, sha256, accepted, json, xml) "
            "VALUES (%s, %s, %s, %s, false, %s, %s)",
            (receipt.id, at, receipt.partner_id, receipt.sha256, receipt.json, receipt.xml),
        )

    assert [m.version for m in pg_schema.upgrade(postgres_url)] == later

    store = PostgresStore(postgres_url)
    try:
        assert store.get_receipt(receipt.id) == replace(receipt, accepted=False)
    finally:
        store.close()


def test_two_upgrades_at_once_apply_each_migration_once(postgres_url: str) -> None:
    start = threading.Barrier(2)

    def upgrade(_: int) -> list[int]:
        start.wait()
        return [m.version for m in pg_schema.upgrade(postgres_url)]

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(upgrade, range(2)))

    assert sorted(results, key=len) == [[], list(range(1, pg_schema.latest() + 1))]
    with psycopg.connect(postgres_url) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [v for (v,) in versions] == list(range(1, pg_schema.latest() + 1))


def test_the_store_makes_this_month_and_the_next_two_ahead(postgres_url: str) -> None:
    pg_schema.upgrade(postgres_url)
    now = datetime.now(UTC)
    store = PostgresStore(postgres_url)
    store.close()
    months = [now.replace(day=1)]
    for _ in range(2):
        months.append(_month_after(months[-1])[1])
    for parent in ("receipts", "records", "originals"):
        assert {f"{parent}_{_month_name(m)}" for m in months} <= _partitions(postgres_url, parent)


def test_a_submission_of_a_month_without_partitions_makes_them(
    postgres_store: PostgresStore,
    postgres_url: str,
    make_submission: MakeSubmission,
    claim_xml: ClaimXml,
) -> None:
    later = datetime(2031, 5, 17, 8, 30, tzinfo=UTC)
    submission = make_submission(claim_xml(), records=1)
    receipt = replace(submission.receipt, id=str(ULID.from_datetime(later)))
    records = tuple(
        replace(r, id=str(ULID.from_datetime(later)), receipt_id=receipt.id)
        for r in submission.records
    )
    submission = replace(submission, receipt=receipt, records=records)

    assert postgres_store.save_accepted(submission) == receipt

    assert postgres_store.get_receipt(receipt.id) == receipt
    assert postgres_store.get_record(records[0].id) == records[0]
    with psycopg.connect(postgres_url) as conn:
        where = conn.execute(
            "SELECT tableoid::regclass::text FROM receipts WHERE id = %s", (receipt.id,)
        ).fetchone()
    assert where == ("receipts_2031_05",)


def test_a_server_that_may_lose_commits_is_refused(postgres_url: str) -> None:
    pg_schema.upgrade(postgres_url)
    lossy = postgres_url + quote(" -csynchronous_commit=off")

    with pytest.raises(ConfigError, match="synchronous_commit off"):
        PostgresStore(lossy)


def test_gateway_db_upgrade_and_status(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_STORE_URL", postgres_url)
    assert main(["db", "status"]) == 1
    assert "pending: 0001_claims" in capsys.readouterr().out

    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "applied: 0001_claims" in out and f"schema version {pg_schema.latest()}" in out

    assert main(["db", "status"]) == 0
    assert "pending" not in capsys.readouterr().out
