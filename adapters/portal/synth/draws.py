"""Realistic draws for synthetic dossiers: Vietnamese people and employers, with their IDs."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi")
_MIDDLE_MALE = ("Văn", "Minh", "Đức", "Quốc", "Hữu", "Thanh")
_MIDDLE_FEMALE = ("Thị", "Ngọc", "Thu", "Thanh", "Mai", "Kim")
_GIVEN_MALE = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khôi", "Nam", "Quân", "Sơn", "Tuấn")
_GIVEN_FEMALE = ("Hà", "Hạnh", "Hoa", "Lan", "Linh", "Mai", "Phương", "Thảo", "Trang", "Yến")
# Province codes of the personal ID number and their names (Hà Nội, Hải Phòng, Đà Nẵng, TP.HCM).
PROVINCES = (
    ("001", "01", "Hà Nội"),
    ("031", "31", "Hải Phòng"),
    ("048", "48", "Đà Nẵng"),
    ("079", "79", "Thành phố Hồ Chí Minh"),
)
_STREETS = ("Đào Tấn", "Lê Lợi", "Trần Phú", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt")
_COMPANIES = (
    "Công ty TNHH Thương mại Minh Phát",
    "Công ty Cổ phần Xây dựng Sông Hồng",
    "Công ty TNHH May mặc Phương Nam",
    "Công ty Cổ phần Thực phẩm Hà Thành",
    "Công ty TNHH Cơ khí Đông Á",
)
# NAPAS BINs of four banks (Vietcombank, VietinBank, BIDV, Agribank).
BANKS = ("970436", "970415", "970418", "970405")


@dataclass(frozen=True)
class Person:
    full_name: str
    citizen_id: str  # 12 digits: province, century and gender, year, serial
    si_number: str  # 10 digits
    born: date
    gender: str  # "1" male, "2" female
    province: str  # the two-digit province code
    address: str


@dataclass(frozen=True)
class Employer:
    name: str
    tax_code: str
    si_code: str  # the unit's code at VSS
    address: str


def citizen_id(rng: random.Random, *, province: str, born: date, gender: str) -> str:
    """A 12-digit personal ID number: province (3), century and gender (1), year (2), serial."""
    century = 0 if born.year < 2000 else 2
    return f"{province}{century + (gender == '2')}{born.year % 100:02d}{rng.randrange(10**6):06d}"


def person(
    rng: random.Random,
    *,
    citizen: str | None = None,
    name: str | None = None,
    born: date | None = None,
) -> Person:
    """Someone of working age; ``citizen``, ``name`` and ``born`` when they must be given ones
    (a given birth is drawn all the same: what the same seed makes next stays the same)."""
    gender = rng.choice("12")
    male = gender == "1"
    long_id, code, city = rng.choice(PROVINCES)
    drawn = date(1965, 1, 1) + timedelta(days=rng.randrange(365 * 40))
    born = born or drawn
    full_name = name or " ".join(
        (
            rng.choice(_FAMILY),
            rng.choice(_MIDDLE_MALE if male else _MIDDLE_FEMALE),
            rng.choice(_GIVEN_MALE if male else _GIVEN_FEMALE),
        )
    )
    return Person(
        full_name=full_name,
        citizen_id=citizen or citizen_id(rng, province=long_id, born=born, gender=gender),
        si_number=f"{code}{rng.randrange(10**8):08d}",
        born=born,
        gender=gender,
        province=code,
        address=f"Số {rng.randrange(1, 200)} {rng.choice(_STREETS)}, {city}",
    )


def employer(
    rng: random.Random, *, tax_code: str | None = None, name: str | None = None
) -> Employer:
    _, code, city = rng.choice(PROVINCES)
    return Employer(
        name=name or rng.choice(_COMPANIES),
        tax_code=tax_code or f"0{code[1]}{rng.randrange(10**8):08d}",
        si_code=f"T{code}{rng.randrange(10**4):04d}A",
        address=f"Số {rng.randrange(1, 200)} {rng.choice(_STREETS)}, {city}",
    )


def dmy(value: date) -> str:
    return f"{value:%d/%m/%Y}"


def my(value: date) -> str:
    return f"{value:%m/%Y}"
