"""The SI-record store port: what lookups, the card check, the claim rules, the claim and dossier
flows and the seeding need of the citizens' SI records.

Every change of a citizen's record (person, contributions, cards, a new treatment or benefit)
bumps that citizen's ``version`` and appends a ``Change``: a cache keeps the version it read and
drops an entry whose citizen appears in ``changes(after=...)`` or whose ``version`` moved on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.sirecords.model import (
    Benefit,
    ContributionPeriod,
    HiCard,
    Person,
    SiRecord,
    Treatment,
)

MAX_HISTORY = 100  # the most treatments (and benefits) a record carries, the latest ones


@dataclass(frozen=True)
class HeldCard:
    """A card and the citizen who holds it."""

    citizen_id: str
    card: HiCard


@dataclass(frozen=True)
class ClaimedTreatment:
    """A treatment from an accepted claim, and the citizen ID the claim gave (if any)."""

    citizen_id: str | None
    treatment: Treatment


@dataclass(frozen=True)
class GrantedBenefit:
    """A benefit from a finished dossier, and the citizen it was granted to."""

    citizen_id: str
    benefit: Benefit


@dataclass(frozen=True)
class Change:
    """The citizen's record reached ``version``; ``seq`` orders every change of the store."""

    seq: int
    citizen_id: str
    version: int


class CardRegister(Protocol):
    """Which HI cards exist: what the claim rules check a claim's cards against."""

    def held_card(self, number: str) -> HeldCard | None:
        """The card with this number and its holder, or None if the register has none."""


class SiRecordStore(CardRegister, Protocol):
    """Durable SI records. Every write is one transaction, durable when the call returns."""

    def get(self, citizen_id: str, *, history: int = MAX_HISTORY) -> SiRecord | None:
        """The citizen's record with at most ``history`` latest treatments and benefits."""

    def version(self, citizen_id: str) -> int:
        """The citizen's record version; 0 when there is no record."""

    def upsert(
        self,
        person: Person,
        *,
        contributions: Sequence[ContributionPeriod] | None = None,
        cards: Sequence[HiCard] | None = None,
    ) -> int:
        """Create or update the person; a given list replaces the one held (None keeps it).
        Returns the version, bumped only if something changed. A card number held by another
        citizen, or an SI number of another citizen, is a ``Conflict`` and writes nothing."""

    def record_treatments(self, claimed: Sequence[ClaimedTreatment]) -> int:
        """Add treatments to their citizens' histories in one transaction, each once per
        ``record_id``; a citizen is found by the citizen ID the claim gave, else as the holder
        of its card; one found neither way is skipped. Returns how many were added."""

    def record_benefit(self, granted: GrantedBenefit) -> bool:
        """Add a benefit to the citizen's record, once per ``dossier_id``: False (and no
        change) if it is there already or the citizen has no record."""

    def changes(self, *, after: int = 0, limit: int = 100) -> list[Change]:
        """The changes with ``seq`` above ``after``, oldest first, at most ``limit``."""

    def ping(self) -> None:
        """Raise ``Unavailable`` unless the store answers."""

    def close(self) -> None: ...
