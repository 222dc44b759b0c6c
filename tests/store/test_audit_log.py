"""The AuditLog contract, run against the SQLite, Redis and PostgreSQL logs alike: entries chain
by SHA-256, read back as written, and any edit of the stored log is caught by ``verify``."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import psycopg
import pytest

from gateway.audit import Action, AuditEvent, AuditHead, AuditReport, Result
from gateway.audit.chain import GENESIS, AuditEntry
from gateway.audit.sqlite import SqliteAuditLog
from gateway.errors import Unavailable
from tests.support.process import wait_until

if TYPE_CHECKING:
    from tests.store.conftest import AuditBackend

T0 = datetime(2026, 10, 5, 1, 2, 3, 456789, tzinfo=UTC)


def event(n: int = 0, *, result: Result = Result.OK) -> AuditEvent:
    return AuditEvent(
        at=T0 + timedelta(seconds=n),
        partner="hospital-01929",
        channel="rest",
        action=Action.RECORD_READ,
        target=f"record:01JREC{n:020d}",
        result=result,
    )


def fill(audit: AuditBackend, count: int) -> None:
    for n in range(count):
        audit.log.append(event(n, result=Result.NOT_FOUND if n % 2 else Result.OK))


def test_empty_log_verifies(audit: AuditBackend) -> None:
    assert audit.log.head() == AuditHead(0, GENESIS)
    assert audit.log.entries() == []
    assert audit.log.verify() == AuditReport(0, True, head=AuditHead(0, GENESIS))


def test_entries_read_back_in_order_as_written(audit: AuditBackend) -> None:
    written = [audit.log.append(event(n)) for n in range(5)]

    assert audit.log.entries() == written
    assert [e.seq for e in written] == [1, 2, 3, 4, 5]
    assert [e.event() for e in written] == [event(n) for n in range(5)]
    assert audit.log.entries(after_seq=2, limit=2) == written[2:4]
    assert audit.log.entries(after_seq=5) == []
    assert audit.log.head() == AuditHead(5, written[-1].hash)


def test_an_entry_is_canonical_json_chained_by_sha256_from_64_zeros(audit: AuditBackend) -> None:
    first = audit.log.append(event(1))
    second = audit.log.append(event(2, result=Result.DENIED))

    assert first.body == (
        b'{"action":"record.read","at":"2026-10-05T01:02:04.456789Z","channel":"rest",'
        b'"partner":"hospital-01929","result":"ok","seq":1,'
        b'"target":"record:01JREC00000000000000000001"}'
    )
    assert first.hash == hashlib.sha256(b"0" * 64 + first.body).hexdigest()
    assert second.hash == hashlib.sha256(first.hash.encode() + second.body).hexdigest()
    assert orjson.loads(second.body)["result"] == "denied"


def test_a_sound_chain_verifies_and_reports_its_head(audit: AuditBackend) -> None:
    fill(audit, 7)

    report = audit.log.verify()

    assert (report.count, report.ok, report.first_broken_seq, report.reason) == (
        7,
        True,
        None,
        None,
    )
    assert report.head == audit.log.head()


def test_a_changed_field_is_caught_at_its_entry(audit: AuditBackend) -> None:
    fill(audit, 5)
    # Turn a refused read (entry 4) into an innocent-looking one.
    audit.tamper.change(4, b'"result":"not_found"', b'"result":"ok"')

    report = audit.log.verify()

    assert (report.ok, report.count, report.first_broken_seq) == (False, 3, 4)
    assert report.reason == "entry 4 does not match its hash (changed after it was written)"


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b'"channel":"rest"', b'"channel": "rest"', "not in canonical form"),
        (b'"seq":3', b'"seq":33', "missing or out of place"),
        (b'"result":"ok"', b'"result":"fine"', "not a readable audit entry"),
        (b'{"action"', b'["action"', "not a readable audit entry"),
    ],
)
def test_an_entry_rewritten_out_of_shape_is_caught(
    audit: AuditBackend, old: bytes, new: bytes, reason: str
) -> None:
    fill(audit, 4)
    audit.tamper.change(3, old, new)

    report = audit.log.verify()

    assert (report.ok, report.first_broken_seq) == (False, 3)
    assert reason in (report.reason or "")


def test_a_deleted_entry_is_caught(audit: AuditBackend) -> None:
    fill(audit, 5)
    audit.tamper.delete(2)

    report = audit.log.verify()

    assert (report.ok, report.count, report.first_broken_seq) == (False, 1, 2)
    assert "entry 2 is missing" in (report.reason or "")


def test_a_deleted_last_entry_is_caught_by_the_head(audit: AuditBackend) -> None:
    fill(audit, 3)
    audit.tamper.delete(3)

    report = audit.log.verify()

    assert (report.ok, report.count, report.first_broken_seq) == (False, 2, 3)
    assert report.reason == "entries 3 to 3 are missing (the log ends at entry 2, its head says 3)"


def test_appends_after_a_restart_continue_the_chain(audit: AuditBackend) -> None:
    fill(audit, 3)
    audit.log.close()
    reopened = audit.open_another()

    assert reopened.append(event(9)).seq == 4
    assert reopened.verify().ok


def test_concurrent_appends_from_threads_form_one_chain(audit: AuditBackend) -> None:
    threads, each = 8, 25
    start = threading.Barrier(threads)

    def append(worker: int) -> list[int]:
        start.wait()
        return [audit.log.append(event(worker * 100 + n)).seq for n in range(each)]

    with ThreadPoolExecutor(threads) as pool:
        seqs = [s for worker in pool.map(append, range(threads)) for s in worker]

    assert sorted(seqs) == list(range(1, threads * each + 1))
    assert audit.log.verify() == AuditReport(threads * each, True, head=audit.log.head())


def test_concurrent_appends_through_separate_connections_form_one_chain(
    audit: AuditBackend,
) -> None:
    """Two logs on one database, as two gateway workers have: neither overwrites the other's
    entries or links from a stale head (Redis: WATCH/MULTI; SQLite: BEGIN IMMEDIATE)."""
    logs = [audit.log, audit.open_another(), audit.open_another()]
    start = threading.Barrier(len(logs))

    def append(index: int) -> list[int]:
        start.wait()
        return [logs[index].append(event(index * 100 + n)).seq for n in range(40)]

    with ThreadPoolExecutor(len(logs)) as pool:
        seqs = [s for worker in pool.map(append, range(len(logs))) for s in worker]

    assert sorted(seqs) == list(range(1, 121))
    report = logs[1].verify()
    assert (report.ok, report.count) == (True, 120)
    assert len({e.event().target for e in audit.log.entries(limit=200)}) == 120


def test_sqlite_refuses_to_update_or_delete_an_entry(
    sqlite_audit: AuditBackend, tmp_path: Path
) -> None:
    fill(sqlite_audit, 2)
    with sqlite3.connect(tmp_path / "gateway.sqlite3") as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit SET entry = 'x' WHERE seq = 1")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM audit")
    assert sqlite_audit.log.verify().ok


def test_postgres_refuses_to_update_delete_or_truncate_an_entry(
    postgres_audit: AuditBackend, postgres_url: str
) -> None:
    fill(postgres_audit, 2)
    with psycopg.connect(postgres_url, autocommit=True) as db:
        for sql in (
            "UPDATE audit SET entry = 'x' WHERE seq = 1",
            "DELETE FROM audit",
            "TRUNCATE audit",
        ):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
                db.execute(sql)
    assert postgres_audit.log.verify().ok


def test_a_removed_head_is_caught(audit: AuditBackend) -> None:
    fill(audit, 2)
    audit.tamper.remove_head()

    report = audit.log.verify()

    assert (report.ok, report.count, report.reason) == (False, 2, "the head is missing (2 entries)")


def lookup(n: int, citizen: str, *, result: Result = Result.OK) -> AuditEvent:
    return AuditEvent(
        at=T0 + timedelta(seconds=n),
        partner="vneid",
        channel="rest",
        action=Action.SI_RECORD_LOOKUP,
        target="si_record:********2345",
        result=result,
        citizen=citizen,
        purpose="data_subject_access",
        latency_ms=1.25,
        citizen_last4="2345",
    )


def test_a_citizens_entries_are_found_by_pseudonym_and_carry_purpose_and_latency(
    audit: AuditBackend,
) -> None:
    mine, theirs = "a" * 64, "b" * 64
    audit.log.append(event(0))
    written = [audit.log.append(lookup(n, mine if n % 2 else theirs)) for n in range(1, 8)]

    found = audit.log.of_citizen(mine)
    assert found == [entry for entry in reversed(written) if entry.event().citizen == mine]
    assert [e.seq for e in found] == [8, 6, 4, 2]
    assert audit.log.of_citizen(mine, before_seq=6, limit=1) == found[2:3]
    assert audit.log.of_citizen(mine, before_seq=6) == found[2:]
    assert audit.log.of_citizen(mine, before_seq=2) == []
    assert audit.log.of_citizen("c" * 64) == []
    assert found[-1].event() == lookup(1, mine)
    assert orjson.loads(found[-1].body) | {"seq": 0} == {
        "action": "si_record.lookup",
        "at": "2026-10-05T01:02:04.456789Z",
        "channel": "rest",
        "citizen": mine,
        "citizen_last4": "2345",
        "latency_ms": 1.25,
        "partner": "vneid",
        "purpose": "data_subject_access",
        "result": "ok",
        "seq": 0,
        "target": "si_record:********2345",
    }
    assert audit.log.verify().ok


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"latency_ms":1.25', b'"latency_ms":0.5'),
        (b'"citizen":"aaaa', b'"citizen":"bbbb'),
        (b'"citizen_last4":"2345"', b'"citizen_last4":"9999"'),
        (b'"purpose":"data_subject_access"', b'"purpose":"consent:TX-1"'),
        (b'"action":"si_record.lookup"', b'"action":"card.check"'),
    ],
)
def test_an_edited_citizen_purpose_or_latency_is_caught(
    audit: AuditBackend, old: bytes, new: bytes
) -> None:
    audit.log.append(lookup(1, "a" * 64))
    audit.log.append(lookup(2, "a" * 64, result=Result.LIMITED))
    audit.tamper.change(2, old, new)

    report = audit.log.verify()

    assert (report.ok, report.first_broken_seq) == (False, 2)
    assert report.reason == "entry 2 does not match its hash (changed after it was written)"


def test_reordered_entries_are_caught_at_the_first_moved(audit: AuditBackend) -> None:
    for n in range(1, 6):
        audit.log.append(lookup(n, "a" * 64 if n % 2 else "b" * 64))
    audit.tamper.swap(2, 4)

    report = audit.log.verify()

    assert (report.ok, report.count, report.first_broken_seq) == (False, 1, 2)
    assert report.reason == (
        "entry 2 is missing or out of place: the entry stored there is numbered 4"
    )


def test_a_sqlite_log_made_before_the_citizen_column_gains_it_and_still_verifies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the log as the gateway wrote it before lookups
        db.execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, entry BLOB)")
        db.execute("CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq INTEGER, hash TEXT)")
        prev = GENESIS
        for n in (1, 2):
            body = orjson.dumps({**event(n).as_dict(), "seq": n}, option=orjson.OPT_SORT_KEYS)
            prev = hashlib.sha256(prev.encode() + body).hexdigest()
            db.execute("INSERT INTO audit VALUES (?, ?, ?)", (n, prev, body))
        db.execute("INSERT INTO audit_head VALUES (1, 2, ?)", (prev,))
    db.close()

    log = SqliteAuditLog(path)
    try:
        log.append(lookup(3, "a" * 64))
        assert [e.seq for e in log.of_citizen("a" * 64)] == [3]
        assert (log.verify().ok, log.verify().count) == (True, 3)
    finally:
        log.close()


@contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """The database's write lock, held by another connection (another process would) while the
    block runs: the SQLite log's appends queue up behind it."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield db
        db.execute("ROLLBACK")
    finally:
        db.close()


def grouped_appends(
    log: SqliteAuditLog, path: Path, events: list[AuditEvent]
) -> list[AuditEntry | Exception]:
    """``events`` appended from a thread each, the first alone in a commit that waits for the
    write lock, the others queued meanwhile: they are committed as one group once it is free.
    What each append returned or raised, in the order of ``events``."""

    def append(one: AuditEvent) -> AuditEntry | Exception:
        try:
            return log.append(one)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(events)) as pool, write_lock_held(path):
        first = pool.submit(append, events[0])
        wait_until(lambda: log.waiting == 1, what="the first append waits for the lock")
        rest = [pool.submit(append, one) for one in events[1:]]
        wait_until(lambda: log.waiting == len(events), what="every append is queued")
    return [first.result(), *(future.result() for future in rest)]


def sqlite_log(backend: AuditBackend) -> SqliteAuditLog:
    assert isinstance(backend.log, SqliteAuditLog)
    return backend.log


def test_sqlite_appends_queued_together_share_a_commit_and_form_one_chain(
    sqlite_audit: AuditBackend, tmp_path: Path
) -> None:
    log = sqlite_log(sqlite_audit)
    events = [event(n) for n in range(12)]

    answers = grouped_appends(log, tmp_path / "gateway.sqlite3", events)

    entries = [a for a in answers if isinstance(a, AuditEntry)]
    assert len(entries) == len(events)
    assert [e.event() for e in entries] == events  # each append gets its own entry back
    assert entries[0].seq == 1
    assert sorted(e.seq for e in entries) == list(range(1, 13))
    assert log.entries() == sorted(entries, key=lambda e: e.seq)
    assert log.verify() == AuditReport(12, True, head=AuditHead(12, log.entries()[-1].hash))
    assert log.waiting == 0


def test_a_failed_group_commit_fails_every_append_of_the_group_and_writes_none(
    sqlite_audit: AuditBackend, tmp_path: Path
) -> None:
    """One entry of a group that SQLite cannot write (a trigger failing on it, as a full disk
    fails a commit) undoes the group's transaction: each of its appends raises Unavailable
    (503), none is stored, and the chain goes on from the last durable entry."""
    log = sqlite_log(sqlite_audit)
    path = tmp_path / "gateway.sqlite3"
    log.append(event(0))
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TRIGGER audit_poisoned BEFORE INSERT ON audit "
            "WHEN CAST(NEW.entry AS TEXT) LIKE '%POISON%' BEGIN SELECT json('{'); END"
        )
    poisoned = replace(event(5), target="record:POISON")
    events = [event(1), event(2), event(3), poisoned, event(4)]

    answers = grouped_appends(log, path, events)

    assert isinstance(answers[0], AuditEntry)
    assert answers[0].seq == 2  # committed alone, before the group
    for failed in answers[1:]:
        assert isinstance(failed, Unavailable)
        assert failed.status == 503
    assert [e.event() for e in log.entries()] == [event(0), event(1)]
    assert log.verify().ok
    assert log.append(event(6)).seq == 3
    assert log.waiting == 0
