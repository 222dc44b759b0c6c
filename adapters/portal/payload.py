"""The payload of a dossier's common record: English snake_case, ISO 8601 dates, money as
decimal strings in VND, codes verbatim. Its JSON Schema is published with the record's."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.records.model import Gender


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProcedureRef(_Part):
    code: str = Field(description="the gateway's canonical procedure code")
    ma_thu_tuc: str = Field(description="VSS's procedure code (MaThuTuc)")
    ma_tthc: str = Field(description="the portal's procedure code (MaTTHC)")
    name: str


class ApplicantPart(_Part):
    kind: Literal["citizen", "unit"]
    id: str = Field(description="tax code (unit) or 12-digit personal ID number (citizen)")
    name: str = Field(description="TenDoiTuong")
    kind_code: str = Field(description="LoaiDoiTuong: 1 citizen, 2 enterprise, 3 state, 4 other")
    si_code: str | None = Field(default=None, description="MaSoBHXH of the unit or citizen")
    signer_name: str | None = Field(default=None, description="NguoiKy")
    phone: str | None = None
    managing_agency: str | None = Field(default=None, description="CoQuanQuanLy")


class FilePart(_Part):
    code: str = Field(description="MaToKhai")
    file_name: str
    file_type: str
    sha256: str
    size: int
    signed: bool


class Person(_Part):
    full_name: str
    date_of_birth: str = Field(description="ISO 8601, possibly partial (yyyy, yyyy-MM)")
    gender: Gender
    si_number: str | None = None
    citizen_id: str | None = None


class HouseholdMember(Person):
    relationship: str | None = None


class Household(_Part):
    head_name: str
    household_code: str | None = None
    address: str | None = None
    members: list[HouseholdMember]


class Participant(Person):
    nationality: str | None = None
    ethnicity: str | None = None
    phone: str | None = None
    email: str | None = None
    contribution_vnd: str | None = Field(default=None, description="Mucdong")
    payment_method: str | None = Field(default=None, description="Phuongthuc, verbatim")
    hi_facility: str | None = Field(default=None, description="MaBenhVien")
    change_requested: str | None = None
    household: Household | None = None


class Worker(_Part):
    full_name: str
    si_number: str | None = None
    citizen_id: str | None = None
    plan: str = Field(description="phuongAn, verbatim (TM, TT, DC, GH...)")
    salary_vnd: str | None = None
    from_month: str = Field(description="yyyy-MM")
    to_month: str | None = Field(default=None, description="yyyy-MM")
    position: str | None = None


class BankAccount(_Part):
    bank_code: str
    account_number: str
    holder: str


class BenefitClaim(_Part):
    benefit: str = Field(description="LoaiCheDo, verbatim (OD, TS, TNLD, TT, HT, BHXH1L, TN)")
    beneficiary: Person
    event_date: str
    event_description: str | None = None
    period_from: str
    period_to: str | None = None
    days: int | None = None
    bank_account: BankAccount
    amount_requested_vnd: str | None = None


class Reissue(_Part):
    person: Person
    item: Literal["si_book", "hi_card"]
    number: str = Field(description="the book or card number")
    reason: str = Field(description="MAT lost, HONG damaged")
    note: str | None = None


class FieldChange(_Part):
    field: str = Field(description="TruongThongTin, verbatim")
    old_value: str
    new_value: str


class Evidence(_Part):
    kind: str
    number: str
    issued_on: str
    issued_by: str | None = None


class Adjustment(_Part):
    person: Person
    changes: list[FieldChange]
    evidence: Evidence


class CoverageCertificate(_Part):
    person: Person
    destination_country: str = Field(description="ISO 3166-1 alpha-2")
    period_from: str
    period_to: str
    sending_employer: str
    sending_employer_tax_code: str | None = None
    workplace: str | None = None


class UnpaidContributions(_Part):
    employer_name: str
    employer_tax_code: str
    employer_si_code: str | None = None
    employer_address: str | None = None
    from_month: str
    to_month: str
    months_owed: int
    amount_owed_vnd: str
    workers: int | None = None
    description: str | None = None


class DossierPayload(_Part):
    """What a dossier says, normalized; each form fills its own member."""

    procedure: ProcedureRef
    declaration_period: str = Field(description="KyKeKhai as yyyy-MM")
    created_on: str = Field(description="NgayLap, ISO date")
    applicant: ApplicantPart
    transmitted_by: str = Field(description="MaIVAN of the transmitting service")
    files: list[FilePart]
    participants: list[Participant] | None = None
    workers: list[Worker] | None = None
    benefit_claim: BenefitClaim | None = None
    reissue: Reissue | None = None
    adjustment: Adjustment | None = None
    coverage_certificate: CoverageCertificate | None = None
    unpaid_contributions: UnpaidContributions | None = None


def json_schema() -> dict[str, Any]:
    return DossierPayload.model_json_schema()
