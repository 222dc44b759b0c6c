"""Per-record fraud and abuse signals of a QĐ 130 visit: the record is accepted but flagged.

Read from the normalized payload alone (``visit.normalize_visit``). What cannot be true of a
correct claim is a rule (``adapters.hospital.rules``); what is possible but worth an assessor's
look is a signal here. Signals that need other records (a resent MA_LK, overlapping stays, many
facilities in a day) belong to ``adapters.hospital.history``. Codes are stable and listed in
``docs/qd130-rules.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from gateway.records.model import Signal

OUTSIDE_STAY = "OUTSIDE_STAY"
QUANTITY_CEILING = "QUANTITY_CEILING"

# Signal code → what it means (the signals table of docs/qd130-rules.md).
SIGNALS: dict[str, str] = {
    OUTSIDE_STAY: "a drug, service or clinical note is dated before NGAY_VAO or after NGAY_RA",
    QUANTITY_CEILING: "a drug line's SO_LUONG per day of stay is above the configured ceiling",
}

# (payload section, table, date-time fields that must fall in the stay). Results (NGAY_KQ) are
# left out: the decision lets a result come after discharge (QD130.md B XML3 39, XML4 10).
_DATED = (
    ("drugs", "XML2", (("ordered_at", "NGAY_YL"), ("performed_at", "NGAY_TH_YL"))),
    ("services", "XML3", (("ordered_at", "NGAY_YL"), ("performed_at", "NGAY_TH_YL"))),
    ("clinical_notes", "XML5", (("noted_at", "THOI_DIEM_DBLS"),)),
)


def _describe(table: str, line: Mapping[str, Any], index: int) -> str:
    sequence = line.get("sequence", index + 1)
    what = line.get("drug_code") or line.get("service_code") or line.get("supply_code")
    name = line.get("name") or line.get("service_name") or line.get("supply_name")
    label = " ".join(str(part) for part in (what, name) if part)
    return f"{table} STT {sequence}" + (f" ({label})" if label else "")


def _outside_stay(payload: Mapping[str, Any], tolerance: timedelta) -> Iterator[Signal]:
    visit = payload.get("visit", {})
    arrived, discharged = visit.get("arrived_at"), visit.get("discharged_at")
    if not arrived or not discharged:
        return
    start = datetime.fromisoformat(arrived) - tolerance
    end = datetime.fromisoformat(discharged) + tolerance
    for section, table, fields in _DATED:
        for index, line in enumerate(payload.get(section, [])):
            for name, official in fields:
                value = line.get(name)
                if not value:
                    continue
                at = datetime.fromisoformat(value)
                if start <= at <= end:
                    continue
                where = "before NGAY_VAO" if at < start else "after NGAY_RA"
                yield Signal(
                    code=OUTSIDE_STAY,
                    reason=f"{_describe(table, line, index)}: {official} {value} is {where} "
                    f"(stay {arrived} to {discharged})",
                )


def _stay_days(visit: Mapping[str, Any]) -> int:
    """Calendar days of the stay, counting the arrival and discharge days (at least 1)."""
    arrived, discharged = visit.get("arrived_at"), visit.get("discharged_at")
    if not arrived or not discharged:
        return 1
    days = (date.fromisoformat(discharged[:10]) - date.fromisoformat(arrived[:10])).days + 1
    return max(days, 1)


def _quantity_ceiling(payload: Mapping[str, Any], ceiling: Decimal) -> Iterator[Signal]:
    days = _stay_days(payload.get("visit", {}))
    for index, line in enumerate(payload.get("drugs", [])):
        quantity = line.get("quantity")
        if quantity is None:
            continue
        per_day = Decimal(quantity) / days
        if per_day > ceiling:
            unit = line.get("unit", "units")
            yield Signal(
                code=QUANTITY_CEILING,
                reason=f"{_describe('XML2', line, index)}: SO_LUONG {quantity} {unit} over "
                f"{days} day(s) of stay is {per_day:.3f} a day, above the ceiling {ceiling}",
            )


def record_signals(
    payload: Mapping[str, Any],
    *,
    max_units_per_day: Decimal,
    outside_stay_tolerance: timedelta = timedelta(0),
) -> list[Signal]:
    """The signals of one normalized visit, one per offending line and date.

    ``max_units_per_day`` bounds a drug line's SO_LUONG divided by the calendar days of the stay
    (NGAY_RA − NGAY_VAO + 1, at least 1). An outpatient's take-home prescription counts against
    a one-day stay, so the ceiling must sit above the largest legitimate prescription.
    ``outside_stay_tolerance`` widens the stay on both sides (none by default: minute precision).
    """
    signals = list(_outside_stay(payload, outside_stay_tolerance))
    signals.extend(_quantity_ceiling(payload, max_units_per_day))
    return signals
