"""The HI card check, ``POST /api/egw/KQNhanLichSuKCB2024`` (CV 1923/BHXH-CNTT, 2024, Phụ lục 03;
QD130.md section H): the request of its section 2, the answer of its section 3, the result codes
of its section 4, drawn from the SI record (``gateway.sirecords.cardcheck``).

Where the guide is silent or the portal's practice differs, as in the package docstring:
- **Credentials**: the guide's input table lists ``username``, ``password`` (the uppercase MD5),
  ``token`` and ``id_token`` (from ``/api/token/take``) beside the body's fields; hospital
  software sends them in the query string (``?token=…&id_token=…&username=…&password=…``), some
  also ``username`` and ``password`` in the body. They are taken from the query string, CV
  3190's headers ``accessToken``, ``tokenId``, ``passwordHash``, and (``username``,
  ``password``) the body; one sent in two places must be the same. A token in the body is an
  unknown field (205): it is longer than a body field's bound.
- **Body**: a JSON object (``Content-Type: application/json``) of ``maThe``, ``hoTen``,
  ``ngaySinh`` (``dd/MM/yyyy`` as the input table says, ``ddMMyyyy`` as its sample sends it, or
  ``yyyy`` for a holder whose birth date is a year), ``hoTenCb`` and ``cccdCb`` (the checking
  staff member: name, 12-digit citizen ID), all required; ``maThe`` is a card number or the
  holder's 12-digit citizen ID (checks "by citizen ID", IDENTITY.md section 4). Form-urlencoded
  is read too.
- **Outcomes**: HTTP 200 always, the outcome in ``maKetQua``, every field of section 3 present
  (empty where the outcome gives none). A request the gateway refuses answers the guide's code
  where it has one: ``205`` (a field missing or malformed, a body too large), ``401`` (no or bad
  credentials, and also a partner not allowed the check, from this address or at all: the guide
  has no 403), ``100`` (the SI records or the rate counts cannot be read; ``Retry-After``),
  ``101`` (the gateway failed); and ``429`` (over the per-citizen or per-partner limit, with
  ``Retry-After``: the portal's code for it, the guide has none). ``ghiChu`` then starts with
  the guide's text and gives the SPEC code.
- **The card shown** (``maThe``, ``gtTheTu``, ...) is the card asked about (asked by citizen ID:
  the current card); ``maTheMoi``/``gtTheTuMoi``/... the newest card the holder has (the same
  one when there is no newer), ``maTheCu`` the card before the one shown. The SI record holds no
  address, issuing office or facility name: ``diaChi``, ``cqBHXH``, ``tenDKBDMoi`` are empty,
  and so is ``tinhTrang`` of a visit. ``TEMP1``/``TEMP2`` are the holder's current employer
  (unit code, name). Card and history are given only when the holder is identified (000, 003,
  004, 010): a wrong name or birth date learns nothing of the record.
- **History**: ``dsLichSuKCB2018``, the holder's latest ``VISITS`` visits, newest first;
  ``dsLichSuKT2018``, the latest ``CHECKS`` checks of the card (this one included), by any
  facility, naming its account (``userKT``), never its staff.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, cast

from fastapi import Request
from typing_extensions import TypedDict

from gateway.api.vss_portal.answers import VIETNAM
from gateway.api.vss_portal.fields import Body, FieldSet
from gateway.audit import Action, card_target
from gateway.bootstrap import Gateway
from gateway.errors import Forbidden, GatewayError, NotFound, Unauthorized, XmlMalformed
from gateway.partners import Partner
from gateway.sirecords.cardcheck import Birth, CardCheck, CardQuery, Code, decide, precheck
from gateway.sirecords.checks import CardCheckEntry
from gateway.sirecords.model import HiCard, SiRecord, Treatment

PATH = "/api/egw/KQNhanLichSuKCB2024"
SERVICE = "cards.check"  # the partner-file grant of the check
VISITS = 20
CHECKS = 10
# Section 2, "Đặc tả dữ liệu đầu vào": the five fields the sample body sends, then the two
# credentials some hospital software sends in it too.
REQUEST = FieldSet(("maThe", "hoTen", "ngaySinh", "hoTenCb", "cccdCb", "username", "password"))
# (query / body name, CV 3190 header): where each credential may come from.
_CREDENTIALS = (
    ("token", "accessToken"),
    ("id_token", "tokenId"),
    ("password", "passwordHash"),
    ("username", None),
)
_MAX_NAME = 255  # characters of hoTen and hoTenCb, as the SI record's names
_STAFF_ID = re.compile(r"^[0-9]{12}$")
_BIRTH = (
    (re.compile(r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$"), True),
    (re.compile(r"^([0-9]{2})([0-9]{2})([0-9]{4})$"), True),
    (re.compile(r"^([0-9]{4})$"), False),
)
_GENDER = {"male": "Nam", "female": "Nữ", "undetermined": "Chưa xác định"}
# Refusals with a code of the guide's section 4 (else "101", "Lỗi server"), and its text.
_REFUSALS: dict[str, tuple[str, str]] = {
    "XML_MALFORMED": ("205", "Lỗi sai định dạng tham số"),
    "XML_TOO_LARGE": ("205", "Lỗi sai định dạng tham số"),
    "UNAUTHORIZED": ("401", "Lỗi xác thực tài khoản"),
    "FORBIDDEN": ("401", "Lỗi xác thực tài khoản"),
    "RATE_LIMITED": ("429", "Quá số lần tra cứu cho phép, thử lại sau"),
    "UNAVAILABLE": ("100", "Lỗi khi lấy dữ liệu sổ thẻ"),
}
_SERVER_ERROR = ("101", "Lỗi server")
_CODES = frozenset(code.value for code in Code)
_MISMATCHES = frozenset({Code.WRONG_NAME, Code.WRONG_NAME_FIRST_RIGHT, Code.WRONG_BIRTH})


class Visit(TypedDict):
    """One visit of ``dsLichSuKCB2018`` (section 3, fields 21-33)."""

    maHoSo: str
    maCSKCB: str
    ngayVao: str
    ngayRa: str
    tenBenh: str
    tinhTrang: str
    kqDieuTri: str
    lyDoVV: str
    TEMP1: str
    TEMP2: str
    TEMP3: str
    TEMP4: str
    TEMP5: str


class Check(TypedDict):
    """One check of ``dsLichSuKT2018`` (section 3, fields 34-37)."""

    userKT: str
    thoiGianKT: str
    thongBao: str
    maLoi: str


class CardCheckAnswer(TypedDict):
    """The answer of section 3, field names and order as the guide's sample, HTTP 200 always."""

    maKetQua: str
    ghiChu: str
    maThe: str
    hoTen: str
    ngaySinh: str
    gioiTinh: str
    diaChi: str
    maDKBD: str
    cqBHXH: str
    gtTheTu: str
    gtTheDen: str
    maKV: str
    ngayDu5Nam: str
    maSoBHXH: str
    maTheCu: str
    maTheMoi: str
    gtTheTuMoi: str
    gtTheDenMoi: str
    maDKBDMoi: str
    tenDKBDMoi: str
    dsLichSuKCB2018: list[Visit]
    dsLichSuKT2018: list[Check]


_CARD_FIELDS = [k for k in CardCheckAnswer.__annotations__ if not k.startswith("ds")][2:]


def credentials(request: Request, body: Body) -> dict[str, str]:
    """``token``, ``id_token``, ``password`` and ``username``, each from wherever it was sent
    (module docstring); ``Unauthorized`` when one is sent twice with different values."""
    found = {}
    for name, header in _CREDENTIALS:
        sent = [*request.query_params.getlist(name), body.values.get(name.lower(), "")]
        if header is not None:
            sent += request.headers.getlist(header)
        values = {value.strip() for value in sent if value.strip()}
        if len(values) > 1:
            raise Unauthorized(f"{name} is sent more than once, with different values")
        found[name] = values.pop() if values else ""
    return found


def request_of(body: Body) -> tuple[CardQuery, tuple[str, str]]:
    """The query and the checking staff member (name, citizen ID), or ``XmlMalformed``."""
    fields = {name: body.values.get(name.lower(), "").strip() for name in REQUEST.names[:5]}
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise XmlMalformed(f"the fields {', '.join(missing)} are required")
    for name in ("hoTen", "hoTenCb"):
        if len(fields[name]) > _MAX_NAME:
            raise XmlMalformed(f"{name} is longer than {_MAX_NAME} characters")
    if not _STAFF_ID.fullmatch(fields["cccdCb"]):
        raise XmlMalformed("cccdCb is the checking staff member's 12-digit citizen ID")
    query = CardQuery(fields["maThe"].upper(), fields["hoTen"], _birth(fields["ngaySinh"]))
    return query, (fields["hoTenCb"], fields["cccdCb"])


def _birth(text: str) -> Birth:
    for pattern, whole in _BIRTH:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        if not whole:
            return Birth(int(text))
        day, month, year = (int(part) for part in found.groups())
        try:
            return Birth(year, date(year, month, day))
        except ValueError:
            break
    raise XmlMalformed("ngaySinh is dd/MM/yyyy (or ddMMyyyy, or the year yyyy alone)")


def facility_of(partner: Partner) -> str:
    """The facility a check is made for: the partner's one facility code, else the one its
    account names (``<facility>_BV``), else none."""
    if len(partner.facility_codes) == 1:
        return next(iter(partner.facility_codes))
    named = (partner.legacy_username or "").split("_")[0]
    return named if named in partner.facility_codes else ""


def answer(check: CardCheck, *, checks: list[CardCheckEntry]) -> CardCheckAnswer:
    """The answer to a check the SI record decided."""
    if check.record is None or check.card is None or check.newest is None:
        return _empty(check.code, check.code.text)
    record, card, newest = check.record, check.card, check.newest
    person = record.person
    older = [c for c in record.cards if c.valid_from < card.valid_from]
    previous = max(older, key=lambda c: (c.valid_from, c.number), default=None)
    return CardCheckAnswer(
        maKetQua=check.code.value,
        ghiChu=_note(check.code, record, card, newest),
        maThe=card.number,
        hoTen=person.full_name,
        ngaySinh=_birth_text(person.date_of_birth),
        gioiTinh=_GENDER[person.gender],
        diaChi="",
        maDKBD=card.registered_facility,
        cqBHXH="",
        gtTheTu=_day(card.valid_from),
        gtTheDen=_day(card.valid_to),
        maKV=card.area or "",
        ngayDu5Nam=_day(card.five_year_date),
        maSoBHXH=person.si_number,
        maTheCu=previous.number if previous else "",
        maTheMoi=newest.number,
        gtTheTuMoi=_day(newest.valid_from),
        gtTheDenMoi=_day(newest.valid_to),
        maDKBDMoi=newest.registered_facility,
        tenDKBDMoi="",
        dsLichSuKCB2018=[_visit(t, record) for t in reversed(record.treatments)][:VISITS],
        dsLichSuKT2018=[_check(entry) for entry in checks],
    )


def failure(error: GatewayError, at: datetime) -> CardCheckAnswer:
    """The answer to a check refused before the SI record decided it (module docstring)."""
    code, text = _REFUSALS.get(error.code, _SERVER_ERROR)
    return _empty(code, f"{text}. {error.code}: {error.detail}")


def _empty(code: str, note: str) -> CardCheckAnswer:
    """An answer without a card: every field of section 3 there, empty."""
    empty: dict[str, Any] = {"maKetQua": code, "ghiChu": note}
    empty |= dict.fromkeys(_CARD_FIELDS, "") | {"dsLichSuKCB2018": [], "dsLichSuKT2018": []}
    return cast(CardCheckAnswer, empty)


def _note(code: Code, record: SiRecord, card: HiCard, newest: HiCard) -> str:
    """``ghiChu``: for a valid card the guide's sample sentence, else the code's text; the
    validity and (003, 004) the new card."""
    person = record.person
    validity = f"Hạn thẻ: {_day(card.valid_from)} - {_day(card.valid_to)}"
    if code is not Code.VALID:
        new = f"; Thẻ mới: {newest.number} ({_day(newest.valid_from)} - {_day(newest.valid_to)})"
        return f"{code.text}! ({validity}{new if newest != card else ''})."
    five = f"; Thời điểm đủ 5 năm liên tục: {_day(card.five_year_date)}"
    return (
        f"Thẻ còn giá trị sử dụng! Họ tên : {person.full_name}, Ngày sinh: "
        f"{_birth_text(person.date_of_birth)}, Giới tính : {_GENDER[person.gender]}! "
        f"(Nơi KCBBĐ: {card.registered_facility}; {validity}"
        f"{five if card.five_year_date else ''})."
    )


def _visit(treatment: Treatment, record: SiRecord) -> Visit:
    employer = next((p for p in reversed(record.contributions) if p.to_month is None), None)
    return Visit(
        maHoSo=treatment.visit_key,
        maCSKCB=treatment.facility_code,
        ngayVao=_minute(treatment.arrived_at),
        ngayRa=_minute(treatment.discharged_at),
        tenBenh=treatment.diagnosis or "",
        tinhTrang="",
        kqDieuTri=treatment.outcome_code or "",
        lyDoVV=treatment.reason or "",
        TEMP1=(employer.unit_code or "") if employer else "",
        TEMP2=(employer.employer_name or "") if employer else "",
        TEMP3="",
        TEMP4="",
        TEMP5="",
    )


def _check(entry: CardCheckEntry) -> Check:
    return Check(
        userKT=entry.account,
        thoiGianKT=_minute(entry.at),
        thongBao=Code(entry.code).text if entry.code in _CODES else "",
        maLoi=entry.code,
    )


def _day(day: date | None) -> str:
    """``dd/MM/yyyy``, as the sample's dates."""
    return "" if day is None else f"{day:%d/%m/%Y}"


def _birth_text(text: str) -> str:
    """``Person.date_of_birth`` as the sample writes ``ngaySinh``; a year alone as it is."""
    return text if len(text) == 4 else _day(date.fromisoformat(text))


def _minute(at: datetime | None) -> str:
    """``yyyyMMddHHmm`` in Vietnam time (section 3, fields 23, 24 and 35)."""
    return "" if at is None else f"{at.astimezone(VIETNAM):%Y%m%d%H%M}"


def openapi() -> dict[str, Any]:
    """The request of section 2: credentials in the query string (or CV 3190's headers), the
    fields in a JSON body."""
    query = [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name, _ in _CREDENTIALS
    ]
    string = {"type": "string", "maxLength": _MAX_NAME}
    return {
        "parameters": query,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": list(REQUEST.names[:5]),
                        "properties": {
                            "maThe": {
                                "type": "string",
                                "description": "HI card number, or the holder's citizen ID",
                            },
                            "hoTen": {**string, "description": "the holder's full name"},
                            "ngaySinh": {"type": "string", "description": "dd/MM/yyyy"},
                            "hoTenCb": {**string, "description": "checking staff's name"},
                            "cccdCb": {
                                "type": "string",
                                "pattern": _STAFF_ID.pattern,
                                "description": "checking staff's 12-digit citizen ID",
                            },
                        },
                    }
                }
            },
        },
    }


def check(
    gateway: Gateway, partner: Partner, query: CardQuery, staff: tuple[str, str]
) -> CardCheckAnswer:
    """One check by ``partner``'s ``staff`` (name, citizen ID): the holder's reads counted per
    citizen, the record read, the check recorded and audited before the answer leaves. Blocking
    (SQLite): run it in a thread."""
    now = gateway.pipeline.clock.now()
    decided = precheck(query)
    outcome = None if decided is None else CardCheck(decided)
    # Audited as a read of the card: not_found when nobody here holds it (or the armed forces'
    # agencies do), denied when the name or birth date is not the holder's. The event names the
    # holder (pseudonym, last four digits) once known, so that the check is among their
    # accesses; it names nobody when no record was read: maThe malformed or a card of the armed
    # forces (decided before any read), or a card number nobody here holds.
    try:
        with gateway.audit.reading(
            partner, "vss-portal", Action.CARD_CHECKED, card_target(query.number)
        ) as access:
            if outcome is None:
                holder = _holder(gateway, query)
                access.concerns(holder)
                gateway.limits.rates.citizen(partner, holder or f"maThe:{query.number}")
                record = gateway.si_records.get(holder, history=VISITS) if holder else None
                outcome = decide(query, record, today=now.astimezone(VIETNAM).date())
            card = outcome.card.number if outcome.card else query.number
            gateway.card_checks.record(
                card,
                partner=partner.id,
                facility=facility_of(partner),
                account=partner.legacy_username or partner.id,
                staff=staff,
                code=outcome.code.value,
            )
            if not outcome.code.identified:
                refusal = Forbidden if outcome.code in _MISMATCHES else NotFound
                raise refusal(outcome.code.text)
    except (Forbidden, NotFound):
        assert outcome is not None  # set before either is raised
        return answer(outcome, checks=[])
    return answer(outcome, checks=gateway.card_checks.history(card, limit=CHECKS))


def _holder(gateway: Gateway, query: CardQuery) -> str | None:
    """The citizen ``maThe`` names: itself, or the holder of the card; None if nobody holds it."""
    if query.by_citizen_id:
        return query.number
    held = gateway.si_records.held_card(query.number)
    return None if held is None else held.citizen_id
