"""Synthetic citizens of the population-database simulator: 12-digit personal IDs whose first
three digits are the legacy (63-province) code of the province of birth registration, upper-case
names, births often known only by the year, and residences in either scheme of provinces: the
three-level one of the 63 provinces, or the two-level one of the 34 since 1 July 2025."""

from __future__ import annotations

import random
from dataclasses import dataclass

from adapters.population.protocol import canonical_name
from gateway.identity.population import Address

# Legacy province code -> (name, the code of the province it is part of since 1 July 2025).
PROVINCES = {
    "01": ("Hà Nội", "01"),
    "02": ("Hà Giang", "08"),  # part of Tuyên Quang since 2025
    "08": ("Tuyên Quang", "08"),
    "30": ("Hải Dương", "31"),  # part of Hải Phòng
    "31": ("Hải Phòng", "31"),
    "48": ("Đà Nẵng", "48"),
    "49": ("Quảng Nam", "48"),  # part of Đà Nẵng
    "74": ("Bình Dương", "79"),  # part of Thành phố Hồ Chí Minh
    "79": ("Thành phố Hồ Chí Minh", "79"),
}


@dataclass(frozen=True)
class Citizen:
    """One person of the simulated database."""

    citizen_id: str  # SoDinhDanh
    full_name: str  # upper-case
    gender: str  # GioiTinh: "1" male, "2" female
    born: str  # yyyy-MM-dd, or yyyy when only the year is known
    residence: Address  # ThuongTru
    legacy_id: str | None = None  # SoCMND

    @property
    def year(self) -> str:
        return self.born[:4]


def citizen(
    citizen_id: str,
    full_name: str,
    *,
    born: str,
    residence: Address,
    gender: str | None = None,
    legacy_id: str | None = None,
) -> Citizen:
    """A citizen with the name as the database holds it; gender from the ID by default (its
    fourth digit is even for a man)."""
    gender = gender or ("1" if int(citizen_id[3]) % 2 == 0 else "2")
    return Citizen(citizen_id, canonical_name(full_name), gender, born, residence, legacy_id)


def legacy_address(province: str, district: str, ward: str, detail: str) -> Address:
    """A residence in the three-level scheme of the 63 provinces."""
    return Address(province, district, ward, canonical_name(detail))


def current_address(province: str, ward: str, detail: str) -> Address:
    """A residence in the two-level scheme of the 34 provinces (no district)."""
    return Address(province, None, ward, canonical_name(detail))


SAMPLE = (
    citizen(
        "001090000001",
        "Nguyễn Văn An",
        born="1990-11-22",
        residence=current_address("01", "00004", "Số 12 Phố Huế, Phường Hai Bà Trưng"),
        legacy_id="013456789",
    ),
    # Born in Hà Giang (002), a province merged away: the ID keeps its legacy code.
    citizen(
        "002185001234",
        "Hoàng Thị Mai",
        born="1985",
        residence=legacy_address("02", "024", "00688", "Thôn Nà Làng, xã Phú Linh"),
    ),
    citizen(
        "030078004567",
        "Phạm Văn Hùng",
        born="1978-03-05",
        residence=current_address("31", "10507", "Số 5 Trần Hưng Đạo, phường Hải Dương"),
        legacy_id="142345678",
    ),
    citizen(
        "079301000321",
        "Lê Thị Thu",
        born="2001",
        residence=legacy_address("79", "760", "26740", "Số 8 Lê Lợi, phường Bến Nghé"),
    ),
    citizen(
        "049095007777",
        "Trần Quốc Bảo",
        born="1995",
        residence=current_address("48", "20305", "Tổ 3, phường Hội An"),
    ),
)

_FAMILY = ("NGUYỄN", "TRẦN", "LÊ", "PHẠM", "HOÀNG", "VŨ", "ĐẶNG", "BÙI")
_MIDDLE = {"1": ("VĂN", "MINH", "ĐỨC", "QUỐC"), "2": ("THỊ", "NGỌC", "THU", "KIM")}
_GIVEN = {"1": ("AN", "BÌNH", "DŨNG", "HẢI", "NAM"), "2": ("HÀ", "HOA", "LAN", "LINH", "MAI")}


def synthetic(count: int, *, seed: int = 0) -> list[Citizen]:
    """``count`` more citizens, the same for the same seed; about half with year-only births,
    half living in each scheme of provinces."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
    people = []
    for serial in range(count):
        gender = rng.choice("12")
        year = rng.randrange(1950, 2008)
        province = rng.choice(sorted(PROVINCES))
        century = (0 if year < 2000 else 2) + (gender == "2")
        citizen_id = f"0{province}{century}{year % 100:02d}{serial:06d}"
        name = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE[gender])} {rng.choice(_GIVEN[gender])}"
        born = str(year) if rng.random() < 0.5 else f"{year}-{rng.randrange(1, 13):02d}-15"
        if rng.random() < 0.5:
            residence = legacy_address(province, f"{rng.randrange(1, 999):03d}", "00001", "-")
        else:
            residence = current_address(PROVINCES[province][1], "00001", "-")
        people.append(Citizen(citizen_id, name, gender, born, residence))
    return people
