"""What a VNeID lookup answers of a citizen's SI record (SPEC section 4): the SI book and the HI
card as VNeID shows them, and nothing more.

Data minimisation (reference/IDENTITY.md sections 2.4, 3.2 and 6.3): VNeID integrates "the SI
number, the participation process and the HI card" into the citizen's wallet and holds the
person's name, birth date and gender itself (the population database's, section 2.1), so the
answer carries none of them, nor the citizen ID the caller sent. Treatments are health data, a
*sensitive* category: each keeps where and when, the ICD-10 code and what the fund paid, not the
hospital's free text (diagnosis wording, reasons), which can hold anything, nor the claim's
identifiers (record id, MA_LK) or which card paid. Benefits keep what was granted, when, and the
amount; employers keep their name, not their tax code or VSS unit code.
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.sirecords.model import (
    CardNumber,
    FacilityCode,
    Month,
    Scheme,
    SiNumber,
    SiRecord,
    Vnd,
)


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


A = TypeVar("A", bound=_Answer)


def picked(kind: type[A], item: BaseModel) -> A:
    """The fields of ``kind`` taken from ``item``, the rest of it left out."""
    return kind.model_validate({name: getattr(item, name) for name in kind.model_fields})


class ContributionAnswer(_Answer):
    """Months contributed at one salary basis (quá trình đóng)."""

    scheme: Scheme
    employer_name: str | None = Field(description="none for the voluntary scheme")
    from_month: Month
    to_month: Month | None = Field(description="none while ongoing")
    salary_basis: Vnd = Field(description="monthly salary (or chosen income), VND")


class CardAnswer(_Answer):
    """One HI card: its number, validity and registered facility."""

    number: CardNumber = Field(description="mã thẻ BHYT")
    valid_from: date
    valid_to: date
    registered_facility: FacilityCode = Field(description="nơi đăng ký KCB ban đầu (MA_DKBD)")
    benefit_level: int = Field(ge=1, le=5)
    five_year_date: date | None = Field(description="ngày đủ 5 năm liên tục")


class TreatmentAnswer(_Answer):
    """One visit paid under the citizen's HI card."""

    facility_code: FacilityCode = Field(description="MA_CSKCB")
    arrived_at: AwareDatetime
    discharged_at: AwareDatetime | None
    diagnosis_code: str | None = Field(description="ICD-10 of the main diagnosis")
    total: Vnd | None = Field(description="the visit's cost, VND")
    insurance_paid: Vnd | None = Field(description="what the HI fund paid, VND")


class BenefitAnswer(_Answer):
    """A benefit granted by a finished dossier."""

    procedure: str = Field(description="e.g. BENEFIT_MATERNITY")
    decided_on: date
    amount: Vnd | None = Field(description="when the decision states it, VND")


class SiRecordAnswer(_Answer):
    """The citizen's SI record as VNeID reads it."""

    si_number: SiNumber = Field(description="mã số BHXH")
    contributions: list[ContributionAnswer] = Field(description="oldest first")
    cards: list[CardAnswer] = Field(description="by start of validity")
    treatments: list[TreatmentAnswer] = Field(description="the latest 100, oldest first")
    benefits: list[BenefitAnswer] = Field(description="oldest first")


def answer_of(record: SiRecord) -> SiRecordAnswer:
    """The answer of ``record``: each item with its answer's fields only."""

    return SiRecordAnswer(
        si_number=record.person.si_number,
        contributions=[picked(ContributionAnswer, p) for p in record.contributions],
        cards=[picked(CardAnswer, c) for c in record.cards],
        treatments=[picked(TreatmentAnswer, t) for t in record.treatments],
        benefits=[picked(BenefitAnswer, b) for b in record.benefits],
    )
