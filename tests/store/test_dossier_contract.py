"""The DossierStore contract: dossiers, history, documents, queue, outbox; run on every store."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from gateway.dossiers.lifecycle import State
from gateway.dossiers.ports import Dossier, DossierStore
from gateway.errors import Conflict, NotFound
from tests.support.dossiers import (
    DEPARTMENT,
    OTHER_PORTAL,
    PORTAL,
    T0,
    move,
    new_documents,
    new_dossier,
    step,
)

if TYPE_CHECKING:
    from tests.store.conftest import DossierBackend


@pytest.fixture
def store(dossiers: DossierBackend) -> DossierStore:
    return dossiers.store


def received(store: DossierStore, **how: object) -> Dossier:
    return store.create(new_dossier(**how))  # type: ignore[arg-type]


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
    dossier = move(store, received(store), State.ACCEPTED, at=T0 + timedelta(hours=1))
    dossier = move(store, dossier, State.PROCESSING, at=T0 + timedelta(hours=2))
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
    dossier = move(store, received(store), State.ACCEPTED, at=T0 + timedelta(hours=1))
    dossier = move(store, dossier, State.PROCESSING, at=T0 + timedelta(hours=2))
    assert dossier.finished_at is None

    finished = move(store, dossier, State.FINISHED, at=T0 + timedelta(days=3))
    delivered = move(store, finished, State.RESULT_DELIVERED, at=T0 + timedelta(days=4))

    assert finished.finished_at == T0 + timedelta(days=3)
    assert delivered.finished_at == T0 + timedelta(days=3)


# -- additional documents -------------------------------------------------------------------


def test_documents_are_kept_with_their_move(store: DossierStore) -> None:
    dossier = move(store, received(store), State.ACCEPTED, at=T0 + timedelta(hours=1))
    dossier = move(store, dossier, State.PROCESSING, at=T0 + timedelta(hours=2))
    dossier = move(
        store,
        dossier,
        State.SUPPLEMENT_REQUESTED,
        at=T0 + timedelta(days=1),
        documents=("Giấy ra viện",),
        supplement_due=dossier.due_date,
    )
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
