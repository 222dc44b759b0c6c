"""SI records for tests: a citizen with contributions and a card, treatments and benefits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ulid import ULID

from gateway.sirecords.model import (
    Benefit,
    ContributionPeriod,
    HiCard,
    Person,
    Scheme,
    Treatment,
)

CITIZEN = "001190012345"
OTHER_CITIZEN = "079085000321"
CARD = "DN4010123456789"


def person(citizen_id: str = CITIZEN, *, si_number: str | None = None, **how: object) -> Person:
    fields: dict[str, object] = {
        "citizen_id": citizen_id,
        "si_number": si_number or f"01{citizen_id[-8:]}",
        "full_name": "Nguyễn Thị Lan",
        "date_of_birth": "1990-05-17",
        "gender": "female",
    }
    return Person.model_validate(fields | how)


def period(
    from_month: str = "2015-01", to_month: str | None = None, **how: object
) -> ContributionPeriod:
    fields: dict[str, object] = {
        "scheme": Scheme.COMPULSORY,
        "employer_name": "Công ty TNHH Minh Phát",
        "employer_tax_code": "0101234567",
        "unit_code": "TA0001A",
        "from_month": from_month,
        "to_month": to_month,
        "salary_basis": Decimal("8500000"),
    }
    return ContributionPeriod.model_validate(fields | how)


def card(number: str = CARD, *, valid_from: date = date(2025, 1, 1), **how: object) -> HiCard:
    fields: dict[str, object] = {
        "number": number,
        "registered_facility": "01929",
        "valid_from": valid_from,
        "valid_to": date(valid_from.year, 12, 31),
        "benefit_level": int(number[2]),
        "five_year_date": date(2020, 1, 1),
        "area": None,
    }
    return HiCard.model_validate(fields | how)


def treatment(arrived: datetime | None = None, **how: object) -> Treatment:
    arrived = arrived or datetime(2025, 3, 10, 8, 30, tzinfo=UTC)
    fields: dict[str, object] = {
        "record_id": str(ULID()),
        "facility_code": "01929",
        "visit_key": f"01929-{ULID()}",
        "card_number": CARD,
        "arrived_at": arrived,
        "discharged_at": arrived + timedelta(hours=3),
        "diagnosis_code": "J06.9",
        "diagnosis": "Nhiễm trùng đường hô hấp trên cấp",
        "outcome_code": "1",
        "total": Decimal("350000.00"),
        "insurance_paid": Decimal("280000.00"),
        "patient_paid": Decimal("70000.00"),
    }
    return Treatment.model_validate(fields | how)


def benefit(decided_on: date = date(2025, 4, 2), **how: object) -> Benefit:
    fields: dict[str, object] = {
        "dossier_id": str(ULID()),
        "ma_ho_so": "G24-250402-00001",
        "procedure": "BENEFIT_MATERNITY",
        "decided_on": decided_on,
        "amount": None,
    }
    return Benefit.model_validate(fields | how)
