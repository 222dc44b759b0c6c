"""The business rules of QĐ 130 claim batches, each with a stable id (QD130.md section C).

A rule reads a visit's normalized payload (``visit.normalize_visit``) and its tables, or a batch's
envelope, and yields one ``Issue`` per failure; ``check_visit`` and ``check_batch`` stamp each
issue with the rule id. Every id is listed in ``docs/qd130-rules.md`` (a test keeps the two in
step). Rules cover only what cannot be true of a correct claim; what is merely suspicious (orders
dated outside the stay, large quantities) is a signal (``adapters.hospital.flags``) instead. The
money checks and their tolerance are in ``adapters.hospital.amounts``. Codes whose list the XSD
already enforces are checked again: defense in depth, and an XSD integer accepts "01" or "+1"
where the list has "1".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Generic, Literal, TypeVar

from lxml import etree

from adapters.hospital import amounts, lines
from adapters.hospital.lines import DRUGS, PARACLINICAL, SERVICES, LineTable
from gateway.errors import Issue
from gateway.sirecords.ports import CardRegister, HeldCard

Scope = Literal["visit", "batch"]
F = TypeVar("F")


@dataclass(frozen=True)
class Rule(Generic[F]):
    """One business rule: stable id, scope, one-line description, check, QD130.md source tag."""

    id: str
    scope: Scope
    description: str
    check: Callable[[F], Iterable[Issue]]
    source: str


class VisitFacts:
    """What the visit rules read: the payload, and the tables to point issues at rows."""

    def __init__(
        self,
        tables: Mapping[str, etree._Element],
        payload: Mapping[str, Any],
        earlier: Mapping[str, int] | None = None,
        register: CardRegister | None = None,
    ) -> None:
        self.tables = tables
        # The SI records' cards, when the deployment checks claims against them.
        self.register = register
        self.payload = payload
        # MA_LK → number of the first HOSO that carries it, for the HOSOs before this one.
        self.earlier: Mapping[str, int] = earlier or {}
        self.visit: Mapping[str, Any] = payload.get("visit", {})
        self.totals: Mapping[str, Any] = payload.get("totals", {})
        self._rows: dict[str, list[etree._Element]] = {}

    def lines(self, spec: LineTable) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.payload.get(spec.section, [])
        return found

    def at_line(self, spec: LineTable, index: int, field: str, message: str) -> Issue:
        """An issue about ``field`` of the ``index``-th row of ``spec``'s table."""
        if spec.kind not in self._rows:
            table = self.tables.get(spec.kind)
            self._rows[spec.kind] = [] if table is None else lines.rows(table, spec)
        rows = self._rows[spec.kind]
        path = None
        if index < len(rows):
            path = f"{rows[index].getroottree().getpath(rows[index])}/{field}"
        return Issue(message=message, path=path, table=spec.kind)

    @staticmethod
    def at_summary(field: str, message: str) -> Issue:
        return Issue(message=message, path=f"/TONG_HOP/{field}", table="XML1")


Check = Callable[[VisitFacts], Iterator[Issue]]


@dataclass(frozen=True)
class BatchFacts:
    """What the batch rules read: the envelope and the number of HOSO it holds."""

    root: etree._Element
    hoso_count: int


# --- Links and counts [C1] ----------------------------------------------------------------------


def _link(f: VisitFacts) -> Iterator[Issue]:
    key = f.visit.get("visit_key")
    for spec in lines.TABLES:
        for i, line in enumerate(f.lines(spec)):
            if (sent := line.get("visit_key")) != key:
                yield f.at_line(spec, i, "MA_LK", f"MA_LK {sent!r} is not the visit's {key!r}")


def _unique(f: VisitFacts) -> Iterator[Issue]:
    key = f.visit.get("visit_key")
    if key is not None and key in f.earlier:
        yield f.at_summary(
            "MA_LK", f"MA_LK {key} is already HOSO {f.earlier[key]} of this batch: one HOSO a visit"
        )


def _count(b: BatchFacts) -> Iterator[Issue]:
    sent = (b.root.findtext("THONGTINHOSO/SOLUONGHOSO") or "").strip()
    if not sent.isdigit() or int(sent) != b.hoso_count:
        yield Issue(
            message=f"SOLUONGHOSO {sent!r} is not the number of HOSO ({b.hoso_count})",
            path="/GIAMDINHHS/THONGTINHOSO/SOLUONGHOSO",
        )


# --- Fields the XSD cannot require [B] -----------------------------------------------------------
# A paraclinical test whose specimen or patient is sent to another facility is coded in XML3
# MA_DICH_VU as XX.YYYY.ZZZZ.K.WWWWW, WWWWW being the facility that performs it (QĐ 130 Bảng 3
# field 3 [S2]). QĐ 4750 lets such a line leave NGAY_YL, NGAY_TH_YL, MA_BAC_SI and NGUOI_THUC_HIEN
# out. XSD 1.0 cannot make a field depend on another one's value, so xml3.xsd makes them optional
# everywhere; a field required on every other line gets a rule here (MA_BAC_SI so far).
_SENT_OUT = re.compile(r"[0-9]{2}\.[0-9]{4}\.[0-9]{4}\.K\.[0-9A-Za-z]{5}")


def _sent_out(line: Mapping[str, Any]) -> bool:
    """Whether an XML3 line is a paraclinical test sent to another facility."""
    code = line.get("service_code")
    return code is not None and _SENT_OUT.fullmatch(code) is not None


def _filled_unless_sent_out(field: str, name: str) -> Check:
    """XML3 ``field`` (payload ``name``) is filled on every line but a test sent out."""

    def check(f: VisitFacts) -> Iterator[Issue]:
        for i, line in enumerate(f.lines(SERVICES)):
            if not line.get(name) and not _sent_out(line):
                message = (
                    f"{field} is missing or empty; only a paraclinical test sent to another "
                    "facility (MA_DICH_VU coded XX.YYYY.ZZZZ.K.WWWWW) may leave it out"
                )
                yield f.at_line(SERVICES, i, field, message)

    return check


# --- Dates and cards [C3] -----------------------------------------------------------------------
# Date-times are ISO 8601 strings of one shape and one offset (+07:00): they compare as strings.


def _stay(f: VisitFacts) -> Iterator[Issue]:
    arrived, admitted = f.visit.get("arrived_at"), f.visit.get("admitted_at")
    discharged = f.visit.get("discharged_at")
    if arrived and admitted and admitted < arrived:
        message = f"NGAY_VAO_NOI_TRU {admitted} is before NGAY_VAO {arrived}"
        yield f.at_summary("NGAY_VAO_NOI_TRU", message)
    if admitted and discharged and discharged < admitted:
        yield f.at_summary("NGAY_RA", f"NGAY_RA {discharged} is before NGAY_VAO_NOI_TRU {admitted}")
    if arrived and discharged and discharged < arrived:
        yield f.at_summary("NGAY_RA", f"NGAY_RA {discharged} is before NGAY_VAO {arrived}")


def _execution(f: VisitFacts) -> Iterator[Issue]:
    for spec in (DRUGS, SERVICES):
        for i, line in enumerate(f.lines(spec)):
            ordered, performed = line.get("ordered_at"), line.get("performed_at")
            if ordered and performed and performed < ordered:
                message = f"NGAY_TH_YL {performed} is before NGAY_YL {ordered}"
                yield f.at_line(spec, i, "NGAY_TH_YL", message)


def _result(f: VisitFacts) -> Iterator[Issue]:
    first_order: dict[str, str] = {}
    for i, line in enumerate(f.lines(SERVICES)):
        ordered, resulted = line.get("ordered_at"), line.get("resulted_at")
        code = line.get("service_code")
        if ordered and code and (code not in first_order or ordered < first_order[code]):
            first_order[code] = ordered
        if ordered and resulted and resulted < ordered:
            yield f.at_line(
                SERVICES, i, "NGAY_KQ", f"NGAY_KQ {resulted} is before NGAY_YL {ordered}"
            )
    # XML4 has no order time of its own: a result cannot precede the first XML3 order of the
    # service it belongs to (same MA_DICH_VU).
    for i, line in enumerate(f.lines(PARACLINICAL)):
        resulted, code = line.get("resulted_at"), line.get("service_code")
        ordered = first_order.get(code) if code else None
        if ordered and resulted and resulted < ordered:
            message = f"NGAY_KQ {resulted} is before NGAY_YL {ordered} of {code} in XML3"
            yield f.at_line(PARACLINICAL, i, "NGAY_KQ", message)


def _covers(card: Mapping[str, Any], day: str) -> bool:
    # A bound left empty does not contradict the arrival date.
    valid_from, valid_to = card["valid_from"], card["valid_to"]
    return (valid_from is None or valid_from <= day) and (valid_to is None or day <= valid_to)


def _card(f: VisitFacts) -> Iterator[Issue]:
    cards: list[dict[str, Any]] = f.payload.get("cards", [])
    arrived = f.visit.get("arrived_at")
    if not cards or not arrived:
        return
    day = arrived[:10]
    if not any(_covers(card, day) for card in cards):
        spans = ", ".join(f"{c['number']} {c['valid_from']}..{c['valid_to']}" for c in cards)
        yield f.at_summary("GT_THE_TU", f"no HI card is valid on the arrival date {day}: {spans}")


# Against the SI record [C3, S2: the card is looked up at VSS at reception]: only where the
# deployment checks cards (GATEWAY_SI_CARD_CHECK), since without loaded records every card is
# unknown. What the claim wrote of validity is QD130-CARD-VALID's; these read VSS's.


def _si_cards(f: VisitFacts) -> Iterator[tuple[int, str, HeldCard | None]]:
    if f.register is None:
        return
    for i, sent in enumerate(f.payload.get("cards", [])):
        number = sent.get("number")
        if number:
            yield i, number, f.register.held_card(number)


def _masked(number: str) -> str:
    return f"{number[:3]}…{number[-4:]}"


def _card_known(f: VisitFacts) -> Iterator[Issue]:
    for i, number, held in _si_cards(f):
        if held is None:
            yield f.at_summary("MA_THE_BHYT", f"card {i + 1} ({_masked(number)}) is not a VSS card")


def _card_si_valid(f: VisitFacts) -> Iterator[Issue]:
    arrived = f.visit.get("arrived_at")
    known = [(number, held.card) for _, number, held in _si_cards(f) if held is not None]
    if not known or not arrived:
        return
    day = date.fromisoformat(arrived[:10])
    if not any(card.covers(day) for _, card in known):
        spans = ", ".join(f"{_masked(n)} {c.valid_from}..{c.valid_to}" for n, c in known)
        message = (
            f"by VSS's records no card of the claim is valid on the arrival date {day}: {spans}"
        )
        yield f.at_summary("MA_THE_BHYT", message)


def _card_holder(f: VisitFacts) -> Iterator[Issue]:
    citizen = f.payload.get("patient", {}).get("citizen_id")
    if not citizen:
        return
    for i, number, held in _si_cards(f):
        if held is not None and held.citizen_id != citizen:
            yield f.at_summary("SO_CCCD", f"card {i + 1} ({_masked(number)}) is another person's")


# SO_NGAY_DTRI by MA_LOAI_KCB [C3, S2 Bảng 1 row 38]: 0 for 01/07/09; "Ngày RA − ngày VÀO + 1"
# (calendar days) for 02/03/04/06. 05 (days of medication) and 08 (days with a service) cannot be
# derived from the summary and are not checked.
_NO_DAYS = frozenset({"01", "07", "09"})
_STAY_DAYS = frozenset({"02", "03", "04", "06"})


def _treatment_days(f: VisitFacts) -> Iterator[Issue]:
    care, days = f.visit.get("care_type_code"), f.visit.get("treatment_days")
    arrived, discharged = f.visit.get("arrived_at"), f.visit.get("discharged_at")
    if days is None:
        return
    if care in _NO_DAYS:
        expected, formula = 0, f"0 for MA_LOAI_KCB {care}"
    elif care in _STAY_DAYS and arrived and discharged:
        stay = date.fromisoformat(discharged[:10]) - date.fromisoformat(arrived[:10])
        expected = stay.days + 1
        formula = f"NGAY_RA − NGAY_VAO + 1 = {expected} for MA_LOAI_KCB {care}"
    else:
        return
    if days != expected:
        yield f.at_summary("SO_NGAY_DTRI", f"SO_NGAY_DTRI {days} is not {formula}")


# --- Code lists [C4] ----------------------------------------------------------------------------


def _code_check(field: str, where: str | tuple[LineTable, ...], name: str, allowed: str) -> Check:
    """``field`` (payload ``where.name``; ``where``: a XML1 section or line tables) is listed."""
    codes = frozenset(allowed.split())

    def check(f: VisitFacts) -> Iterator[Issue]:
        if isinstance(where, str):
            value = f.payload.get(where, {}).get(name)
            if value is not None and value not in codes:
                yield f.at_summary(field, f"{field} {value!r} is not one of {allowed}")
            return
        for spec in where:
            for i, line in enumerate(f.lines(spec)):
                if (value := line.get(name)) is not None and value not in codes:
                    yield f.at_line(spec, i, field, f"{field} {value!r} is not one of {allowed}")

    return check


_COSTS = (DRUGS, SERVICES)
# (field, XML1 section or line tables, payload name, the list, what the list means, source).
_CODES: tuple[tuple[str, str | tuple[LineTable, ...], str, str, str, str], ...] = (
    ("GIOI_TINH", "patient", "gender_code", "1 2 3", "sex", "C4 [S2]"),
    ("KET_QUA_DTRI", "visit", "outcome_code", "1 2 3 4 5 6 7 8", "treatment outcome", "C4 [S2]"),
    ("MA_LOAI_RV", "visit", "discharge_type_code", "1 2 3 4 5", "discharge type", "C4 [S1][S2]"),
    ("MA_LOAI_KCB", "visit", "care_type_code", "01 02 03 04 05 06 07 08 09", "type of care",
     "C4 [S2][S21]"),
    ("PHAM_VI", _COSTS, "scope_code", "1 2 3", "XML2/XML3 benefit scope", "C4 [S2]"),
    ("MA_PTTT", _COSTS, "payment_method_code", "1 2 3", "XML2/XML3 payment method", "C4 [S2]"),
    ("NGUON_CTRA", (DRUGS,), "funding_source_code", "1 2 3 4", "XML2 drug funding source",
     "C4 [S2]"),
    ("PP_VO_CAM", (SERVICES,), "anaesthesia_code", "1 2 3 4", "XML3 anaesthesia method",
     "C4 [S2]"),
)  # fmt: skip


# --- The rules ----------------------------------------------------------------------------------


def _visit(rule_id: str, check: Check, source: str, description: str) -> Rule[VisitFacts]:
    return Rule(rule_id, "visit", description, check, source)


VISIT_RULES: tuple[Rule[VisitFacts], ...] = (
    _visit("QD130-LINK-MA_LK", _link, "C1 [S2]",
           "every row of XML2–XML5 carries the MA_LK of XML1"),
    _visit("QD130-UNIQUE-MA_LK", _unique, "C1 [S3][S12]",
           "a MA_LK stands in one HOSO of a batch; a later HOSO repeating it is refused"),
    # QĐ 4750, Bảng 3 field 33 (MA_BAC_SI), the last note of its amendment: "Trường này không
    # bắt buộc trong trường hợp thực hiện chuyển gửi xét nghiệm cận lâm sàng."
    _visit("QD130-REQUIRED-MA_BAC_SI",
           _filled_unless_sent_out("MA_BAC_SI", "ordering_clinician_ids"), "B [S2]",
           "XML3 MA_BAC_SI is filled, except on a paraclinical test sent to another facility "
           "(MA_DICH_VU XX.YYYY.ZZZZ.K.WWWWW)"),
    _visit("QD130-AMOUNT-XML2", amounts.xml2_amounts, "C2 [S2]",
           "XML2 THANH_TIEN_BV = SO_LUONG × DON_GIA, THANH_TIEN_BH = that × TYLE_TT_BH/100"),
    _visit("QD130-AMOUNT-XML3", amounts.xml3_amounts, "C2 [S2][S19]",
           "XML3 THANH_TIEN_BV = SO_LUONG × DON_GIA_BV × TYLE_TT_DV/100 (or the vendor variant), "
           "THANH_TIEN_BH = SO_LUONG × DON_GIA_BH × TYLE_TT_BH/100 (× TYLE_TT_DV/100 if special)"),
    _visit("QD130-LINE-SPLIT", amounts.line_split, "C2 [S2][S18]",
           "a line without other sources has T_BHTT + T_BNCCT = THANH_TIEN_BH and "
           "T_BNTT = THANH_TIEN_BV − THANH_TIEN_BH"),
    _visit("QD130-LINE-T_NGUONKHAC", amounts.line_other_sources, "C2 [S2]",
           "a line's T_NGUONKHAC = T_NGUONKHAC_NSNN + _VTNN + _VTTN + _CL"),
    *(
        _visit(f"QD130-TOTAL-{field}", amounts.total(field, name, formula, terms), "C2 [S2]",
               f"XML1 {field} = {formula}")
        for field, name, formula, terms in amounts.SUMS
    ),
    _visit("QD130-TOTAL-T_BHTT", amounts.t_bhtt, "C2 [S2]",
           "XML1 T_BHTT = T_TONGCHI_BH − T_BNCCT"),
    _visit("QD130-DATE-STAY", _stay, "C3 [S1][S2]",
           "NGAY_VAO ≤ NGAY_VAO_NOI_TRU ≤ NGAY_RA, and NGAY_VAO ≤ NGAY_RA"),
    _visit("QD130-DATE-EXECUTION", _execution, "C3 [S17]",
           "XML2/XML3 NGAY_TH_YL ≥ NGAY_YL"),
    _visit("QD130-DATE-RESULT", _result, "C3 [S17]",
           "XML3 NGAY_KQ ≥ NGAY_YL; XML4 NGAY_KQ ≥ the first XML3 NGAY_YL of its MA_DICH_VU"),
    _visit("QD130-CARD-VALID", _card, "C3 [S2][S20]",
           "when cards are sent, one is valid on the arrival date (GT_THE_TU ≤ NGAY_VAO ≤ "
           "GT_THE_DEN)"),
    _visit("QD130-CARD-KNOWN", _card_known, "C3 [S2]",
           "with GATEWAY_SI_CARD_CHECK, every MA_THE_BHYT sent is a card of VSS's SI records"),
    _visit("QD130-CARD-SI-VALID", _card_si_valid, "C3 [S2][S20]",
           "with GATEWAY_SI_CARD_CHECK, one card sent is valid on the arrival date by VSS's SI "
           "records (their validity, not the claim's GT_THE_TU/GT_THE_DEN)"),
    _visit("QD130-CARD-HOLDER", _card_holder, "C3 [S2]",
           "with GATEWAY_SI_CARD_CHECK, a card sent with SO_CCCD is held by that citizen in "
           "VSS's SI records"),
    _visit("QD130-SO_NGAY_DTRI", _treatment_days, "C3 [S2]",
           "SO_NGAY_DTRI is 0 for MA_LOAI_KCB 01/07/09, NGAY_RA − NGAY_VAO + 1 days for "
           "02/03/04/06"),
    *(
        _visit(f"QD130-CODE-{field}", _code_check(field, where, name, allowed), source,
               f"{field} ({meaning}) is one of {allowed}")
        for field, where, name, allowed, meaning, source in _CODES
    ),
)  # fmt: skip

BATCH_RULES: tuple[Rule[BatchFacts], ...] = (
    Rule("QD130-COUNT", "batch", "SOLUONGHOSO equals the number of HOSO", _count, "A, C1 [S3]"),
)

RULES: tuple[Rule[VisitFacts] | Rule[BatchFacts], ...] = (*VISIT_RULES, *BATCH_RULES)


def check_visit(
    tables: Mapping[str, etree._Element],
    payload: Mapping[str, Any],
    *,
    earlier: Mapping[str, int] | None = None,
    register: CardRegister | None = None,
) -> list[Issue]:
    """The failures of every visit rule on one normalized visit, each stamped with its rule id;
    ``earlier`` maps the MA_LKs of the batch's earlier HOSOs to their numbers; ``register``
    holds the SI records' cards where claims are checked against them."""
    facts = VisitFacts(tables, payload, earlier, register)
    return [replace(issue, rule=rule.id) for rule in VISIT_RULES for issue in rule.check(facts)]


def check_batch(envelope_root: etree._Element, hoso_count: int) -> list[Issue]:
    """The failures of every batch rule on a GIAMDINHHS envelope that holds ``hoso_count`` HOSO."""
    facts = BatchFacts(envelope_root, hoso_count)
    return [replace(issue, rule=rule.id) for rule in BATCH_RULES for issue in rule.check(facts)]
