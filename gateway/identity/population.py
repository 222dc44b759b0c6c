"""The population database port (C06, SPEC section 1): verify a person, look a citizen up.

The core asks two questions and knows nothing of SOAP. ``verify`` is ``XacThucThongTinCongDan``:
do this personal ID, name and birth belong together (yes or no, no data: preferred, as it shares
the least). ``lookup`` is ``TraCuuThongTinCongDan``: the citizen's record, when a procedure needs
the data. Every call says why it is made (``Inquiry``: the public service ``MaDVC`` and the
official ``MaCanBo``), as C06 requires of every caller.

Invariant: an adapter answers only what the database answered. When it gets no answer (down,
slow, a fault, an answer to another question) it raises ``Unavailable``; a failure is never
turned into "no match", which would refuse a citizen for the database's fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from gateway.logs import mask

# A personal identification number (CCCD, SoDinhDanh): the three-digit code of the province
# where the birth was registered, century and gender, year of birth, a six-digit serial.
CITIZEN_ID = re.compile(r"[0-9]{12}")  # fullmatch: ASCII digits only, no newline


def masked(citizen_id: str) -> str:
    """``citizen_id`` as logs and messages may show it (``*********567``)."""
    return mask(citizen_id)


@dataclass(frozen=True)
class Person:
    """Who a document says someone is: what ``verify`` checks."""

    citizen_id: str  # 12 digits
    full_name: str
    birth: str | None = None  # ISO 8601, possibly partial: yyyy, yyyy-MM or yyyy-MM-dd


@dataclass(frozen=True)
class Inquiry:
    """Why a call is made: the public service (``MaDVC``: the procedure's national code) and the
    official making it (``MaCanBo``; None: the gateway's own account, for automatic checks)."""

    service: str
    officer: str | None = None


@dataclass(frozen=True)
class Verification:
    """The database's answer to ``verify``: whether the person exists as described."""

    matched: bool
    request_id: str  # MaYeuCau, the id both sides log the call under


@dataclass(frozen=True)
class Address:
    """An address as the database holds it: legacy records have three levels (province,
    district, ward; 63 provinces), records since the 2025 reorganisation two (34 provinces, no
    district)."""

    province: str  # MaTinhThanh, two digits
    district: str | None  # MaQuanHuyen, three digits; None in the two-level scheme
    ward: str | None  # MaPhuongXa, five digits
    detail: str | None  # ChiTiet, upper-case free text
    country: str = "VN"


@dataclass(frozen=True)
class CitizenRecord:
    """The database's record of a citizen: what ``lookup`` returns."""

    citizen_id: str
    legacy_id: str | None  # SoCMND, the 9-digit ID of before
    full_name: str  # upper-case, as the database holds it
    gender: str | None  # GioiTinh code
    birth: str  # ISO 8601, possibly only the year
    residence: Address | None  # ThuongTru
    request_id: str


class PopulationRegistry(Protocol):
    """The national population database, as the gateway may ask it."""

    def verify(self, person: Person, *, inquiry: Inquiry) -> Verification:
        """Whether ``person`` exists as described; ``Unavailable`` without an answer."""

    def lookup(self, citizen_id: str, *, inquiry: Inquiry) -> CitizenRecord | None:
        """The record of ``citizen_id``, None if the database has none; ``Unavailable``
        without an answer."""
