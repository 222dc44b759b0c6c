"""Dossiers for tests, as the service stores them: new ones, their documents and their moves."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from ulid import ULID

from gateway.dossiers.changes import changes
from gateway.dossiers.lifecycle import DECIDED, Actor, State
from gateway.dossiers.ports import (
    Applicant,
    Dossier,
    DossierStore,
    HistoryEntry,
    NewDocuments,
    NewDossier,
)
from gateway.store.ports import StoredReceipt

PORTAL = "portal-dvcqg"
OTHER_PORTAL = "ivan-00040"
DEPARTMENT = "benefits"
OTHER_DEPARTMENT = "collection"
# Monday 2 March 2026, 09:00 in Vietnam.
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DUE = date(2026, 3, 16)


def receipt(original: bytes, *, partner_id: str = PORTAL, kind: str = "dossier") -> StoredReceipt:
    receipt_id = str(ULID())
    digest = hashlib.sha256(original).hexdigest()
    body = {"id": receipt_id, "sha256": digest, "status": "received", "kind": kind}
    return StoredReceipt(
        id=receipt_id,
        partner_id=partner_id,
        sha256=digest,
        accepted=True,
        json=json.dumps(body).encode(),
        xml=f'<Receipt xmlns="urn:vss:gateway" Id="{receipt_id}"><Ok/></Receipt>'.encode(),
    )


def new_dossier(
    *,
    partner_id: str = PORTAL,
    ma_ho_so: str | None = None,
    original: bytes | None = None,
    department: str = DEPARTMENT,
    received_at: datetime = T0,
    due_date: date = DUE,
) -> NewDossier:
    """A dossier just received, with its first history entry and its two outbox messages."""
    dossier_id = str(ULID())
    code = ma_ho_so or f"000.00.00.H01-260302-{int(ULID()) % 100000:05d}-{dossier_id[-6:]}"
    body = original or f"<Hoso><MaHoSo>{code}</MaHoSo><Id>{dossier_id}</Id></Hoso>".encode()
    stored = receipt(body, partner_id=partner_id)
    entry = HistoryEntry(State.RECEIVED, received_at, "gateway", "gateway", due_date=due_date)
    dossier = Dossier(
        id=dossier_id,
        partner_id=partner_id,
        ma_ho_so=code,
        ma_tthc="1.000123",
        procedure="benefit-sickness",
        department=department,
        state=State.RECEIVED,
        received_at=received_at,
        due_date=due_date,
        receipt_id=stored.id,
        record_id=str(ULID()),
        applicant=Applicant("citizen", "001090012345", "Nguyễn Thị Hoa"),
        version=1,
        history=(entry,),
    )
    record = {"id": dossier.record_id, "kind": "dossier", "dossier_id": dossier_id}
    return NewDossier(
        dossier=dossier,
        receipt=stored,
        record_json=json.dumps(record, ensure_ascii=False).encode(),
        original=body,
        changes=changes(None, dossier, entry),
    )


def new_documents(dossier: Dossier, original: bytes | None = None) -> NewDocuments:
    body = original or f"<Hoso><Bosung>{ULID()}</Bosung></Hoso>".encode()
    record_id = str(ULID())
    record = {"id": record_id, "kind": "documents", "dossier_id": dossier.id}
    return NewDocuments(
        receipt=receipt(body, partner_id=dossier.partner_id, kind="documents"),
        record_id=record_id,
        record_json=json.dumps(record).encode(),
        original=body,
    )


def step(
    dossier: Dossier,
    to: State,
    *,
    at: datetime,
    actor: Actor = "department",
    by: str = DEPARTMENT,
    documents: tuple[str, ...] = (),
    due_date: date | None = None,
    supplement_due: date | None = None,
    **entry: Any,
) -> tuple[HistoryEntry, dict[str, Any]]:
    """The history entry of a move and the keyword arguments ``DossierStore.move`` takes for
    it (its outbox messages as the service computes them)."""
    made = HistoryEntry(to, at, actor, by, documents=documents, due_date=due_date, **entry)
    after = replace(
        dossier,
        state=to,
        due_date=due_date or dossier.due_date,
        requested_documents=documents,
        supplement_due=supplement_due,
        finished_at=dossier.finished_at or (at if to in DECIDED else None),
        version=dossier.version + 1,
        history=(*dossier.history, made),
    )
    return made, {
        "version": dossier.version,
        "changes": changes(dossier, after, made),
        "requested_documents": documents,
        "supplement_due": supplement_due,
    }


def move(store: DossierStore, dossier: Dossier, to: State, **how: Any) -> Dossier:
    """``dossier`` moved to ``to`` through ``store``, as decided on its current version."""
    entry, arguments = step(dossier, to, **how)
    return store.move(dossier.id, entry, **arguments)
