"""The SI records' SQLite store (tables ``si_*``), in the dossiers' database file.

Each list item is kept as its model's JSON beside the columns it is found or ordered by. The
writes are functions of a connection in a transaction, so that the dossier store records a
benefit in the same transaction as the move that finishes its dossier (``write_benefit``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from gateway.sirecords.model import (
    ContributionPeriod,
    HiCard,
    Person,
    SiRecord,
)
from gateway.sirecords.ports import (
    MAX_HISTORY,
    Change,
    ClaimedTreatment,
    GrantedBenefit,
    HeldCard,
)
from gateway.store import sirecord_rows
from gateway.store.sqlite import SqliteDatabase, snapshot

SCHEMA = """
CREATE TABLE IF NOT EXISTS si_people (
    citizen_id TEXT PRIMARY KEY,
    si_number TEXT NOT NULL UNIQUE,
    json BLOB NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS si_contributions (
    citizen_id TEXT NOT NULL REFERENCES si_people (citizen_id),
    n INTEGER NOT NULL,
    json BLOB NOT NULL,
    PRIMARY KEY (citizen_id, n)
);
CREATE TABLE IF NOT EXISTS si_cards (
    number TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL REFERENCES si_people (citizen_id),
    json BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS si_cards_by_citizen ON si_cards (citizen_id);
CREATE TABLE IF NOT EXISTS si_treatments (
    record_id TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL REFERENCES si_people (citizen_id),
    arrived_at TEXT NOT NULL,
    json BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS si_treatments_by_citizen ON si_treatments (citizen_id, arrived_at);
CREATE TABLE IF NOT EXISTS si_benefits (
    dossier_id TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL REFERENCES si_people (citizen_id),
    decided_on TEXT NOT NULL,
    json BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS si_benefits_by_citizen ON si_benefits (citizen_id, decided_on);
CREATE TABLE IF NOT EXISTS si_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    citizen_id TEXT NOT NULL,
    version INTEGER NOT NULL
);
"""


def _version(db: sqlite3.Connection, citizen_id: str) -> int:
    row = db.execute("SELECT version FROM si_people WHERE citizen_id = ?", (citizen_id,))
    found = row.fetchone()
    return 0 if found is None else int(found[0])


def _bump(db: sqlite3.Connection, citizen_id: str) -> int:
    """The citizen's next version, written with its change."""
    version = _version(db, citizen_id) + 1
    db.execute("UPDATE si_people SET version = ? WHERE citizen_id = ?", (version, citizen_id))
    db.execute("INSERT INTO si_changes (citizen_id, version) VALUES (?, ?)", (citizen_id, version))
    return version


def _holder(db: sqlite3.Connection, claimed: ClaimedTreatment) -> str | None:
    if claimed.citizen_id and _version(db, claimed.citizen_id):
        return claimed.citizen_id
    number = claimed.treatment.card_number
    row = db.execute("SELECT citizen_id FROM si_cards WHERE number = ?", (number,)).fetchone()
    return None if row is None else str(row[0])


def write_treatments(db: sqlite3.Connection, claimed: Sequence[ClaimedTreatment]) -> int:
    """``SiRecordStore.record_treatments`` inside the caller's write transaction."""
    added = 0
    for item in claimed:
        citizen_id = _holder(db, item)
        if citizen_id is None:
            continue
        treatment = item.treatment
        arrived = treatment.arrived_at.astimezone(UTC).isoformat()
        if db.execute(
            "INSERT OR IGNORE INTO si_treatments (record_id, citizen_id, arrived_at, json) "
            "VALUES (?, ?, ?, ?)",
            (treatment.record_id, citizen_id, arrived, sirecord_rows.as_json(treatment)),
        ).rowcount:
            _bump(db, citizen_id)
            added += 1
    return added


def write_benefit(db: sqlite3.Connection, granted: GrantedBenefit) -> bool:
    """``SiRecordStore.record_benefit`` inside the caller's write transaction (the dossier
    store's, for the move that finishes the dossier)."""
    benefit = granted.benefit
    if not _version(db, granted.citizen_id):
        return False
    added = db.execute(
        "INSERT OR IGNORE INTO si_benefits (dossier_id, citizen_id, decided_on, json) "
        "VALUES (?, ?, ?, ?)",
        (
            benefit.dossier_id,
            granted.citizen_id,
            benefit.decided_on.isoformat(),
            sirecord_rows.as_json(benefit),
        ),
    ).rowcount
    if added:
        _bump(db, granted.citizen_id)
    return bool(added)


def _latest(db: sqlite3.Connection, table: str, order: str, citizen_id: str, n: int) -> list[bytes]:
    rows = db.execute(
        f"SELECT json FROM (SELECT json, {order} AS k, rowid AS r FROM {table} "  # noqa: S608
        "WHERE citizen_id = ? ORDER BY k DESC, r DESC LIMIT ?) ORDER BY k, r",
        (citizen_id, max(0, n)),
    ).fetchall()
    return [bytes(row[0]) for row in rows]


def _items(db: sqlite3.Connection, sql: str, citizen_id: str) -> list[bytes]:
    return [bytes(row[0]) for row in db.execute(sql, (citizen_id,)).fetchall()]


class SqliteSiRecordStore(SqliteDatabase):
    """Writes through one connection, serialized by a lock, each one ``BEGIN IMMEDIATE``
    transaction; reads from pooled connections, a record's lists from one snapshot
    (``SqliteDatabase``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def get(self, citizen_id: str, *, history: int = MAX_HISTORY) -> SiRecord | None:
        with self._reading() as db, snapshot(db):
            row = db.execute(
                "SELECT json, version FROM si_people WHERE citizen_id = ?", (citizen_id,)
            ).fetchone()
            if row is None:
                return None
            contributions = _items(
                db, "SELECT json FROM si_contributions WHERE citizen_id = ? ORDER BY n", citizen_id
            )
            cards = _items(
                db, "SELECT json FROM si_cards WHERE citizen_id = ? ORDER BY number", citizen_id
            )
            treatments = _latest(db, "si_treatments", "arrived_at", citizen_id, history)
            benefits = _latest(db, "si_benefits", "decided_on", citizen_id, history)
        return sirecord_rows.si_record(
            row[0],
            row[1],
            contributions=contributions,
            cards=cards,
            treatments=treatments,
            benefits=benefits,
        )

    def held_card(self, number: str) -> HeldCard | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT citizen_id, json FROM si_cards WHERE number = ?", (number,)
            ).fetchone()
        return sirecord_rows.held_card(row)

    def version(self, citizen_id: str) -> int:
        with self._reading() as db:
            return _version(db, citizen_id)

    def upsert(
        self,
        person: Person,
        *,
        contributions: Sequence[ContributionPeriod] | None = None,
        cards: Sequence[HiCard] | None = None,
    ) -> int:
        cid = person.citizen_id
        with self._writing() as db:
            other = db.execute(
                "SELECT citizen_id FROM si_people WHERE si_number = ? AND citizen_id != ?",
                (person.si_number, cid),
            ).fetchone()
            if other is not None:
                raise sirecord_rows.si_number_taken(person)
            held = db.execute("SELECT json FROM si_people WHERE citizen_id = ?", (cid,)).fetchone()
            changed = held is None or Person.model_validate_json(held[0]) != person
            if held is None:
                db.execute(
                    "INSERT INTO si_people (citizen_id, si_number, json, version) "
                    "VALUES (?, ?, ?, 0)",
                    (cid, person.si_number, sirecord_rows.as_json(person)),
                )
            elif changed:
                db.execute(
                    "UPDATE si_people SET si_number = ?, json = ? WHERE citizen_id = ?",
                    (person.si_number, sirecord_rows.as_json(person), cid),
                )
            if contributions is not None:
                changed |= self._replace_contributions(db, cid, contributions)
            if cards is not None:
                changed |= self._replace_cards(db, cid, cards)
            return _bump(db, cid) if changed else _version(db, cid)

    @staticmethod
    def _replace_contributions(
        db: sqlite3.Connection, cid: str, periods: Sequence[ContributionPeriod]
    ) -> bool:
        held = _items(db, "SELECT json FROM si_contributions WHERE citizen_id = ? ORDER BY n", cid)
        if sirecord_rows.same_contributions(held, periods):
            return False
        db.execute("DELETE FROM si_contributions WHERE citizen_id = ?", (cid,))
        db.executemany(
            "INSERT INTO si_contributions (citizen_id, n, json) VALUES (?, ?, ?)",
            [(cid, n, sirecord_rows.as_json(p)) for n, p in enumerate(periods, 1)],
        )
        return True

    @staticmethod
    def _replace_cards(db: sqlite3.Connection, cid: str, cards: Sequence[HiCard]) -> bool:
        numbers = sirecord_rows.card_numbers(cards)
        for number in numbers:
            row = db.execute("SELECT citizen_id FROM si_cards WHERE number = ?", (number,))
            holder = row.fetchone()
            if holder is not None and holder[0] != cid:
                raise sirecord_rows.card_taken(number)
        held = _items(db, "SELECT json FROM si_cards WHERE citizen_id = ?", cid)
        if sirecord_rows.same_cards(held, cards):
            return False
        db.execute("DELETE FROM si_cards WHERE citizen_id = ?", (cid,))
        db.executemany(
            "INSERT INTO si_cards (number, citizen_id, json) VALUES (?, ?, ?)",
            [(card.number, cid, sirecord_rows.as_json(card)) for card in cards],
        )
        return True

    def record_treatments(self, claimed: Sequence[ClaimedTreatment]) -> int:
        if not claimed:
            return 0
        with self._writing() as db:
            return write_treatments(db, claimed)

    def record_benefit(self, granted: GrantedBenefit) -> bool:
        with self._writing() as db:
            return write_benefit(db, granted)

    def changes(self, *, after: int = 0, limit: int = 100) -> list[Change]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT seq, citizen_id, version FROM si_changes WHERE seq > ? ORDER BY seq "
                "LIMIT ?",
                (after, sirecord_rows.changes_limit(limit)),
            ).fetchall()
        return sirecord_rows.changes(rows)
