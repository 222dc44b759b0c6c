"""Value conversions of QĐ 130 fields: date-times in Vietnam time, partial dates, decimals, lists.

Formats from QĐ 130/QĐ-BYT as amended by QĐ 4750 (QD130.md section B and C3): date-times are
``yyyyMMddHHmm`` in Vietnam time, dates ``yyyyMMdd``, ``NGAY_SINH`` may write ``0000`` for an
unknown part, money has at most 2 decimals, quantities and unit prices 3, lists use ``;``.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

# Every QĐ 130 date-time is Vietnam time (UTC+07:00, no daylight saving).
VIETNAM_OFFSET = "+07:00"
# A QĐ 130 number as written: ASCII digits, at most one point, no exponent. "1E+99999999" is a
# decimal to Python, and its plain form a 100-million-digit string.
_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]{1,30}(\.[0-9]{1,30})?")


class ValueProblem(ValueError):
    """A field's text does not hold a value of its kind."""


def _checked(text: str, length: int, what: str) -> None:
    """Raise unless ``text`` is ``length`` digits naming a real calendar moment. Slicing and the
    datetime constructor cost a third of ``strptime``, which dominated normalization."""
    if len(text) != length or not text.isdigit():
        raise ValueProblem(f"{text!r} is not a {what}")
    hour, minute = (int(text[8:10]), int(text[10:12])) if length == 12 else (0, 0)
    try:
        datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), hour, minute)
    except ValueError as exc:
        raise ValueProblem(f"{text!r} is not a {what}") from exc


def text(value: str) -> str:
    """A text field, kept as sent (already stripped)."""
    return value


def date_time(text: str) -> str:
    """``yyyyMMddHHmm`` → ISO 8601 with the +07:00 offset."""
    _checked(text, 12, "date-time yyyyMMddHHmm")
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:00{VIETNAM_OFFSET}"


def date(text: str) -> str:
    """``yyyyMMdd`` → ISO 8601 date."""
    _checked(text, 8, "date yyyyMMdd")
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}"


def partial_date(text: str) -> str:
    """``yyyyMMdd[HHmm]`` where ``00`` marks an unknown month or day → ``yyyy``, ``yyyy-MM`` or a
    full date; an unknown part is left out, never invented."""
    digits = text[:8]
    if len(digits) != 8 or not digits.isdigit():
        raise ValueProblem(f"{text!r} is not a date yyyyMMdd")
    year, month, day = digits[:4], digits[4:6], digits[6:8]
    if month == "00":
        return year
    if day == "00":
        if not 1 <= int(month) <= 12:
            raise ValueProblem(f"{text!r} has no month {month}")
        return f"{year}-{month}"
    return date(digits)


def decimal(text: str) -> str:
    """A decimal number as a plain string (no exponent), exactly as many decimals as sent."""
    if not _PLAIN_DECIMAL.fullmatch(text.strip()):
        raise ValueProblem(f"{text[:40]!r} is not a number of QĐ 130 (digits, one point)")
    return format(Decimal(text), "f")


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise ValueProblem(f"{text!r} is not an integer") from exc


def split_list(text: str) -> list[str]:
    """A ``;``-separated list, keeping empty positions (cards align by position)."""
    return [part.strip() for part in text.split(";")]
