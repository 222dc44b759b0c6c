"""QĐ 130 value conversions: Vietnam-time date-times, partial dates, exact decimals, lists."""

from __future__ import annotations

import pytest

from adapters.hospital import values as v


def test_date_time_is_iso_in_vietnam_time() -> None:
    assert v.date_time("202611200830") == "2026-11-20T08:30:00+07:00"


@pytest.mark.parametrize(
    "text", ["202613200830", "202602300830", "202611202460", "2026112008", "20261120083a"]
)
def test_impossible_or_malformed_date_times_are_refused(text: str) -> None:
    with pytest.raises(v.ValueProblem):
        v.date_time(text)


def test_date_and_leap_day() -> None:
    assert v.date("20240229") == "2024-02-29"
    with pytest.raises(v.ValueProblem):
        v.date("20230229")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("198503150000", "1985-03-15"), ("198503000000", "1985-03"), ("198500000000", "1985")],
)
def test_unknown_parts_of_a_birth_date_stay_unknown(text: str, expected: str) -> None:
    assert v.partial_date(text) == expected


def test_decimals_are_exact_strings() -> None:
    assert v.decimal("1234567.50") == "1234567.50"
    assert v.decimal("-0.125") == "-0.125"


@pytest.mark.parametrize(
    "text", ["NaN", "Infinity", "1E+3", "1E+99999999", "1.2.3", "١٢", "9" * 31]
)
def test_only_plain_bounded_numbers_are_decimals(text: str) -> None:
    # An exponent would let a 12-byte field expand to a 100-million-digit string.
    with pytest.raises(v.ValueProblem):
        v.decimal(text)


def test_lists_keep_positions() -> None:
    assert v.split_list("GD4797920123456;;HT2797920123457") == [
        "GD4797920123456",
        "",
        "HT2797920123457",
    ]
