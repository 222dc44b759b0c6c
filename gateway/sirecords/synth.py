"""Synthetic SI records for seeding (``gateway seed si-records``, the demo): the same ``count``,
``seed`` and ``today`` always give the same citizens, contributions and cards."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.records.model import Gender
from gateway.sirecords.model import ContributionPeriod, HiCard, Person, Scheme

MAX_COUNT = 100_000  # citizen-ID serials 900000..999999: apart from the demo's own citizens

# (citizen-ID province prefix, HI-card province code, a registered facility there)
_PROVINCES = (("001", "01", "01929"), ("079", "79", "79001"), ("048", "48", "48001"))
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi")
_GIVEN: dict[Gender, tuple[str, ...]] = {
    "male": ("Văn An", "Minh Khoa", "Quốc Huy", "Đức Long"),
    "female": ("Thị Lan", "Thu Hà", "Ngọc Anh", "Thị Mai"),
}
_EMPLOYERS = (
    ("Công ty TNHH Minh Phát", "0101234567", "TA0001A"),
    ("Công ty Cổ phần Sông Hồng", "0100100079", "TA0002B"),
    ("Công ty TNHH Phương Nam", "0301234568", "YN0003C"),
)


@dataclass(frozen=True)
class SeedRecord:
    """What seeding upserts for one citizen."""

    person: Person
    contributions: tuple[ContributionPeriod, ...]
    cards: tuple[HiCard, ...]


def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def synthetic_record(rng: random.Random, serial: int, *, today: date) -> SeedRecord:
    """One citizen, contributing since a random month, holding one card valid this year."""
    prefix, province, facility = rng.choice(_PROVINCES)
    gender: Gender = rng.choice(("male", "female"))
    born = rng.randint(1960, 2003)
    century = 0 if born < 2000 else 2
    person = Person(
        citizen_id=f"{prefix}{century + (gender == 'female')}{born % 100:02d}{serial:06d}",
        si_number=f"9{serial:09d}",
        full_name=f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN[gender])}".upper(),
        date_of_birth=date(born, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
        gender=gender,
    )
    start = max(born + 18, today.year - 20)
    periods: list[ContributionPeriod] = []
    year = start
    for _ in range(rng.randint(1, 3)):
        if year > today.year - 1:
            break
        name, tax, unit = rng.choice(_EMPLOYERS)
        end = min(year + rng.randint(1, 6), today.year - 1)
        periods.append(
            ContributionPeriod(
                scheme=Scheme.COMPULSORY,
                employer_name=name,
                employer_tax_code=tax,
                unit_code=unit,
                from_month=_month(year, 1),
                to_month=_month(end, 12),
                salary_basis=Decimal(rng.randint(500, 3000) * 10_000),
            )
        )
        year = end + 1
    group, level = rng.choice((("DN", 4), ("GD", 4), ("HN", 2), ("HT", 3)))
    five_years = date(start + 5, 1, 1) if periods and start + 5 <= today.year else None
    card = HiCard(
        number=f"{group}{level}{province}{rng.randrange(10**10):010d}",
        registered_facility=facility,
        valid_from=date(today.year, 1, 1),
        valid_to=date(today.year, 12, 31),
        benefit_level=level,
        five_year_date=five_years,
    )
    return SeedRecord(person, tuple(periods), (card,))


def synthetic_records(count: int, *, seed: int = 0, today: date) -> Iterator[SeedRecord]:
    """``count`` (at most ``MAX_COUNT``) synthetic citizens, the same for the same arguments."""
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"count {count} is not between 0 and {MAX_COUNT}")
    rng = random.Random(f"si-records-{seed}")  # noqa: S311 - synthetic data, not security
    for n in range(count):
        yield synthetic_record(rng, 900_000 + n, today=today)
