"""A QĐ 130 claim record as a treatment of the SI record: the visit's facility, stay, diagnosis,
outcome and amounts (XML1), and who it is of (SO_CCCD, else the first card's holder)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from gateway.records.model import CommonRecord
from gateway.sirecords.model import CARD_NUMBER, MAX_TEXT, Treatment
from gateway.sirecords.ports import ClaimedTreatment


def _amount(totals: dict[str, Any], *names: str) -> Decimal | None:
    found = [Decimal(str(totals[n])) for n in names if totals.get(n) is not None]
    return sum(found, Decimal(0)) if found else None


def _text(value: str | None) -> str | None:
    # XML1's texts are unbounded ("n"); the record keeps what a history line shows.
    return None if value is None else value[:MAX_TEXT]


def _card(cards: list[dict[str, Any]]) -> str | None:
    """The first card sent, if it is a card number at all (the XSD lets any text through)."""
    number = cards[0].get("number") if cards else None
    return number if number and re.fullmatch(CARD_NUMBER, number) else None


def claimed_treatment(record: CommonRecord) -> ClaimedTreatment | None:
    """The treatment of a ``hi_claim`` record; None for other kinds."""
    if record.kind != "hi_claim":
        return None
    payload = record.payload
    visit, totals = payload.get("visit", {}), payload.get("totals", {})
    diagnoses = payload.get("diagnoses", {})
    cards = payload.get("cards", [])
    treatment = Treatment(
        record_id=record.id,
        facility_code=visit["facility_code"],
        visit_key=visit["visit_key"],
        card_number=_card(cards),
        arrived_at=visit["arrived_at"],
        discharged_at=visit.get("discharged_at"),
        diagnosis_code=diagnoses.get("main_icd10"),
        diagnosis=_text(diagnoses.get("discharge_text")),
        outcome_code=visit.get("outcome_code"),
        reason=_text(visit.get("visit_reason")),
        total=_amount(totals, "total_at_hospital_prices"),
        insurance_paid=_amount(totals, "insurance_payment"),
        patient_paid=_amount(totals, "patient_copayment", "patient_self_pay"),
    )
    return ClaimedTreatment(record.subject.citizen_id, treatment)
