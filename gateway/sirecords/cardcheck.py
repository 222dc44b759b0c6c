"""The HI card check hospitals make at admission (``KQNhanLichSuKCB2024``, CV 1923/BHXH-CNTT,
2024, Phụ lục 03; QD130.md section H): what the SI record says of a card and its holder, as one
of the guide's result codes (its section 4, "Danh mục mã kết quả, mã lỗi").

Codes the SI record decides (``Code``), in the order they are decided:

| code | when                                                                              |
|------|-----------------------------------------------------------------------------------|
| 051  | ``maThe`` is neither a card number (2 letters, 13 digits) nor a 12-digit citizen ID |
| 001  | a ``QN`` card: BHXH Bộ Quốc phòng keeps it, not the SI record [inferred: group QN] |
| 002  | a ``CA`` card: BHXH Bộ Công an keeps it [inferred: group CA]                       |
| 053  | a card unknown here whose 3rd character is not a benefit level (1-5)             |
| 052  | a card unknown here whose 4th-5th characters are not a province code              |
| 050  | a card (or citizen ID) the SI records do not hold, or a citizen without a card    |
| 060  | the name is not the holder's; 061 when its first character is                     |
| 070  | the birth date is not the holder's (the year alone when either side has only it) |
| 003  | the card has expired and the holder has a newer card                              |
| 004  | the card is still valid and the holder has a newer card                           |
| 010  | the card is not valid today (expired, or not valid yet), no newer card           |
| 000  | the card is valid today and name and birth date are the holder's                 |

052 and 053 are given only for a card the records do not hold, so that a province list older
than the records never refuses a card they hold. Not decided here, since the SI record has no
such data: 110 (card withdrawn), 120-124 (card reported reduced: ``báo giảm``), 130 (a child
without a card) and 054/055 (the checking staff's citizen ID not in the list the facility
registered with VSS, or their name not matching it: the gateway holds no such list). The request
and infrastructure codes (205, 401, 100, 101) are the entrypoint's.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from gateway.sirecords.model import CARD_NUMBER, CITIZEN_ID, HiCard, SiRecord

_CARD_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{13}$")
_CARD = re.compile(CARD_NUMBER)
_CITIZEN = re.compile(CITIZEN_ID)
# Card groups whose cards the armed forces' own SI agencies keep (the guide's 001, 002).
_DEFENCE, _POLICE = "QN", "CA"
# The HI card's province code (4th-5th characters): the 63 provinces' codes (General Statistics
# Office list, as the cards have used them since 2018).
_PROVINCES = frozenset(
    (  # noqa: SIM905 (a table of codes reads better as one text)
        "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 "
        "44 45 46 48 49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 "
        "89 91 92 93 94 95 96"
    ).split()
)


class Code(enum.StrEnum):
    """The result codes of the guide's section 4 that the SI record decides."""

    VALID = "000"
    DEFENCE = "001"
    POLICE = "002"
    OLD_EXPIRED_NEW_ISSUED = "003"
    OLD_VALID_NEW_ISSUED = "004"
    EXPIRED = "010"
    NO_CARD = "050"
    WRONG_NUMBER = "051"
    WRONG_PROVINCE = "052"
    WRONG_BENEFIT = "053"
    WRONG_NAME = "060"
    WRONG_NAME_FIRST_RIGHT = "061"
    WRONG_BIRTH = "070"

    @property
    def text(self) -> str:
        """The guide's description of the code (section 4), for ``ghiChu`` and ``thongBao``."""
        return _TEXTS[self]

    @property
    def identified(self) -> bool:
        """Whether the holder is identified: the card and the history may be shown."""
        return self in _IDENTIFIED


_TEXTS = {
    Code.VALID: "Thông tin thẻ BHYT chính xác",
    Code.DEFENCE: "Thẻ BHYT do BHXH Bộ Quốc phòng quản lý, đề nghị kiểm tra thẻ BHYT và thông "
    "tin giấy tờ tùy thân",
    Code.POLICE: "Thẻ BHYT do BHXH Bộ Công an quản lý, đề nghị kiểm tra thẻ BHYT và thông tin "
    "giấy tờ tùy thân",
    Code.OLD_EXPIRED_NEW_ISSUED: "Thẻ BHYT cũ hết giá trị sử dụng, được cấp thẻ mới",
    Code.OLD_VALID_NEW_ISSUED: "Thẻ BHYT cũ còn giá trị sử dụng, được cấp thẻ mới",
    Code.EXPIRED: "Thẻ BHYT hết giá trị sử dụng",
    Code.NO_CARD: "Không có thông tin thẻ BHYT",
    Code.WRONG_NUMBER: "Mã thẻ BHYT không đúng",
    Code.WRONG_PROVINCE: "Mã tỉnh cấp thẻ BHYT (ký tự thứ 4,5) của thẻ BHYT không đúng",
    Code.WRONG_BENEFIT: "Mã quyền lợi BHYT (ký tự thứ 3) của thẻ BHYT không đúng",
    Code.WRONG_NAME: "Thẻ BHYT sai họ tên",
    Code.WRONG_NAME_FIRST_RIGHT: "Thẻ BHYT sai họ tên (đúng ký tự đầu)",
    Code.WRONG_BIRTH: "Thẻ BHYT sai ngày sinh",
}
_IDENTIFIED = frozenset(
    {Code.VALID, Code.OLD_EXPIRED_NEW_ISSUED, Code.OLD_VALID_NEW_ISSUED, Code.EXPIRED}
)


@dataclass(frozen=True)
class Birth:
    """A date of birth as asked or held: the whole date, or the year alone."""

    year: int
    day: date | None = None

    @classmethod
    def of_record(cls, text: str) -> Birth:
        """``Person.date_of_birth``: ISO 8601, or the year alone."""
        return (
            cls(int(text[:4])) if len(text) == 4 else cls(int(text[:4]), date.fromisoformat(text))
        )

    def matches(self, other: Birth) -> bool:
        if self.day is None or other.day is None:
            return self.year == other.year
        return self.day == other.day


@dataclass(frozen=True)
class CardQuery:
    """What the hospital asks: ``maThe`` (a card number, or the holder's citizen ID), ``hoTen``
    and ``ngaySinh``."""

    number: str
    full_name: str
    birth: Birth

    @property
    def by_citizen_id(self) -> bool:
        return _CITIZEN.fullmatch(self.number) is not None


@dataclass(frozen=True)
class CardCheck:
    """The answer: the code, and for an identified holder the record, the card asked about (or,
    asked by citizen ID, the current one) and the newest card the holder has."""

    code: Code
    record: SiRecord | None = None
    card: HiCard | None = None
    newest: HiCard | None = None


def precheck(query: CardQuery) -> Code | None:
    """The code decided from ``maThe`` alone, before the records are read (051, 001, 002)."""
    if query.by_citizen_id:
        return None
    if not _CARD_SHAPE.fullmatch(query.number):
        return Code.WRONG_NUMBER
    group = query.number[:2]
    return Code.DEFENCE if group == _DEFENCE else Code.POLICE if group == _POLICE else None


def unknown(query: CardQuery) -> Code:
    """The code of a ``maThe`` the records do not hold (053, 052, 050)."""
    if not query.by_citizen_id and not _CARD.fullmatch(query.number):
        return Code.WRONG_BENEFIT
    if not query.by_citizen_id and query.number[3:5] not in _PROVINCES:
        return Code.WRONG_PROVINCE
    return Code.NO_CARD


def current_card(record: SiRecord, today: date) -> HiCard | None:
    """The card a check by citizen ID is about: the latest valid today, else the latest."""
    valid = [card for card in record.cards if card.covers(today)]
    return max(valid or record.cards, key=lambda c: (c.valid_from, c.number), default=None)


def decide(query: CardQuery, record: SiRecord | None, *, today: date) -> CardCheck:
    """The code for ``query`` against the holder's ``record`` (None: nobody holds it)."""
    card = None
    if record is not None:
        card = current_card(record, today) if query.by_citizen_id else record.card(query.number)
    if record is None or card is None:
        return CardCheck(unknown(query))
    person = record.person
    if _name(query.full_name) != _name(person.full_name):
        same_first = _name(query.full_name)[:1] == _name(person.full_name)[:1]
        return CardCheck(Code.WRONG_NAME_FIRST_RIGHT if same_first else Code.WRONG_NAME)
    if not query.birth.matches(Birth.of_record(person.date_of_birth)):
        return CardCheck(Code.WRONG_BIRTH)
    newest = max(record.cards, key=lambda c: (c.valid_from, c.number))
    if newest.valid_from > card.valid_from and card.valid_from <= today:
        code = Code.OLD_VALID_NEW_ISSUED if card.covers(today) else Code.OLD_EXPIRED_NEW_ISSUED
    else:
        code = Code.VALID if card.covers(today) else Code.EXPIRED
    return CardCheck(code, record, card, newest)


def _name(text: str) -> str:
    """A name as compared: NFC, upper case, single spaces (the population database and the
    cards write names in upper case; hospital software in either)."""
    return " ".join(unicodedata.normalize("NFC", text).upper().split())
