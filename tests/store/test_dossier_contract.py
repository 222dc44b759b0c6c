"""The DossierStore contract: dossiers, history, documents, queue, outbox; run on every store."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from gateway.dossiers.lifecycle import State
from gateway.dossiers.ports import Dossier, DossierStore
from gateway.errors import Conflict, NotFound
from gateway.sirecords.ports import GrantedBenefit
from tests.support.dossiers import (
    DEPARTMENT,
    OTHER_DEPARTMENT,
    OTHER_PORTAL,
    PORTAL,
    T0,
    move,
    new_documents,
    new_dossier,
    step,
)
from tests.support.sirecords import CITIZEN, benefit, person

if TYPE_CHECKING:
    from tests.store.conftest import DossierBackend


@pytest.fixture
def store(dossiers: DossierBackend) -> DossierStore:
    return dossiers.store


def received(store: DossierStore, **how: object) -> Dossier:
    return store.create(new_dossier(**how))  # type: ignore[arg-type]


def processing(store: DossierStore) -> Dossier:
    """A dossier its department accepted (an hour after ``T0``) and is processing (an hour
    later)."""
    accepted = move(store, received(store), State.ACCEPTED, at=T0 + timedelta(hours=1))
    return move(store, accepted, State.PROCESSING, at=T0 + timedelta(hours=2))


def asking(store: DossierStore, dossier: Dossier, *documents: str, at: datetime) -> Dossier:
    """``dossier`` waiting on the applicant's ``documents`` from ``at``, until its due date."""
    return move(
        store,
        dossier,
        State.SUPPLEMENT_REQUESTED,
        at=at,
        documents=documents,
        supplement_due=dossier.due_date,
    )


# -- create, find, read back ----------------------------------------------------------------


def test_created_dossier_reads_back_whole(store: DossierStore) -> None:
    new = new_dossier()

    created = store.create(new)

    assert created == new.dossier
    assert store.get(new.dossier.id) == new.dossier
    assert store.get_receipt(new.receipt.id) == new.receipt
    assert store.get_record(new.dossier.record_id) == new.record_json
    assert store.get_original(new.receipt.sha256) == new.original
    assert store.find(PORTAL, ma_ho_so=new.dossier.ma_ho_so, sha256="0" * 64) == new.dossier
    assert store.find(PORTAL, ma_ho_so="another", sha256=new.receipt.sha256) == new.dossier


def test_unknown_ids_are_none(store: DossierStore) -> None:
    assert store.get("01JNOSUCHDOSSIER0000000000") is None
    assert store.get_receipt("01JNOSUCHRECEIPT0000000000") is None
    assert store.get_record("01JNOSUCHRECORD00000000000") is None
    assert store.get_original("0" * 64) is None
    assert store.find(PORTAL, ma_ho_so="none", sha256="0" * 64) is None


def test_find_is_per_partner(store: DossierStore) -> None:
    new = new_dossier()
    store.create(new)

    assert (
        store.find(OTHER_PORTAL, ma_ho_so=new.dossier.ma_ho_so, sha256=new.receipt.sha256) is None
    )


def test_same_ma_ho_so_returns_the_first_and_stores_nothing(store: DossierStore) -> None:
    first = new_dossier()
    store.create(first)
    again = new_dossier(ma_ho_so=first.dossier.ma_ho_so)

    assert store.create(again) == first.dossier

    assert store.get(again.dossier.id) is None
    assert store.get_receipt(again.receipt.id) is None
    assert store.get_original(again.receipt.sha256) is None
    assert len(store.due_messages(at=T0, limit=10)) == 1  # the first one's status message


def test_same_bytes_return_the_first_and_store_nothing(store: DossierStore) -> None:
    first = new_dossier()
    store.create(first)
    again = new_dossier(original=first.original)

    assert store.create(again) == first.dossier

    assert store.get(again.dossier.id) is None
    assert store.get_record(again.dossier.record_id) is None
    assert store.queued(DEPARTMENT).items == (first.dossier,)


def test_same_code_from_another_partner_is_another_dossier(store: DossierStore) -> None:
    first = new_dossier()
    store.create(first)
    other = new_dossier(partner_id=OTHER_PORTAL, ma_ho_so=first.dossier.ma_ho_so)

    assert store.create(other) == other.dossier


def test_concurrent_creates_of_one_dossier_store_it_once(dossiers: DossierBackend) -> None:
    first = new_dossier()
    attempts = [first, *(new_dossier(ma_ho_so=first.dossier.ma_ho_so) for _ in range(7))]
    stores = [dossiers.open_another() for _ in attempts]
    start = threading.Barrier(len(attempts))

    def create(n: int) -> Dossier:
        start.wait()
        return stores[n].create(attempts[n])

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        results = list(pool.map(create, range(len(attempts))))

    winner = results[0]
    assert winner.id in {a.dossier.id for a in attempts}
    assert all(result == winner for result in results)
    assert [a for a in attempts if dossiers.store.get(a.dossier.id)] == [
        a for a in attempts if a.dossier.id == winner.id
    ]
    assert dossiers.store.queued(DEPARTMENT).items == (winner,)


# -- moves ----------------------------------------------------------------------------------


def test_move_appends_history_and_bumps_the_version(store: DossierStore) -> None:
    dossier = received(store)

    accepted = move(store, dossier, State.ACCEPTED, at=T0 + timedelta(hours=1), officer="Lê An")
    processing = move(store, accepted, State.PROCESSING, at=T0 + timedelta(hours=2))

    assert processing.state is State.PROCESSING
    assert processing.version == dossier.version + 2
    assert [e.state for e in processing.history] == [
        State.RECEIVED,
        State.ACCEPTED,
        State.PROCESSING,
    ]
    assert processing.history[1].officer == "Lê An"
    assert processing.history[1].at == T0 + timedelta(hours=1)
    assert store.get(dossier.id) == processing


def test_move_on_a_stale_version_is_a_conflict_and_changes_nothing(store: DossierStore) -> None:
    dossier = received(store)
    move(store, dossier, State.ACCEPTED, at=T0 + timedelta(hours=1))
    current = store.get(dossier.id)

    with pytest.raises(Conflict):
        move(store, dossier, State.REFUSED, at=T0 + timedelta(hours=2), reason="late")

    assert store.get(dossier.id) == current


def test_move_of_an_unknown_dossier_is_not_found(store: DossierStore) -> None:
    dossier = new_dossier().dossier
    entry, arguments = step(dossier, State.ACCEPTED, at=T0)

    with pytest.raises(NotFound):
        store.move(dossier.id, entry, **arguments)


def test_supplement_request_keeps_documents_and_deadline_until_the_next_move(
    store: DossierStore,
) -> None:
    dossier = processing(store)
    later = dossier.due_date + timedelta(days=7)

    asked = move(
        store,
        dossier,
        State.SUPPLEMENT_REQUESTED,
        at=T0 + timedelta(days=1),
        documents=("Giấy ra viện", "Sổ BHXH"),
        due_date=later,
        supplement_due=dossier.due_date,
    )
    assert asked.requested_documents == ("Giấy ra viện", "Sổ BHXH")
    assert asked.supplement_due == dossier.due_date
    assert asked.due_date == later
    assert asked.history[-1].documents == ("Giấy ra viện", "Sổ BHXH")

    resumed = move(store, asked, State.PROCESSING, at=T0 + timedelta(days=2), actor="portal")
    assert resumed.requested_documents == ()
    assert resumed.supplement_due is None
    assert resumed.due_date == later


def test_reaching_a_decision_sets_finished_at_once(store: DossierStore) -> None:
    dossier = processing(store)
    assert dossier.finished_at is None

    finished = move(store, dossier, State.FINISHED, at=T0 + timedelta(days=3))
    delivered = move(store, finished, State.RESULT_DELIVERED, at=T0 + timedelta(days=4))

    assert finished.finished_at == T0 + timedelta(days=3)
    assert delivered.finished_at == T0 + timedelta(days=3)


def test_a_decisions_benefit_is_written_with_its_move_or_not_at_all(
    dossiers: DossierBackend,
) -> None:
    store, records = dossiers.store, dossiers.open_si_records()
    version = records.upsert(person())
    dossier = processing(store)
    asked = asking(store, dossier, "Sổ BHXH", at=T0 + timedelta(days=1))
    granted = GrantedBenefit(CITIZEN, benefit(dossier_id=dossier.id))
    entry, stale = step(dossier, State.FINISHED, at=T0 + timedelta(days=2))

    with pytest.raises(Conflict):
        store.move(dossier.id, entry, **stale, benefit=granted)
    assert records.version(CITIZEN) == version

    resumed = move(store, asked, State.PROCESSING, at=T0 + timedelta(days=2), actor="portal")
    entry, arguments = step(resumed, State.FINISHED, at=T0 + timedelta(days=3))
    finished = store.move(dossier.id, entry, **arguments, benefit=granted)

    record = records.get(CITIZEN)
    assert record is not None
    assert record.benefits == (granted.benefit,)
    assert record.version == version + 1
    assert finished.state is State.FINISHED


# -- additional documents -------------------------------------------------------------------


def test_documents_are_kept_with_their_move(store: DossierStore) -> None:
    dossier = asking(store, processing(store), "Giấy ra viện", at=T0 + timedelta(days=1))
    documents = new_documents(dossier)
    entry, arguments = step(dossier, State.PROCESSING, at=T0 + timedelta(days=2), actor="portal")

    stored = store.add_documents(
        dossier.id,
        documents,
        version=dossier.version,
        entry=entry,
        changes=arguments["changes"],
    )

    assert stored == documents.receipt
    assert store.get_receipt(documents.receipt.id) == documents.receipt
    assert store.get_record(documents.record_id) == documents.record_json
    assert store.get_original(documents.receipt.sha256) == documents.original
    after = store.get(dossier.id)
    assert after is not None
    assert after.state is State.PROCESSING
    assert after.version == dossier.version + 1


def test_same_documents_again_return_their_first_receipt(store: DossierStore) -> None:
    dossier = received(store)
    first = new_documents(dossier)
    store.add_documents(dossier.id, first, version=dossier.version)
    again = new_documents(dossier, original=first.original)

    assert store.add_documents(dossier.id, again, version=dossier.version) == first.receipt
    assert store.get_receipt(again.receipt.id) is None
    assert store.get_record(again.record_id) is None


def test_documents_on_a_stale_version_are_a_conflict_and_not_kept(store: DossierStore) -> None:
    dossier = received(store)
    move(store, dossier, State.ACCEPTED, at=T0 + timedelta(hours=1))
    documents = new_documents(dossier)

    with pytest.raises(Conflict):
        store.add_documents(dossier.id, documents, version=dossier.version)

    assert store.get_receipt(documents.receipt.id) is None
    assert store.get_original(documents.receipt.sha256) is None


def test_documents_of_an_unknown_dossier_are_not_found(store: DossierStore) -> None:
    dossier = new_dossier().dossier

    with pytest.raises(NotFound):
        store.add_documents(dossier.id, new_documents(dossier), version=1)


# -- one transaction ------------------------------------------------------------------------


class Unserializable:
    """A value no store can write to its outbox: the write fails after the change's others."""


def test_a_change_whose_outbox_write_fails_leaves_nothing(store: DossierStore) -> None:
    dossier = received(store)
    before = store.get(dossier.id)
    outbox = store.due_messages(at=T0 + timedelta(days=1), limit=10)
    entry, arguments = step(dossier, State.REFUSED, at=T0 + timedelta(hours=1))
    status, progress = arguments["changes"]
    broken = replace(progress, body={**progress.body, "evidence": Unserializable()})

    with pytest.raises(TypeError):
        store.move(dossier.id, entry, **{**arguments, "changes": (status, broken)})

    assert store.get(dossier.id) == before
    assert store.due_messages(at=T0 + timedelta(days=1), limit=10) == outbox
    assert store.queued(DEPARTMENT).items == (before,)


def test_a_new_dossier_whose_outbox_write_fails_is_not_stored(store: DossierStore) -> None:
    new = new_dossier()
    status, progress = new.changes
    broken = replace(new, changes=(status, replace(progress, body={"x": Unserializable()})))

    with pytest.raises(TypeError):
        store.create(broken)

    assert store.get(new.dossier.id) is None
    assert store.get_receipt(new.receipt.id) is None
    assert store.get_original(new.receipt.sha256) is None
    assert store.due_messages(at=T0 + timedelta(days=1), limit=10) == []
    assert store.queued(DEPARTMENT).items == ()
    assert store.create(new) == new.dossier  # nothing half-written stands in its way


# -- the department queue -------------------------------------------------------------------


def test_a_received_dossier_is_queued_for_its_department(store: DossierStore) -> None:
    dossier = received(store)
    elsewhere = received(store, department=OTHER_DEPARTMENT)

    assert store.queued(DEPARTMENT).items == (dossier,)
    assert store.queued(OTHER_DEPARTMENT).items == (elsewhere,)
    assert store.queued("nobody").items == ()


def test_claims_hand_out_the_oldest_tasks_one_each(store: DossierStore) -> None:
    older = received(store, received_at=T0)
    newer = received(store, received_at=T0 + timedelta(minutes=5))
    received(store, department=OTHER_DEPARTMENT)
    at = T0 + timedelta(hours=1)

    first = store.claim(DEPARTMENT, worker="w1", at=at, visibility=30)
    second = store.claim(DEPARTMENT, worker="w2", at=at, visibility=30)

    assert first is not None and second is not None
    assert (first.dossier_id, first.worker, first.deliveries) == (older.id, "w1", 1)
    assert (second.dossier_id, second.worker) == (newer.id, "w2")
    assert first.until == at + timedelta(seconds=30)
    assert first.department == DEPARTMENT
    assert first.token != second.token
    assert store.claim(DEPARTMENT, worker="w3", at=at, visibility=30) is None


def test_an_expired_claim_is_handed_out_again(store: DossierStore) -> None:
    dossier = received(store)
    first = store.claim(DEPARTMENT, worker="w1", at=T0, visibility=30)
    assert first is not None

    assert (
        store.claim(DEPARTMENT, worker="w2", at=T0 + timedelta(seconds=29), visibility=30) is None
    )
    again = store.claim(DEPARTMENT, worker="w2", at=T0 + timedelta(seconds=30), visibility=30)

    assert again is not None
    assert (again.dossier_id, again.worker, again.deliveries) == (dossier.id, "w2", 2)
    assert not store.ack(first.token, at=T0 + timedelta(seconds=31))  # w1 lost it
    assert store.ack(again.token, at=T0 + timedelta(seconds=31))


def test_ack_after_the_claim_expired_is_refused(store: DossierStore) -> None:
    received(store)
    claim = store.claim(DEPARTMENT, worker="w1", at=T0, visibility=10)
    assert claim is not None

    assert not store.ack(claim.token, at=T0 + timedelta(seconds=10))
    assert not store.ack("no-such-token", at=T0)


def test_ack_of_a_dossier_still_in_department_work_makes_it_available(
    store: DossierStore,
) -> None:
    dossier = received(store)
    claim = store.claim(DEPARTMENT, worker="w1", at=T0, visibility=60)
    assert claim is not None
    accepted = move(store, dossier, State.ACCEPTED, at=T0 + timedelta(seconds=5))

    assert store.ack(claim.token, at=T0 + timedelta(seconds=6))

    assert not store.ack(claim.token, at=T0 + timedelta(seconds=7))  # taken once
    assert store.queued(DEPARTMENT).items == (accepted,)
    again = store.claim(DEPARTMENT, worker="w2", at=T0 + timedelta(seconds=7), visibility=60)
    assert again is not None
    assert (again.dossier_id, again.deliveries) == (dossier.id, 2)


def test_ack_after_the_dossier_left_department_work_ends_its_task(store: DossierStore) -> None:
    dossier = received(store)
    claim = store.claim(DEPARTMENT, worker="w1", at=T0, visibility=60)
    assert claim is not None
    move(store, dossier, State.REFUSED, at=T0 + timedelta(seconds=5), reason="không đủ")

    assert store.queued(DEPARTMENT).items == ()
    assert store.ack(claim.token, at=T0 + timedelta(seconds=6))

    assert store.claim(DEPARTMENT, worker="w2", at=T0 + timedelta(hours=1), visibility=60) is None


def test_a_dossier_that_left_department_work_is_never_handed_out(store: DossierStore) -> None:
    dossier = received(store)
    claim = store.claim(DEPARTMENT, worker="w1", at=T0, visibility=60)
    assert claim is not None
    move(store, dossier, State.WITHDRAWN, at=T0 + timedelta(seconds=5), actor="portal")

    # w1 never acks; its claim expires.
    assert store.claim(DEPARTMENT, worker="w2", at=T0 + timedelta(minutes=5), visibility=60) is None
    assert not store.ack(claim.token, at=T0 + timedelta(minutes=5))


def test_moving_out_of_and_back_into_department_work_requeues(store: DossierStore) -> None:
    asked = asking(store, processing(store), "Sổ BHXH", at=T0 + timedelta(hours=3))
    assert store.queued(DEPARTMENT).items == ()
    assert store.claim(DEPARTMENT, worker="w1", at=T0 + timedelta(hours=4), visibility=60) is None

    resumed = move(store, asked, State.PROCESSING, at=T0 + timedelta(days=1), actor="portal")

    assert store.queued(DEPARTMENT).items == (resumed,)
    claim = store.claim(DEPARTMENT, worker="w1", at=T0 + timedelta(days=1), visibility=60)
    assert claim is not None
    assert claim.dossier_id == asked.id


def test_a_move_within_department_work_keeps_the_claim(store: DossierStore) -> None:
    dossier = received(store)
    claim = store.claim(DEPARTMENT, worker="w1", at=T0, visibility=60)
    assert claim is not None

    move(store, dossier, State.ACCEPTED, at=T0 + timedelta(seconds=5))

    assert store.claim(DEPARTMENT, worker="w2", at=T0 + timedelta(seconds=6), visibility=60) is None
    assert store.ack(claim.token, at=T0 + timedelta(seconds=7))


def test_queued_lists_by_pages_oldest_first(store: DossierStore) -> None:
    made = [received(store, received_at=T0 + timedelta(minutes=n)) for n in (3, 1, 4, 0, 2)]
    oldest_first = sorted(made, key=lambda d: d.received_at)

    pages, cursor = [], None
    while True:
        page = store.queued(DEPARTMENT, cursor=cursor, limit=2)
        pages.append(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert [len(items) for items in pages] == [2, 2, 1]
    assert [d for items in pages for d in items] == oldest_first


# -- the outbox -----------------------------------------------------------------------------


def test_a_dossiers_messages_go_out_one_at_a_time_in_order(store: DossierStore) -> None:
    dossier = received(store)
    move(store, dossier, State.ACCEPTED, at=T0 + timedelta(hours=1))
    later = T0 + timedelta(days=1)
    sent = []

    while due := store.due_messages(at=later, limit=10):
        assert len(due) == 1
        sent.append(due[0])
        store.delivered(due[0].seq, at=later)

    assert [(m.change.kind, m.change.body["state"]) for m in sent] == [
        ("status", "received"),
        ("progress", "received"),
        ("status", "accepted"),
        ("progress", "accepted"),
    ]
    assert [m.seq for m in sent] == sorted(m.seq for m in sent)
    assert len({m.idempotency_key for m in sent}) == 4
    assert all(m.change.dossier_id == dossier.id for m in sent)
    assert all(m.change.ma_ho_so == dossier.ma_ho_so for m in sent)
    assert all(m.status == "pending" and m.attempts == 0 for m in sent)


def test_messages_are_due_from_the_time_of_their_change(store: DossierStore) -> None:
    received(store, received_at=T0)

    assert store.due_messages(at=T0 - timedelta(seconds=1), limit=10) == []
    assert len(store.due_messages(at=T0, limit=10)) == 1


def test_dossiers_do_not_wait_for_each_other(store: DossierStore) -> None:
    first = received(store)
    second = received(store)
    (head, other) = store.due_messages(at=T0, limit=10)
    assert {head.change.dossier_id, other.change.dossier_id} == {first.id, second.id}

    store.failed(head.seq, error="HTTP 503", next_attempt_at=T0 + timedelta(minutes=1))

    due = store.due_messages(at=T0, limit=10)
    assert [m.seq for m in due] == [other.seq]
    assert store.due_messages(at=T0, limit=1) == due


def test_a_failed_message_is_retried_at_its_time_and_holds_back_the_next(
    store: DossierStore,
) -> None:
    received(store)
    (message,) = store.due_messages(at=T0, limit=10)
    retry_at = T0 + timedelta(seconds=40)

    store.failed(message.seq, error="HTTP 503", next_attempt_at=retry_at)

    assert store.due_messages(at=retry_at - timedelta(seconds=1), limit=10) == []
    (again,) = store.due_messages(at=retry_at, limit=10)
    assert (again.seq, again.attempts, again.last_error) == (message.seq, 1, "HTTP 503")
    assert again.next_attempt_at == retry_at


def test_a_dead_message_blocks_its_dossier_until_redriven(store: DossierStore) -> None:
    dossier = received(store)
    (message,) = store.due_messages(at=T0, limit=10)
    later = T0 + timedelta(hours=1)

    store.failed(message.seq, error="error_code 1: sai MaHoSo", next_attempt_at=None)

    assert store.due_messages(at=later, limit=10) == []
    (dead,) = store.dead_letters()
    assert (dead.seq, dead.status, dead.attempts) == (message.seq, "dead", 1)
    assert dead.last_error == "error_code 1: sai MaHoSo"
    assert dead.change == message.change

    assert store.redrive(at=later) == 1

    assert store.dead_letters() == []
    (again,) = store.due_messages(at=later, limit=10)
    assert (again.seq, again.status, again.next_attempt_at) == (message.seq, "pending", later)
    assert again.change.dossier_id == dossier.id


def test_redrive_of_one_message(store: DossierStore) -> None:
    received(store)
    received(store)
    first, second = store.due_messages(at=T0, limit=10)
    store.failed(first.seq, error="x", next_attempt_at=None)
    store.failed(second.seq, error="y", next_attempt_at=None)

    assert store.redrive(seq=second.seq, at=T0) == 1
    assert store.redrive(seq=second.seq, at=T0) == 0  # no longer dead

    assert [m.seq for m in store.dead_letters()] == [first.seq]
    assert [m.seq for m in store.due_messages(at=T0, limit=10)] == [second.seq]


def test_delivery_can_be_paused_for_every_process(dossiers: DossierBackend) -> None:
    other = dossiers.open_another()
    assert not other.delivery_paused()

    dossiers.store.pause_delivery(True)
    assert other.delivery_paused()

    dossiers.store.pause_delivery(False)
    assert not other.delivery_paused()
