"""The SI record of a citizen (sổ BHXH and thẻ BHYT): who, contributions, HI cards, treatments
received under them (from accepted claims) and benefits granted (from finished dossiers).

Names are English snake_case like the common record's payload; each field's description gives
the QĐ 130 XML1 name and the card-check (``KQNhanLichSuKCB2024``) name where one exists
(QD130.md sections B and H). Money is in VND, a ``Decimal`` (a string in JSON).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from gateway.records.model import Gender

CITIZEN_ID = r"^[0-9]{12}$"  # số định danh cá nhân / CCCD
SI_NUMBER = r"^[0-9]{10}$"  # mã số BHXH
# MA_THE_BHYT: 2-letter beneficiary group, benefit level 1-5, 2-digit province, 10 digits
# (IDENTITY.md section 5: 15 characters, 2 letters and 13 digits).
CARD_NUMBER = r"^[A-Z]{2}[1-5][0-9]{12}$"

CitizenId = Annotated[str, StringConstraints(pattern=CITIZEN_ID)]
SiNumber = Annotated[str, StringConstraints(pattern=SI_NUMBER)]
CardNumber = Annotated[str, StringConstraints(pattern=CARD_NUMBER)]
FacilityCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{5}$")]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
MAX_TEXT = 2000  # a diagnosis or reason kept in the treatment history
Text = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Vnd = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=2)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Frozen):
    """Who the record is of, as the SI database holds it."""

    citizen_id: CitizenId = Field(description="XML1 SO_CCCD; population DB SoDinhDanh")
    si_number: SiNumber = Field(description="mã số BHXH; card check maSoBHXH")
    full_name: Text = Field(description="XML1 HO_TEN; card check hoTen")
    date_of_birth: str = Field(
        pattern=r"^[0-9]{4}(-[0-9]{2}-[0-9]{2})?$",
        description="ISO 8601, or the year alone when only it is known; XML1 NGAY_SINH",
    )
    gender: Gender = Field(description="XML1 GIOI_TINH 1/2/3; card check gioiTinh")


class Scheme(StrEnum):
    COMPULSORY = "compulsory"  # BHXH bắt buộc, through an employer
    VOLUNTARY = "voluntary"  # BHXH tự nguyện, paid by the citizen


class ContributionPeriod(_Frozen):
    """Months contributed at one salary basis, under one employer (compulsory) or alone."""

    scheme: Scheme
    employer_name: Text | None = None
    employer_tax_code: str | None = Field(
        default=None, pattern=r"^[0-9]{10}(-[0-9]{3})?$", description="MST of the employer"
    )
    unit_code: str | None = Field(
        default=None, pattern=r"^[0-9A-Z]{3,12}$", description="mã đơn vị at VSS"
    )
    from_month: Month = Field(description="first month contributed, YYYY-MM")
    to_month: Month | None = Field(default=None, description="last month; none while ongoing")
    salary_basis: Vnd = Field(description="monthly salary (or chosen income) contributions are on")

    @model_validator(mode="after")
    def _consistent(self) -> ContributionPeriod:
        if self.to_month is not None and self.to_month < self.from_month:
            raise ValueError(f"to_month {self.to_month} is before from_month {self.from_month}")
        if self.scheme == Scheme.COMPULSORY and self.employer_name is None:
            raise ValueError("a compulsory period names its employer")
        return self


class HiCard(_Frozen):
    """One health-insurance card of the citizen."""

    number: CardNumber = Field(description="XML1 MA_THE_BHYT; card check maThe")
    registered_facility: FacilityCode = Field(description="XML1 MA_DKBD; card check maDKBD")
    valid_from: date = Field(description="XML1 GT_THE_TU; card check gtTheTu")
    valid_to: date = Field(description="XML1 GT_THE_DEN; card check gtTheDen")
    benefit_level: int = Field(
        ge=1, le=5, description="mức hưởng, the card number's third character"
    )
    five_year_date: date | None = Field(
        default=None,
        description="ngày đủ 5 năm liên tục: XML1 NAM_NAM_LIEN_TUC; card check ngayDu5Nam",
    )
    area: Literal["K1", "K2", "K3"] | None = Field(
        default=None, description="XML1 MA_KHUVUC; card check maKV"
    )

    @model_validator(mode="after")
    def _consistent(self) -> HiCard:
        if self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if int(self.number[2]) != self.benefit_level:
            raise ValueError(
                f"card {self.number[:3]}… is not of benefit level {self.benefit_level}"
            )
        return self

    def covers(self, day: date) -> bool:
        """Whether the card is valid on ``day``."""
        return self.valid_from <= day <= self.valid_to


class Treatment(_Frozen):
    """One visit paid under the citizen's card: from an accepted claim record (QĐ 130 XML1)."""

    record_id: str = Field(description="the claim's common record id: recorded once")
    facility_code: FacilityCode = Field(description="XML1 MA_CSKCB; card check maCSKCB")
    visit_key: Text = Field(description="XML1 MA_LK; card check maHoSo")
    card_number: CardNumber | None = None
    arrived_at: AwareDatetime = Field(description="XML1 NGAY_VAO; card check ngayVao")
    discharged_at: AwareDatetime | None = Field(default=None, description="XML1 NGAY_RA; ngayRa")
    diagnosis_code: str | None = Field(default=None, max_length=7, description="MA_BENH_CHINH")
    diagnosis: str | None = Field(
        default=None, max_length=MAX_TEXT, description="XML1 CHAN_DOAN_RV; card check tenBenh"
    )
    outcome_code: str | None = Field(default=None, max_length=1, description="KET_QUA_DTRI")
    reason: str | None = Field(default=None, max_length=MAX_TEXT, description="LY_DO_VV; lyDoVV")
    total: Vnd | None = Field(default=None, description="XML1 T_TONGCHI_BV")
    insurance_paid: Vnd | None = Field(default=None, description="XML1 T_BHTT")
    patient_paid: Vnd | None = Field(default=None, description="XML1 T_BNCCT + T_BNTT")


class Benefit(_Frozen):
    """A benefit granted: a benefit dossier that reached ``finished``."""

    dossier_id: str = Field(description="the gateway's dossier id: recorded once")
    ma_ho_so: str
    procedure: str = Field(description="canonical procedure code, e.g. BENEFIT_MATERNITY")
    decided_on: date = Field(description="Vietnam calendar date it was finished")
    amount: Vnd | None = Field(default=None, description="when the decision states it")


class SiRecord(_Frozen):
    """The whole SI record of one citizen, at one ``version``."""

    person: Person
    contributions: tuple[ContributionPeriod, ...] = ()
    cards: tuple[HiCard, ...] = ()
    treatments: tuple[Treatment, ...] = Field(
        default=(), description="the most recent ones, oldest first"
    )
    benefits: tuple[Benefit, ...] = Field(default=(), description="oldest first")
    version: int = Field(ge=1, description="bumped by every change of the citizen's record")

    def card(self, number: str) -> HiCard | None:
        return next((card for card in self.cards if card.number == number), None)
