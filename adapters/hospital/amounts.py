"""The money checks of QĐ 130 visits: line amounts, line splits and XML1 totals (QD130.md C2).

Each check reads a visit's facts (``rules.VisitFacts``) and yields one ``Issue`` per failure;
``adapters.hospital.rules`` gives them their ids. Money is compared with ``Decimal``: a formula's
result is rounded to 2 decimals half-up (the decision: "làm tròn số đến 2 chữ số thập phân") and a
stated amount may differ from it by at most ``TOLERANCE``. One unit of the last decimal (0.01 VND,
no money) absorbs exporters that round an intermediate product, round half-even or sum in binary
floating point; a larger difference is a wrong amount. A formula with an empty operand is not
checked (which fields are required is the XSD's business); in sums an empty amount counts as 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from adapters.hospital.lines import DRUGS, SERVICES

if TYPE_CHECKING:  # rules imports this module to register its checks
    from adapters.hospital.rules import VisitFacts
    from gateway.errors import Issue

TOLERANCE = Decimal("0.01")
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)
# Cost groups counted in T_VTYT: 10 supplies in the benefit list (the vendor formula [S1]) and 11
# supplies paid by ratio (QĐ 5937 App. 3 as recalled in C4, not verified in QD130.md).
SUPPLY_GROUPS = frozenset({"10", "11"})

_BV, _BH = "amount_at_hospital_prices", "amount_within_insurance_scope"
_OTHER_PARTS = (
    "other_sources_state_budget",
    "other_sources_foreign_aid",
    "other_sources_domestic_aid",
    "other_sources_remaining",
)


def _dec(values: Mapping[str, Any], name: str) -> Decimal | None:
    value = values.get(name)
    return None if value is None else Decimal(value)


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _near(stated: Decimal, *candidates: Decimal) -> bool:
    return any(abs(stated - candidate) <= TOLERANCE for candidate in candidates)


# --- Lines ---------------------------------------------------------------------------------------


def xml2_amounts(f: VisitFacts) -> Iterator[Issue]:
    """THANH_TIEN_BV = SO_LUONG × DON_GIA; THANH_TIEN_BH = … × TYLE_TT_BH/100 [S2 Bảng 2 20–21]."""
    for i, line in enumerate(f.lines(DRUGS)):
        qty, price = _dec(line, "quantity"), _dec(line, "unit_price")
        bv, bh, ratio = _dec(line, _BV), _dec(line, _BH), line.get("insurance_ratio_pct")
        if qty is None or price is None:
            continue
        expected = _money(qty * price)
        if bv is not None and not _near(bv, expected):
            message = f"THANH_TIEN_BV {bv} is not SO_LUONG × DON_GIA = {expected}"
            yield f.at_line(DRUGS, i, "THANH_TIEN_BV", message)
        if bh is not None and ratio is not None:
            expected = _money(qty * price * ratio / _HUNDRED)
            if not _near(bh, expected):
                message = (
                    f"THANH_TIEN_BH {bh} is not SO_LUONG × DON_GIA × TYLE_TT_BH/100 = {expected}"
                )
                yield f.at_line(DRUGS, i, "THANH_TIEN_BH", message)


def xml3_amounts(f: VisitFacts) -> Iterator[Issue]:
    """THANH_TIEN_BV and THANH_TIEN_BH of XML3 rows [S2 Bảng 3 19–20 with the 4750 erratum]."""
    for i, line in enumerate(f.lines(SERVICES)):
        qty = _dec(line, "quantity")
        price_bv, price_bh = _dec(line, "unit_price_hospital"), _dec(line, "unit_price_insurance")
        bv, bh, ratio_bh = _dec(line, _BV), _dec(line, _BH), line.get("insurance_ratio_pct")
        # TYLE_TT_DV is written for special services; none written means no reduction.
        ratio_dv = Decimal(line.get("service_ratio_pct", 100))
        if qty is None:
            continue
        if bv is not None and price_bv is not None:
            # SO_LUONG × DON_GIA_BV × TYLE_TT_DV/100 (4750 erratum), or the vendor variant where
            # the hospital waives the reduced part of the insured price [C2, S19].
            official = _money(qty * price_bv * ratio_dv / _HUNDRED)
            variant = official
            if price_bh is not None:
                variant = _money(qty * price_bv - qty * price_bh * (_HUNDRED - ratio_dv) / _HUNDRED)
            if not _near(bv, official, variant):
                message = (
                    f"THANH_TIEN_BV {bv} is not SO_LUONG × DON_GIA_BV × TYLE_TT_DV/100 = {official}"
                )
                yield f.at_line(SERVICES, i, "THANH_TIEN_BV", message)
        if bh is not None and price_bh is not None and ratio_bh is not None:
            # SO_LUONG × DON_GIA_BH × TYLE_TT_BH/100, also × TYLE_TT_DV/100 for a special ratio
            # (shared bed, repeat exam) [S2 Bảng 3 20]; the two agree when TYLE_TT_DV is 100.
            plain = _money(qty * price_bh * ratio_bh / _HUNDRED)
            special = _money(qty * price_bh * ratio_dv / _HUNDRED * ratio_bh / _HUNDRED)
            if not _near(bh, plain, special):
                message = (
                    f"THANH_TIEN_BH {bh} is not SO_LUONG × DON_GIA_BH × TYLE_TT_BH/100 = {plain}"
                )
                yield f.at_line(SERVICES, i, "THANH_TIEN_BH", message)


def line_split(f: VisitFacts) -> Iterator[Issue]:
    """Without other sources: T_BHTT + T_BNCCT = THANH_TIEN_BH, T_BNTT = BV − BH [C2, S18]."""
    for spec in (DRUGS, SERVICES):
        for i, line in enumerate(f.lines(spec)):
            if (_dec(line, "other_sources") or _ZERO) != 0:
                continue  # other sources are deducted in the decision's steps (a), (b), (c)
            bv, bh = _dec(line, _BV), _dec(line, _BH)
            paid, copay = _dec(line, "insurance_payment"), _dec(line, "patient_copayment")
            self_pay = _dec(line, "patient_self_pay")
            if bh is None:
                continue
            if paid is not None and copay is not None and not _near(paid + copay, bh):
                message = f"T_BHTT {paid} + T_BNCCT {copay} is not THANH_TIEN_BH {bh}"
                yield f.at_line(spec, i, "T_BHTT", message)
            if bv is not None and self_pay is not None and not _near(self_pay, bv - bh):
                message = f"T_BNTT {self_pay} is not THANH_TIEN_BV − THANH_TIEN_BH = {bv - bh}"
                yield f.at_line(spec, i, "T_BNTT", message)


def line_other_sources(f: VisitFacts) -> Iterator[Issue]:
    """T_NGUONKHAC = T_NGUONKHAC_NSNN + _VTNN + _VTTN + _CL [S2 Bảng 2 26]."""
    for spec in (DRUGS, SERVICES):
        for i, line in enumerate(f.lines(spec)):
            stated = _dec(line, "other_sources")
            parts = sum((_dec(line, name) or _ZERO for name in _OTHER_PARTS), _ZERO)
            if stated is not None and not _near(stated, parts):
                message = f"T_NGUONKHAC {stated} is not the sum of its four parts = {parts}"
                yield f.at_line(spec, i, "T_NGUONKHAC", message)


# --- XML1 totals ---------------------------------------------------------------------------------

Terms = Callable[["VisitFacts"], Iterable[Any]]


def _costs(f: VisitFacts) -> Iterator[dict[str, Any]]:
    yield from f.lines(DRUGS)
    yield from f.lines(SERVICES)


def _column(name: str) -> Terms:
    return lambda f: (line.get(name) for line in _costs(f))


def _supplies(f: VisitFacts) -> Iterator[Any]:
    return (x.get(_BV) for x in f.lines(SERVICES) if x.get("cost_group_code") in SUPPLY_GROUPS)


def _fee_for_service(f: VisitFacts) -> Iterator[Any]:
    return (x.get("insurance_payment") for x in _costs(f) if x.get("payment_method_code") == "1")


# (XML1 field, payload name, formula as the decision writes it [S2 Bảng 1 44–52], terms summed).
SUMS: tuple[tuple[str, str, str, Terms], ...] = (
    ("T_THUOC", "drugs", "Σ XML2.THANH_TIEN_BV", lambda f: (x.get(_BV) for x in f.lines(DRUGS))),
    ("T_VTYT", "medical_supplies", "Σ XML3.THANH_TIEN_BV of supplies (MA_NHOM 10, 11)", _supplies),
    ("T_TONGCHI_BV", "total_at_hospital_prices", "Σ THANH_TIEN_BV of XML2, XML3", _column(_BV)),
    ("T_TONGCHI_BH", "total_within_insurance_scope", "Σ THANH_TIEN_BH of XML2, XML3",
     _column(_BH)),
    ("T_BNTT", "patient_self_pay", "Σ T_BNTT of XML2, XML3", _column("patient_self_pay")),
    ("T_BNCCT", "patient_copayment", "Σ T_BNCCT of XML2, XML3", _column("patient_copayment")),
    ("T_NGUONKHAC", "other_sources", "Σ T_NGUONKHAC of XML2, XML3", _column("other_sources")),
    ("T_BHTT_GDV", "insurance_payment_outside_package",
     "Σ T_BHTT of XML2, XML3 lines paid fee-for-service (MA_PTTT 1)", _fee_for_service),
)  # fmt: skip


def total(
    field: str, name: str, formula: str, terms: Terms
) -> Callable[[VisitFacts], Iterator[Issue]]:
    """The check that XML1 ``field`` (payload ``totals.name``) equals ``formula``."""

    def check(f: VisitFacts) -> Iterator[Issue]:
        stated = _dec(f.totals, name)
        expected = sum((Decimal(t) for t in terms(f) if t is not None), _ZERO)
        if stated is not None and not _near(stated, expected):
            yield f.at_summary(field, f"{field} {stated} is not {formula} = {expected}")

    return check


def t_bhtt(f: VisitFacts) -> Iterator[Issue]:
    """T_BHTT = T_TONGCHI_BH − T_BNCCT, the explicit formula of the decision [S2 Bảng 1 50]."""
    stated = _dec(f.totals, "insurance_payment")
    scope = _dec(f.totals, "total_within_insurance_scope")
    copay = _dec(f.totals, "patient_copayment")
    if stated is None or scope is None or copay is None:
        return
    if not _near(stated, scope - copay):
        message = f"T_BHTT {stated} is not T_TONGCHI_BH − T_BNCCT = {scope - copay}"
        yield f.at_summary("T_BHTT", message)
