"""The Store contract, run against SqliteStore, RedisStore and PostgresStore alike."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

import psycopg
import pytest
import redis.exceptions
from ulid import ULID

from gateway.api.signals import MAX_OFFSET
from gateway.store.ports import (
    IndexChanged,
    IndexEntry,
    IndexRead,
    Store,
    StoredReceipt,
    Submission,
)

if TYPE_CHECKING:
    from tests.store.conftest import ClaimXml, MakeSubmission

PARTNER = "hospital-79001"  # make_submission's default partner
OTHER_HOSPITAL = "hospital-01002"


def test_accepted_submission_reads_back_byte_for_byte(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    submission = make_submission(claim_xml())
    receipt = submission.receipt

    assert store.save_accepted(submission) == receipt

    assert store.get_receipt(receipt.id) == receipt
    for record in submission.records:
        assert store.get_record(record.id) == record
    assert store.get_original(receipt.sha256) == submission.original
    assert store.find_accepted(PARTNER, receipt.sha256) == receipt


def test_submission_without_records_is_stored(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    submission = make_submission(claim_xml(), records=0)

    assert store.save_accepted(submission) == submission.receipt
    assert store.find_accepted(PARTNER, submission.receipt.sha256) == submission.receipt
    assert store.get_original(submission.receipt.sha256) == submission.original


def test_find_accepted_is_per_partner_and_per_digest(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    submission = make_submission(claim_xml())
    store.save_accepted(submission)
    digest = submission.receipt.sha256

    assert store.find_accepted(OTHER_HOSPITAL, digest) is None
    assert store.find_accepted(PARTNER, hashlib.sha256(claim_xml()).hexdigest()) is None


def test_duplicate_save_returns_first_receipt_and_stores_nothing(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    body = claim_xml()
    first = make_submission(body)
    second = make_submission(body, records=3)
    store.save_accepted(first)

    assert store.save_accepted(second) == first.receipt

    assert store.get_receipt(second.receipt.id) is None
    for record in second.records:
        assert store.get_record(record.id) is None
    for record in first.records:
        assert store.get_record(record.id) == record
    assert store.find_accepted(PARTNER, first.receipt.sha256) == first.receipt


def test_same_bytes_from_another_partner_are_accepted_separately(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    body = claim_xml()
    mine = make_submission(body)
    theirs = make_submission(body, partner_id=OTHER_HOSPITAL)

    assert store.save_accepted(mine) == mine.receipt
    assert store.save_accepted(theirs) == theirs.receipt

    assert store.find_accepted(PARTNER, mine.receipt.sha256) == mine.receipt
    assert store.find_accepted(OTHER_HOSPITAL, mine.receipt.sha256) == theirs.receipt
    assert store.get_original(mine.receipt.sha256) == body


def test_concurrent_duplicate_saves_have_exactly_one_winner(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    body = claim_xml()
    submissions = [make_submission(body) for _ in range(8)]
    start = threading.Barrier(len(submissions))

    def save(submission: Submission) -> StoredReceipt:
        start.wait()
        return store.save_accepted(submission)

    with ThreadPoolExecutor(len(submissions)) as pool:
        returned = list(pool.map(save, submissions))

    winner = returned[0]
    assert returned == [winner] * len(submissions)
    [winning] = [s for s in submissions if s.receipt == winner]
    assert store.find_accepted(PARTNER, winner.sha256) == winner
    for submission in submissions:
        stored = submission is winning
        assert (store.get_receipt(submission.receipt.id) is not None) is stored
        for record in submission.records:
            assert store.get_record(record.id) == (record if stored else None)


def test_rejection_receipt_is_stored_but_does_not_count_as_accepted(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    body = claim_xml()
    rejected = make_submission(body, records=0, accepted=False).receipt

    store.save_rejection(rejected)

    assert store.get_receipt(rejected.id) == rejected
    assert store.find_accepted(PARTNER, rejected.sha256) is None
    assert store.get_original(rejected.sha256) is None
    # The same bytes, fixed on the partner's side and sent again, are accepted on their own.
    retry = make_submission(body)
    assert store.save_accepted(retry) == retry.receipt
    assert store.get_receipt(rejected.id) == rejected


def test_stored_receipt_is_never_overwritten(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    rejected = make_submission(claim_xml(), records=0, accepted=False).receipt
    store.save_rejection(rejected)
    clash = make_submission(claim_xml())
    clash = replace(clash, receipt=replace(clash.receipt, id=rejected.id))

    refused = (sqlite3.IntegrityError, redis.exceptions.ResponseError, psycopg.IntegrityError)
    with pytest.raises(refused):
        store.save_rejection(replace(rejected, json=b'{"forged": true}'))
    with pytest.raises(refused):
        store.save_accepted(clash)

    assert store.get_receipt(rejected.id) == rejected
    assert store.find_accepted(PARTNER, clash.receipt.sha256) is None
    assert store.get_original(clash.receipt.sha256) is None
    for record in clash.records:
        assert store.get_record(record.id) is None


def test_unknown_ids_are_none(store: Store) -> None:
    unknown_digest = hashlib.sha256(b"never submitted").hexdigest()

    assert store.get_receipt(str(ULID())) is None
    assert store.get_record(str(ULID())) is None
    assert store.get_original(unknown_digest) is None
    assert store.find_accepted(PARTNER, unknown_digest) is None


def test_ping_answers(store: Store) -> None:
    store.ping()


def test_index_entries_are_written_with_the_submission_in_order(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    assert store.entries("visit-key:01929:LK1") == []
    first = replace(
        make_submission(claim_xml()),
        index=(
            IndexEntry("visit-key:01929:LK1", b'{"n": 1}'),
            IndexEntry("visit-card:GD4797920123456", "Nguyễn".encode()),
        ),
    )
    second = replace(
        make_submission(claim_xml()), index=(IndexEntry("visit-key:01929:LK1", b'{"n": 2}'),)
    )
    store.save_accepted(first)
    store.save_accepted(second)
    assert store.entries("visit-key:01929:LK1") == [b'{"n": 1}', b'{"n": 2}']
    assert store.entries("visit-card:GD4797920123456") == ["Nguyễn".encode()]


def test_a_duplicate_submission_writes_no_index_entry(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    body = claim_xml()
    first = replace(make_submission(body), index=(IndexEntry("signals-card:X", b"first"),))
    again = replace(make_submission(body), index=(IndexEntry("signals-card:X", b"again"),))
    store.save_accepted(first)
    assert store.save_accepted(again) == first.receipt
    assert store.entries("signals-card:X") == [b"first"]


def test_index_entries_are_read_by_pages(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    values = [f"v{i}".encode() for i in range(5)]
    store.save_accepted(
        replace(make_submission(claim_xml()), index=tuple(IndexEntry("page", v) for v in values))
    )
    assert store.entries("page", start=0, limit=2) == values[:2]
    assert store.entries("page", start=2, limit=2) == values[2:4]
    assert store.entries("page", start=4, limit=2) == values[4:]
    assert store.entries("page", start=5, limit=2) == []
    assert store.entries("page", start=3) == values[3:]
    assert store.entries("page", limit=0) == []
    # The largest page start the API lets through (GET /api/v1/signals?offset=): nothing, on
    # every store, rather than an overflow.
    assert store.entries("page", start=MAX_OFFSET, limit=1000) == []


VISIT = "visit-card:GD4797920123456"


def judged(submission: Submission, *, read: int, appends: bytes) -> Submission:
    """``submission`` as judged after reading VISIT at ``read`` entries, appending ``appends``."""
    return replace(
        submission,
        read=(IndexRead(VISIT, read),),
        index=(IndexEntry(VISIT, appends), IndexEntry("signals-card:X", appends)),
    )


def test_a_submission_is_stored_while_the_lists_it_read_have_not_grown(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    first = judged(make_submission(claim_xml()), read=0, appends=b"first")
    assert store.save_accepted(first) == first.receipt
    second = judged(make_submission(claim_xml()), read=1, appends=b"second")
    assert store.save_accepted(second) == second.receipt
    # A length is a bound: a read that found fewer entries than the list holds now is stale,
    # one that allowed for more is not.
    third = judged(make_submission(claim_xml()), read=5, appends=b"third")
    assert store.save_accepted(third) == third.receipt
    assert store.entries(VISIT) == [b"first", b"second", b"third"]


def test_a_list_grown_since_it_was_read_refuses_the_whole_submission(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    store.save_accepted(judged(make_submission(claim_xml()), read=0, appends=b"winner"))
    late = judged(make_submission(claim_xml()), read=0, appends=b"late")

    with pytest.raises(IndexChanged) as raised:
        store.save_accepted(late)

    assert raised.value.name == VISIT
    assert store.entries(VISIT) == [b"winner"]
    assert store.entries("signals-card:X") == [b"winner"]
    assert store.get_receipt(late.receipt.id) is None
    assert store.find_accepted(PARTNER, late.receipt.sha256) is None
    assert store.get_original(late.receipt.sha256) is None
    for record in late.records:
        assert store.get_record(record.id) is None


def test_the_same_bytes_accepted_meanwhile_are_a_duplicate_even_if_a_list_grew(
    store: Store, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    body = claim_xml()
    first = judged(make_submission(body), read=0, appends=b"first")
    store.save_accepted(first)

    assert store.save_accepted(judged(make_submission(body), read=0, appends=b"x")) == first.receipt
    assert store.entries(VISIT) == [b"first"]


def test_concurrent_submissions_judged_on_the_same_list_by_several_workers_have_one_winner(
    store: Store,
    open_another: Callable[[], Store],
    make_submission: MakeSubmission,
    claim_xml: ClaimXml,
) -> None:
    workers = [open_another() for _ in range(6)]
    submissions = [
        judged(make_submission(claim_xml()), read=0, appends=str(n).encode())
        for n in range(len(workers))
    ]
    start = threading.Barrier(len(workers))

    def save(worker: Store, submission: Submission) -> str:
        start.wait()
        try:
            return worker.save_accepted(submission).id
        except IndexChanged:
            return "judge again"

    with ThreadPoolExecutor(len(workers)) as pool:
        answers = list(pool.map(save, workers, submissions))

    [winner] = [
        s for s, answer in zip(submissions, answers, strict=True) if answer != "judge again"
    ]
    assert answers.count(winner.receipt.id) == 1
    assert store.entries(VISIT) == [winner.index[0].value]
    for submission in submissions:
        assert (store.get_receipt(submission.receipt.id) is not None) is (submission is winner)
