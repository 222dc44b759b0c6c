"""Retention on the SQLite and PostgreSQL stores: a dry run changes nothing, --apply drops exactly
what is past its period (rows on SQLite, whole monthly partitions on PostgreSQL), and the audit
chain still verifies across a dropped period from a signed checkpoint, which cannot be edited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from ulid import ULID

from gateway.audit.checkpoint import verify_log
from gateway.retention import Periods, Pruner, apply, plan
from gateway.store import pg_schema
from gateway.store.pg_retention import PostgresPruner
from gateway.store.ports import Store, Submission
from gateway.store.postgres import PostgresStore
from gateway.store.sqlite import SqliteStore
from gateway.store.sqlite_retention import SqlitePruner
from tests.conftest import Pki
from tests.store.conftest import AuditBackend, ClaimXml, MakeSubmission
from tests.store.test_audit_log import event

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
OLD = datetime(2026, 7, 10, tzinfo=UTC)  # past a 60-day period at NOW
RECENT = datetime(2026, 10, 1, tzinfo=UTC)
SIXTY_DAYS = timedelta(days=60)
ALL = Periods(originals=SIXTY_DAYS, records=SIXTY_DAYS, receipts=SIXTY_DAYS)


def received(submission: Submission, at: datetime) -> Submission:
    """``submission`` as if received at ``at``: its ids' ULIDs carry that time."""
    receipt = replace(submission.receipt, id=str(ULID.from_datetime(at)))
    records = tuple(
        replace(r, id=str(ULID.from_datetime(at)), receipt_id=receipt.id)
        for r in submission.records
    )
    return replace(submission, receipt=receipt, records=records)


@dataclass
class Claims:
    store: Store
    pruner: Pruner
    old: Submission
    recent: Submission


@pytest.fixture(params=["sqlite", "postgres"])
def claims(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    claim_xml: ClaimXml,
    make_submission: MakeSubmission,
) -> Iterator[Claims]:
    store: Store
    pruner: Pruner
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "gateway.sqlite3")
        pruner = SqlitePruner(tmp_path / "gateway.sqlite3", batch=1)  # several batches
    else:
        url = request.getfixturevalue("postgres_url")
        pg_schema.upgrade(url)
        store, pruner = PostgresStore(url), PostgresPruner(url)
    old = received(make_submission(claim_xml()), OLD)
    recent = received(make_submission(claim_xml()), RECENT)
    for submission in (old, recent):
        store.save_accepted(submission)
    yield Claims(store, pruner, old, recent)
    pruner.close()
    store.close()


def held(claims: Claims, submission: Submission) -> tuple[bool, ...]:
    return (
        claims.store.get_receipt(submission.receipt.id) is not None,
        *(claims.store.get_record(r.id) is not None for r in submission.records),
        claims.store.get_original(submission.receipt.sha256) is not None,
        claims.store.find_accepted(submission.receipt.partner_id, submission.receipt.sha256)
        is not None,
    )


def test_a_dry_run_names_what_is_past_and_changes_nothing(
    claims: Claims, sqlite_audit: AuditBackend
) -> None:
    found = plan(ALL, NOW, claims.pruner, sqlite_audit.log)

    assert [(e.kind, e.rows) for e in found] == [("originals", 1), ("records", 2), ("receipts", 1)]
    assert held(claims, claims.old) == (True,) * 5
    assert held(claims, claims.recent) == (True,) * 5


def test_apply_drops_exactly_what_is_past_its_period(
    claims: Claims, sqlite_audit: AuditBackend
) -> None:
    dropped = apply(ALL, NOW, claims.pruner, sqlite_audit.log, identity=None)

    assert [(e.kind, e.rows) for e in dropped] == [
        ("originals", 1),
        ("records", 2),
        ("receipts", 1),
    ]
    assert held(claims, claims.old) == (False,) * 5
    assert held(claims, claims.recent) == (True,) * 5
    assert plan(ALL, NOW, claims.pruner, sqlite_audit.log) == []
    if isinstance(claims.pruner, PostgresPruner):  # whole months: July's went, October's stays
        assert {e.what for e in dropped} == {
            f"partition {table}_2026_07" for table in ("originals", "records", "receipts")
        }


def test_records_kept_longer_keep_their_receipts_on_sqlite(
    tmp_path: Path, claim_xml: ClaimXml, make_submission: MakeSubmission, sqlite_audit: AuditBackend
) -> None:
    store = SqliteStore(tmp_path / "gateway.sqlite3")
    pruner = SqlitePruner(tmp_path / "gateway.sqlite3")
    old = received(make_submission(claim_xml()), OLD)
    store.save_accepted(old)
    try:
        dropped = apply(Periods(receipts=SIXTY_DAYS), NOW, pruner, sqlite_audit.log, identity=None)
        assert dropped == []
        assert store.get_receipt(old.receipt.id) is not None
    finally:
        pruner.close()
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def audit_log(request: pytest.FixtureRequest) -> AuditBackend:
    backend: AuditBackend = request.getfixturevalue(f"{request.param}_audit")
    return backend


AUDIT = Periods(audit=SIXTY_DAYS)


@pytest.fixture
def no_claims(sqlite_store: SqliteStore, tmp_path: Path) -> Iterator[Pruner]:
    """A pruner of an empty claims store: only the audit log has something to drop."""
    pruner = SqlitePruner(tmp_path / "gateway.sqlite3")
    yield pruner
    pruner.close()


def fill_across(audit: AuditBackend) -> None:
    """Entries 1-3 in July (past), 4-5 in October."""
    for n, at in enumerate((OLD, OLD, OLD, RECENT, RECENT)):
        audit.log.append(replace(event(n), at=at + timedelta(seconds=n)))


def test_the_audit_chain_verifies_across_a_dropped_period(
    audit_log: AuditBackend, pki: Pki, no_claims: Pruner
) -> None:
    identity = pki.gateway
    fill_across(audit_log)
    head = audit_log.log.head()

    (found,) = plan(AUDIT, NOW, no_claims, audit_log.log)
    assert (found.kind, found.rows) == ("audit", 3)
    assert len(audit_log.log.entries()) == 5  # the dry run dropped nothing
    (dropped,) = apply(AUDIT, NOW, no_claims, audit_log.log, identity=identity)

    assert (dropped.kind, dropped.rows) == ("audit", 3)
    assert [e.seq for e in audit_log.log.entries()] == [4, 5]
    report = verify_log(audit_log.log, identity.certificate)
    assert (report.ok, report.count, report.head) == (True, 5, head)
    assert audit_log.log.append(event(9)).seq == 6
    assert verify_log(audit_log.log, identity.certificate).ok
    # A deleted entry after the checkpoint is still caught.
    audit_log.tamper.delete(4)
    broken = verify_log(audit_log.log, identity.certificate)
    assert (broken.ok, broken.first_broken_seq) == (False, 4)


def test_a_tampered_checkpoint_is_detected(
    audit_log: AuditBackend, pki: Pki, no_claims: Pruner
) -> None:
    identity = pki.gateway
    fill_across(audit_log)
    apply(AUDIT, NOW, no_claims, audit_log.log, identity=identity)
    # Move the checkpoint back, as someone hiding a rewrite of entry 4 would.
    audit_log.tamper.change_checkpoint(b'"seq":3', b'"seq":2')

    report = verify_log(audit_log.log, identity.certificate)

    assert not report.ok
    assert report.reason == "the checkpoint's signature does not verify (it was changed or forged)"


def test_the_database_refuses_to_delete_entries_no_checkpoint_covers(
    postgres_audit: AuditBackend, postgres_url: str, pki: Pki, no_claims: Pruner
) -> None:
    identity = pki.gateway
    fill_across(postgres_audit)
    apply(AUDIT, NOW, no_claims, postgres_audit.log, identity=identity)
    with psycopg.connect(postgres_url, autocommit=True) as db:
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            db.execute("DELETE FROM audit WHERE seq = 4")
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            db.execute("DELETE FROM audit_checkpoints")
