"""The SI records' PostgreSQL store (tables ``si_*``, migration 0004), shared by the gateway
processes of every host.

The writes are functions of a connection in a transaction, as in SQLite, so that the dossier
store records a benefit in the transaction of the move that finishes its dossier
(``write_benefit``, called last in that transaction).

How concurrent writers agree, at READ COMMITTED:

- A record's version is bumped by ``UPDATE ... SET version = version + n``, which holds the
  person's row until commit: writes of one citizen are serialized, and rows are bumped in
  citizen-ID order (no deadlock between two batches of treatments).
- A change's ``seq`` is drawn under a transaction-scoped advisory lock taken last, after every
  row lock, so ``si_changes`` grows in commit order: a cache that has read up to seq N never
  misses a change committed later with a seq below N.
- A treatment or benefit is kept once by its primary key (``ON CONFLICT DO NOTHING``: a second
  writer waits for the first to commit, then finds it there).
- A card or SI number taken by another citizen meanwhile is refused by its unique key: the
  unique violation is the ``Conflict`` the check before it would have raised.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC

import psycopg

from gateway.errors import Conflict
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
from gateway.store.pg_database import Connection, PostgresDatabase

# pg_advisory_xact_lock's key for drawing change numbers ("si chang" in ASCII).
_CHANGES_LOCK = 0x7369_2063_6861_6E67

# One statement, so one snapshot: the person and every list as of the same moment.
_RECORD = """
SELECT p.json, p.version,
    ARRAY(SELECT json FROM si_contributions c WHERE c.citizen_id = p.citizen_id ORDER BY n),
    ARRAY(SELECT json FROM si_cards k WHERE k.citizen_id = p.citizen_id ORDER BY number),
    ARRAY(SELECT json FROM (
        SELECT json, arrived_at, seq FROM si_treatments t WHERE t.citizen_id = p.citizen_id
        ORDER BY arrived_at DESC, seq DESC LIMIT %(history)s) latest ORDER BY arrived_at, seq),
    ARRAY(SELECT json FROM (
        SELECT json, decided_on, seq FROM si_benefits b WHERE b.citizen_id = p.citizen_id
        ORDER BY decided_on DESC, seq DESC LIMIT %(history)s) latest ORDER BY decided_on, seq)
FROM si_people p WHERE p.citizen_id = %(citizen_id)s
"""


def _version(conn: Connection, citizen_id: str) -> int:
    row = conn.execute(
        "SELECT version FROM si_people WHERE citizen_id = %s", (citizen_id,)
    ).fetchone()
    return 0 if row is None else int(row[0])


def _bump(conn: Connection, added: Counter[str]) -> dict[str, int]:
    """Each citizen's version raised by its count of changes, each change written; the new
    versions. Row locks first, in citizen order, then the change numbers' lock."""
    versions: dict[str, int] = {}
    for citizen_id in sorted(added):
        row = conn.execute(
            "UPDATE si_people SET version = version + %s WHERE citizen_id = %s RETURNING version",
            (added[citizen_id], citizen_id),
        ).fetchone()
        assert row is not None  # the caller found the citizen in this transaction
        versions[citizen_id] = int(row[0])
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CHANGES_LOCK,))
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO si_changes (citizen_id, version) VALUES (%s, %s)",
            [
                (citizen_id, version)
                for citizen_id in sorted(added)
                for version in range(
                    versions[citizen_id] - added[citizen_id] + 1, versions[citizen_id] + 1
                )
            ],
        )
    return versions


def _holder(conn: Connection, claimed: ClaimedTreatment) -> str | None:
    if claimed.citizen_id and _version(conn, claimed.citizen_id):
        return claimed.citizen_id
    row = conn.execute(
        "SELECT citizen_id FROM si_cards WHERE number = %s", (claimed.treatment.card_number,)
    ).fetchone()
    return None if row is None else str(row[0])


def write_treatments(conn: Connection, claimed: Sequence[ClaimedTreatment]) -> int:
    """``SiRecordStore.record_treatments`` inside the caller's transaction."""
    added: Counter[str] = Counter()
    # In record order, so that two batches sharing records wait for each other, never deadlock.
    for item in sorted(claimed, key=lambda c: c.treatment.record_id):
        citizen_id = _holder(conn, item)
        if citizen_id is None:
            continue
        treatment = item.treatment
        if conn.execute(
            "INSERT INTO si_treatments (record_id, citizen_id, arrived_at, json) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (
                treatment.record_id,
                citizen_id,
                treatment.arrived_at.astimezone(UTC),
                sirecord_rows.as_json(treatment),
            ),
        ).fetchone():
            added[citizen_id] += 1
    if added:
        _bump(conn, added)
    return sum(added.values())


def write_benefit(conn: Connection, granted: GrantedBenefit) -> bool:
    """``SiRecordStore.record_benefit`` inside the caller's transaction (the dossier store's,
    for the move that finishes the dossier: call it last there, as it takes the change lock)."""
    benefit = granted.benefit
    if not _version(conn, granted.citizen_id):
        return False
    added = conn.execute(
        "INSERT INTO si_benefits (dossier_id, citizen_id, decided_on, json) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (
            benefit.dossier_id,
            granted.citizen_id,
            benefit.decided_on,
            sirecord_rows.as_json(benefit),
        ),
    ).fetchone()
    if added:
        _bump(conn, Counter({granted.citizen_id: 1}))
    return added is not None


@contextmanager
def _unique_is_conflict() -> Iterator[None]:
    """A unique key another writer took between the check and the write: the same refusal."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("a card or SI number is another citizen's") from exc


class PostgresSiRecordStore(PostgresDatabase):
    """Each write one transaction on a pooled connection; a record read by one statement."""

    def __init__(self, url: str, *, require_durable: bool = True) -> None:
        super().__init__(url, name="si-records", require_durable=require_durable)

    def get(self, citizen_id: str, *, history: int = MAX_HISTORY) -> SiRecord | None:
        with self._conn() as conn:
            row = conn.execute(
                _RECORD, {"citizen_id": citizen_id, "history": max(0, history)}
            ).fetchone()
        if row is None:
            return None
        person, version, contributions, cards, treatments, benefits = row
        return sirecord_rows.si_record(
            person,
            version,
            contributions=contributions,
            cards=cards,
            treatments=treatments,
            benefits=benefits,
        )

    def held_card(self, number: str) -> HeldCard | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT citizen_id, json FROM si_cards WHERE number = %s", (number,)
            ).fetchone()
        return sirecord_rows.held_card(row)

    def version(self, citizen_id: str) -> int:
        with self._conn() as conn:
            return _version(conn, citizen_id)

    def upsert(
        self,
        person: Person,
        *,
        contributions: Sequence[ContributionPeriod] | None = None,
        cards: Sequence[HiCard] | None = None,
    ) -> int:
        cid = person.citizen_id
        with _unique_is_conflict(), self._writing() as conn:
            other = conn.execute(
                "SELECT 1 FROM si_people WHERE si_number = %s AND citizen_id != %s",
                (person.si_number, cid),
            ).fetchone()
            if other is not None:
                raise sirecord_rows.si_number_taken(person)
            # The person's row, new or held, is locked until commit from here on.
            changed = (
                conn.execute(
                    "INSERT INTO si_people (citizen_id, si_number, json, version) "
                    "VALUES (%s, %s, %s, 0) ON CONFLICT (citizen_id) DO NOTHING RETURNING 1",
                    (cid, person.si_number, sirecord_rows.as_json(person)),
                ).fetchone()
                is not None
            )
            if not changed:
                held = conn.execute(
                    "SELECT json FROM si_people WHERE citizen_id = %s FOR UPDATE", (cid,)
                ).fetchone()
                assert held is not None  # people are never deleted
                if Person.model_validate_json(held[0]) != person:
                    changed = True
                    conn.execute(
                        "UPDATE si_people SET si_number = %s, json = %s WHERE citizen_id = %s",
                        (person.si_number, sirecord_rows.as_json(person), cid),
                    )
            if contributions is not None:
                changed |= _replace_contributions(conn, cid, contributions)
            if cards is not None:
                changed |= _replace_cards(conn, cid, cards)
            if changed:
                return _bump(conn, Counter({cid: 1}))[cid]
            return _version(conn, cid)

    def record_treatments(self, claimed: Sequence[ClaimedTreatment]) -> int:
        if not claimed:
            return 0
        with self._writing() as conn:
            return write_treatments(conn, claimed)

    def record_benefit(self, granted: GrantedBenefit) -> bool:
        with self._writing() as conn:
            return write_benefit(conn, granted)

    def changes(self, *, after: int = 0, limit: int = 100) -> list[Change]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT seq, citizen_id, version FROM si_changes WHERE seq > %s ORDER BY seq "
                "LIMIT %s",
                (after, sirecord_rows.changes_limit(limit)),
            ).fetchall()
        return sirecord_rows.changes(rows)


def _items(conn: Connection, sql: str, cid: str) -> list[bytes]:
    return [bytes(row[0]) for row in conn.execute(sql, (cid,)).fetchall()]


def _replace_contributions(
    conn: Connection, cid: str, periods: Sequence[ContributionPeriod]
) -> bool:
    held = _items(conn, "SELECT json FROM si_contributions WHERE citizen_id = %s ORDER BY n", cid)
    if sirecord_rows.same_contributions(held, periods):
        return False
    conn.execute("DELETE FROM si_contributions WHERE citizen_id = %s", (cid,))
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO si_contributions (citizen_id, n, json) VALUES (%s, %s, %s)",
            [(cid, n, sirecord_rows.as_json(p)) for n, p in enumerate(periods, 1)],
        )
    return True


def _replace_cards(conn: Connection, cid: str, cards: Sequence[HiCard]) -> bool:
    numbers = sirecord_rows.card_numbers(cards)
    taken = conn.execute(
        "SELECT number FROM si_cards WHERE number = ANY(%s) AND citizen_id != %s ORDER BY number",
        (numbers, cid),
    ).fetchone()
    if taken is not None:
        number = str(taken[0])
        raise sirecord_rows.card_taken(number)
    held = _items(conn, "SELECT json FROM si_cards WHERE citizen_id = %s", cid)
    if sirecord_rows.same_cards(held, cards):
        return False
    conn.execute("DELETE FROM si_cards WHERE citizen_id = %s", (cid,))
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO si_cards (number, citizen_id, json) VALUES (%s, %s, %s)",
            [(card.number, cid, sirecord_rows.as_json(card)) for card in cards],
        )
    return True
