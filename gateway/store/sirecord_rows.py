"""What the SQL SI record stores (SQLite, PostgreSQL) share: a record read back from its rows'
JSON, the checks of a write's lists against those held, the refusals of numbers another
citizen holds, and the card checks' log rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from gateway.errors import Conflict
from gateway.sirecords.checks import CardCheckEntry
from gateway.sirecords.model import Benefit, ContributionPeriod, HiCard, Person, SiRecord, Treatment
from gateway.sirecords.ports import Change, HeldCard

MAX_CHANGES = 1000  # the most changes one call returns


def as_json(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def si_record(
    person: bytes,
    version: int,
    *,
    contributions: Iterable[bytes],
    cards: Iterable[bytes],
    treatments: Iterable[bytes],
    benefits: Iterable[bytes],
) -> SiRecord:
    """A record from its rows' JSON, each list in its stored order but the cards (by validity)."""
    return SiRecord(
        person=Person.model_validate_json(person),
        contributions=tuple(ContributionPeriod.model_validate_json(j) for j in contributions),
        cards=tuple(
            sorted(
                (HiCard.model_validate_json(j) for j in cards),
                key=lambda card: (card.valid_from, card.number),
            )
        ),
        treatments=tuple(Treatment.model_validate_json(j) for j in treatments),
        benefits=tuple(Benefit.model_validate_json(j) for j in benefits),
        version=int(version),
    )


def held_card(row: tuple[Any, ...] | None) -> HeldCard | None:
    """A card from a row of (citizen_id, json)."""
    return None if row is None else HeldCard(row[0], HiCard.model_validate_json(row[1]))


def changes_limit(limit: int) -> int:
    return max(1, min(limit, MAX_CHANGES))


def changes(found: Iterable[tuple[Any, ...]]) -> list[Change]:
    """Changes from rows of (seq, citizen_id, version)."""
    return [Change(int(r[0]), r[1], int(r[2])) for r in found]


def same_contributions(held: Iterable[bytes], periods: Sequence[ContributionPeriod]) -> bool:
    return [ContributionPeriod.model_validate_json(j) for j in held] == list(periods)


def same_cards(held: Iterable[bytes], cards: Sequence[HiCard]) -> bool:
    return {HiCard.model_validate_json(j) for j in held} == set(cards)


def card_numbers(cards: Sequence[HiCard]) -> list[str]:
    """The cards' numbers; ``Conflict`` if one is given twice."""
    numbers = [card.number for card in cards]
    if len(set(numbers)) != len(numbers):
        raise Conflict("the same card number is given twice")
    return numbers


def card_taken(number: str) -> Conflict:
    """The refusal of a card another citizen holds (its number masked)."""
    return Conflict(f"card {number[:3]}…{number[-4:]} is another citizen's")


def si_number_taken(person: Person) -> Conflict:
    """The refusal of an SI number another citizen holds (masked)."""
    return Conflict(f"SI number …{person.si_number[-4:]} is another citizen's")


CARD_CHECK_COLUMNS = "at, partner_id, facility, account, card, staff_name, staff_id, code"


def card_check_row(card_key: str, entry: CardCheckEntry, at: Any) -> tuple[Any, ...]:
    """The values of ``si_card_checks``'s ``card_key`` and ``CARD_CHECK_COLUMNS``, with ``at``
    the entry's time as the store writes it."""
    return (
        card_key,
        at,
        entry.partner,
        entry.facility,
        entry.account,
        entry.card,
        entry.staff_name,
        entry.staff_id,
        entry.code,
    )


def card_check_entry(row: Sequence[Any]) -> CardCheckEntry:
    """An entry from a row of ``CARD_CHECK_COLUMNS``, its time as SQLite returns it (RFC 3339
    text) or PostgreSQL does (a datetime, read back in UTC)."""
    at, *rest = row
    when = at.astimezone(UTC) if isinstance(at, datetime) else datetime.fromisoformat(at)
    return CardCheckEntry(when, *rest)
