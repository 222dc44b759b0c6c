"""Faults to inject into synthetic visits, for the tests, the demo and the bulk-ingest generator.

A fault breaks one documented rule (or, for the fraud signals, none) and as little else as it
can; every faulted batch is still well-formed and signed after the fault went in. Two kinds:

- data faults change the visit itself (``inject``), so every table that shows the changed value
  agrees with the others and the amounts and totals stay consistent;
- row faults are edits of the written rows (``edit``, called by the table writers for the
  faults the visit carries), for values that no consistent visit could produce.

``count_mismatch`` is the one batch fault: ``make_batch`` applies it to the envelope.
References in brackets are sections of QD130.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from adapters.hospital.synth.model import Visit

FAULTS: dict[str, str] = {
    "line_amount": (
        "XML2 row 1: THANH_TIEN_BV 1000.00 above SO_LUONG × DON_GIA, the extra billed to the "
        "patient (row T_BNTT, XML1 T_THUOC / T_TONGCHI_BV / T_BNTT follow): breaks THANH_TIEN_BV "
        "= SO_LUONG × DON_GIA [C2]"
    ),
    "total_mismatch": (
        "XML1 T_THUOC 1000.00 above Σ XML2 THANH_TIEN_BV: breaks T_THUOC = Σ THANH_TIEN_BV [C2]"
    ),
    "bhtt_formula": (
        "XML1 T_BHTT 1000.00 above T_TONGCHI_BH − T_BNCCT: breaks T_BHTT = T_TONGCHI_BH − "
        "T_BNCCT [C2]"
    ),
    "date_order": (
        "XML1 NGAY_RA one day before NGAY_VAO: breaks NGAY_VAO ≤ NGAY_RA; the orders, results "
        "and notes then also lie after NGAY_RA [C3]"
    ),
    "order_after_discharge": (
        "the last drug line (XML2 NGAY_YL and NGAY_TH_YL) ordered 3 hours after NGAY_RA: breaks "
        "orders within [NGAY_VAO, NGAY_RA] [C3]"
    ),
    "card_expired": (
        "a one-year card ending the day before NGAY_VAO (GT_THE_TU / GT_THE_DEN in XML1 and the "
        "check-in): breaks card validity covering the visit [C3]"
    ),
    "treatment_days": (
        "XML1 SO_NGAY_DTRI 2 above the rule for its MA_LOAI_KCB (0 for 01, NGAY_RA − NGAY_VAO "
        "+ 1 for 03): breaks the SO_NGAY_DTRI rule [C3]"
    ),
    "ma_lk_mismatch": (
        "the last XML2 row carries another visit's MA_LK (same facility and day, next index): "
        "breaks every row joining its XML1 by MA_LK [C1]; passes the XSDs"
    ),
    "bad_code": (
        'MA_LOAI_KCB "10" in XML1 and the check-in: outside the 01..09 list [C4]; passes the '
        "XSDs, which fix only its 2-digit shape (KET_QUA_DTRI 9 or MA_LOAI_RV 7 would fail them)"
    ),
    "schema_invalid": "XML1 GIOI_TINH 4: outside 1..3 [C4], fails xsd/qd130/xml1.xsd",
    "high_quantity": (
        "drug line 1 with SO_LUONG 500 in one order, amounts and totals consistent: a fraud "
        "signal, no rule broken"
    ),
    "service_outside_stay": (
        "the last paraclinical XML3 row executed (NGAY_TH_YL) a day after NGAY_RA, its result "
        "(XML3 NGAY_KQ and the XML4 rows) 40 minutes later: a fraud signal, outside the stay [C3]"
    ),
    "count_mismatch": (
        "batch: SOLUONGHOSO one more than the HOSO sent: breaks SOLUONGHOSO = number of HOSO "
        "[A]; passes the envelope XSD"
    ),
}

BATCH_FAULTS = frozenset({"count_mismatch"})

_EXTRA = Decimal("1000.00")

Rows = list[dict[str, str]]


# --- Data faults ------------------------------------------------------------------------------


def _order_after_discharge(visit: Visit) -> Visit:
    *before, last = visit.drugs
    moved = replace(last, ngay_yl=visit.ngay_ra + timedelta(hours=3))
    return replace(visit, drugs=(*before, moved))


def _card_expired(visit: Visit) -> Visit:
    ends = visit.ngay_vao.date() - timedelta(days=1)
    return replace(visit, gt_the_tu=ends - timedelta(days=364), gt_the_den=ends)


def _high_quantity(visit: Visit) -> Visit:
    first, *after = visit.drugs
    return replace(visit, drugs=(replace(first, so_luong=Decimal(500)), *after))


def _service_outside_stay(visit: Visit) -> Visit:
    index = max(i for i, line in enumerate(visit.services) if line.ngay_kq is not None)
    line = visit.services[index]
    done = visit.ngay_ra + timedelta(days=1)
    result = done + timedelta(minutes=40)
    services = list(visit.services)
    services[index] = replace(line, ngay_th_yl=done, ngay_kq=result)
    findings = tuple(
        replace(f, ngay_kq=result)
        if (f.ma_dich_vu, f.ngay_kq) == (line.service.code, line.ngay_kq)
        else f
        for f in visit.findings
    )
    return replace(visit, services=tuple(services), findings=findings)


_DATA: dict[str, Callable[[Visit], Visit]] = {
    "order_after_discharge": _order_after_discharge,
    "card_expired": _card_expired,
    "high_quantity": _high_quantity,
    "service_outside_stay": _service_outside_stay,
}


def inject(visit: Visit, names: Iterable[str]) -> Visit:
    """``visit`` with the visit faults ``names``: the data faults applied to its data, all of
    them recorded in ``Visit.faults`` for the writers."""
    names = tuple(dict.fromkeys(names))
    for name in names:
        if name not in FAULTS or name in BATCH_FAULTS:
            raise ValueError(f"{name!r} is not a visit fault")
    for name in names:
        if name in _DATA:
            visit = _DATA[name](visit)
    return replace(visit, faults=(*visit.faults, *names)) if names else visit


# --- Row faults -------------------------------------------------------------------------------


def _add(row: dict[str, str], name: str, amount: Decimal) -> None:
    row[name] = f"{Decimal(row[name]) + amount:.2f}"


def _line_amount_row(visit: Visit, rows: Rows) -> None:
    _add(rows[0], "THANH_TIEN_BV", _EXTRA)
    _add(rows[0], "T_BNTT", _EXTRA)


def _line_amount_totals(visit: Visit, rows: Rows) -> None:
    for name in ("T_THUOC", "T_TONGCHI_BV", "T_BNTT"):
        _add(rows[0], name, _EXTRA)


def _total_mismatch(visit: Visit, rows: Rows) -> None:
    _add(rows[0], "T_THUOC", _EXTRA)


def _bhtt_formula(visit: Visit, rows: Rows) -> None:
    _add(rows[0], "T_BHTT", _EXTRA)


def _date_order(visit: Visit, rows: Rows) -> None:
    rows[0]["NGAY_RA"] = f"{visit.ngay_vao - timedelta(days=1):%Y%m%d%H%M}"


def _treatment_days(visit: Visit, rows: Rows) -> None:
    rows[0]["SO_NGAY_DTRI"] = str(visit.so_ngay_dtri + 2)


def other_ma_lk(visit: Visit) -> str:
    """The MA_LK of the next visit of the same facility and day (MA_LK ends in a 6-digit index)."""
    return f"{visit.ma_lk[:-6]}{(int(visit.ma_lk[-6:]) + 1) % 10**6:06d}"


def _ma_lk_mismatch(visit: Visit, rows: Rows) -> None:
    rows[-1]["MA_LK"] = other_ma_lk(visit)


def _bad_code(visit: Visit, rows: Rows) -> None:
    rows[0]["MA_LOAI_KCB"] = "10"


def _schema_invalid(visit: Visit, rows: Rows) -> None:
    rows[0]["GIOI_TINH"] = "4"


# fault → table (LOAIHOSO, or CHECKIN) → edit of that table's rows
_ROWS: dict[str, dict[str, Callable[[Visit, Rows], None]]] = {
    "line_amount": {"XML2": _line_amount_row, "XML1": _line_amount_totals},
    "total_mismatch": {"XML1": _total_mismatch},
    "bhtt_formula": {"XML1": _bhtt_formula},
    "date_order": {"XML1": _date_order},
    "treatment_days": {"XML1": _treatment_days},
    "ma_lk_mismatch": {"XML2": _ma_lk_mismatch},
    "bad_code": {"XML1": _bad_code, "CHECKIN": _bad_code},
    "schema_invalid": {"XML1": _schema_invalid},
}

assert set(_DATA) | set(_ROWS) | BATCH_FAULTS == set(FAULTS)


def edit(kind: str, visit: Visit, rows: Rows) -> None:
    """Apply to ``rows`` of table ``kind`` the row faults that ``visit`` carries."""
    if not rows:
        return
    for name in visit.faults:
        change = _ROWS.get(name, {}).get(kind)
        if change is not None:
            change(visit, rows)
