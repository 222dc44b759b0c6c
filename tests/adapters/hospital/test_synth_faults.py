"""Fault injection of the synthetic generator: each fault is visible in the signed batch, and
breaks what its description says (QD130.md sections A, C1-C4)."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from lxml import etree

from adapters.hospital import synth
from gateway.xml.parser import XmlLimits, parse
from tests.adapters.hospital.contracts import schema
from tests.support.dev_signing import DevSigning

FACILITY = "79071"
CREATED = date(2024, 6, 28)
COUNT = 4
EXTRA = Decimal("1000.00")
SCHEMAS = {
    "XML1": "qd130/xml1",
    "XML2": "qd130/xml2",
    "XML3": "qd130/xml3",
    "XML4": "qd130/xml4",
    "XML5": "qd130/xml5",
    "CHECKIN": "qd130/checkin",
    "ENVELOPE": "qd130/giamdinhhs",
}


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.XMLSchema]:
    return {kind: schema(f"{name}.xsd") for kind, name in SCHEMAS.items()}


def _tree(data: bytes) -> etree._Element:
    return parse(data, XmlLimits())


def _text(element: etree._Element, name: str) -> str:
    return element.findtext(name) or ""


def _money(element: etree._Element, name: str) -> Decimal:
    return Decimal(_text(element, name))


def _dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M")


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Hoso:
    """One decoded HOSO: its tables as trees, by LOAIHOSO."""

    def __init__(self, hoso: etree._Element) -> None:
        self.data = {
            _text(f, "LOAIHOSO"): base64.b64decode(_text(f, "NOIDUNGFILE"))
            for f in hoso.iterfind("FILEHOSO")
        }
        self.summary = _tree(self.data["XML1"])
        self.drugs = _tree(self.data["XML2"]).findall(".//CHI_TIET_THUOC")
        self.services = _tree(self.data["XML3"]).findall(".//CHI_TIET_DVKT")
        self.results = _tree(self.data["XML4"]).findall(".//CHI_TIET_CLS")

    def total(self, name: str, rows: list[etree._Element]) -> Decimal:
        return sum((_money(row, name) for row in rows), Decimal("0.00"))


def _batch(
    signing: DevSigning,
    schemas: dict[str, etree.XMLSchema],
    faults: list[str],
    *,
    seed: int = 21,
    wrapper: bool = True,
) -> tuple[etree._Element, list[synth.Visit]]:
    """A faulted batch, checked to be signed correctly and to pass the envelope XSD; the
    verified root, without its signature."""
    data, visits = synth.make_batch(
        random.Random(seed), signing.identity, FACILITY, COUNT, created=CREATED, faults=faults,
        wrapper=wrapper,
    )  # fmt: skip
    verified = signing.verify(_tree(data), "GIAMDINHHS", "CHUKYDONVI")
    assert schemas["ENVELOPE"].validate(verified.root), str(schemas["ENVELOPE"].error_log)
    return verified.root, visits


def _hosos(root: etree._Element) -> list[Hoso]:
    return [Hoso(hoso) for hoso in root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO")]


# --- The list ---------------------------------------------------------------------------------


def test_the_fault_list_is_the_documented_one() -> None:
    assert list(synth.FAULTS) == [
        "line_amount", "total_mismatch", "bhtt_formula", "date_order", "order_after_discharge",
        "card_expired", "treatment_days", "ma_lk_mismatch", "bad_code", "schema_invalid",
        "high_quantity", "service_outside_stay", "count_mismatch",
    ]  # fmt: skip
    assert set(synth.BATCH_FAULTS) == {"count_mismatch"}
    for description in synth.FAULTS.values():
        assert description and "\n" not in description


# --- Each fault, visible in the signed batch --------------------------------------------------


def _line_amount(hoso: Hoso, visit: synth.Visit) -> None:
    first, *_ = hoso.drugs
    product = _round(Decimal(_text(first, "SO_LUONG")) * Decimal(_text(first, "DON_GIA")))
    assert _money(first, "THANH_TIEN_BV") == product + EXTRA
    # The overcharge falls on the patient; the sums still add up.
    assert _money(first, "T_BNTT") == _money(first, "THANH_TIEN_BV") - _money(
        first, "THANH_TIEN_BH"
    )
    assert _money(hoso.summary, "T_THUOC") == hoso.total("THANH_TIEN_BV", hoso.drugs)
    rows = hoso.drugs + hoso.services
    assert _money(hoso.summary, "T_TONGCHI_BV") == hoso.total("THANH_TIEN_BV", rows)
    assert _money(hoso.summary, "T_BNTT") == hoso.total("T_BNTT", rows)


def _total_mismatch(hoso: Hoso, visit: synth.Visit) -> None:
    assert _money(hoso.summary, "T_THUOC") == hoso.total("THANH_TIEN_BV", hoso.drugs) + EXTRA


def _bhtt_formula(hoso: Hoso, visit: synth.Visit) -> None:
    expected = _money(hoso.summary, "T_TONGCHI_BH") - _money(hoso.summary, "T_BNCCT")
    assert _money(hoso.summary, "T_BHTT") == expected + EXTRA


def _date_order(hoso: Hoso, visit: synth.Visit) -> None:
    arrival = _dt(_text(hoso.summary, "NGAY_VAO"))
    assert _dt(_text(hoso.summary, "NGAY_RA")) == arrival - timedelta(days=1)


def _order_after_discharge(hoso: Hoso, visit: synth.Visit) -> None:
    discharge = _dt(_text(hoso.summary, "NGAY_RA"))
    *before, last = hoso.drugs
    assert _dt(_text(last, "NGAY_YL")) == discharge + timedelta(hours=3)
    assert _text(last, "NGAY_TH_YL") == _text(last, "NGAY_YL")
    assert all(_dt(_text(row, "NGAY_YL")) <= discharge for row in before)


def _card_expired(hoso: Hoso, visit: synth.Visit) -> None:
    arrival = _dt(_text(hoso.summary, "NGAY_VAO")).date()
    expired = f"{arrival - timedelta(days=1):%Y%m%d}"
    assert _text(hoso.summary, "GT_THE_DEN") == expired
    assert _text(hoso.summary, "GT_THE_TU") < expired
    checkin = _tree(synth.checkin(visit)).find(".//TRANG_THAI_KCB")
    assert checkin is not None and _text(checkin, "GT_THE_DEN") == expired


def _treatment_days(hoso: Hoso, visit: synth.Visit) -> None:
    arrival = _dt(_text(hoso.summary, "NGAY_VAO")).date()
    discharge = _dt(_text(hoso.summary, "NGAY_RA")).date()
    rule = 0 if _text(hoso.summary, "MA_LOAI_KCB") == "01" else (discharge - arrival).days + 1
    assert int(_text(hoso.summary, "SO_NGAY_DTRI")) == rule + 2


def _ma_lk_mismatch(hoso: Hoso, visit: synth.Visit) -> None:
    ma_lk = _text(hoso.summary, "MA_LK")
    *before, last = hoso.drugs
    assert _text(last, "MA_LK") == synth.other_ma_lk(visit) != ma_lk
    assert len(_text(last, "MA_LK")) == len(ma_lk)
    assert all(_text(row, "MA_LK") == ma_lk for row in before + hoso.services + hoso.results)


def _bad_code(hoso: Hoso, visit: synth.Visit) -> None:
    assert _text(hoso.summary, "MA_LOAI_KCB") == "10"
    checkin = _tree(synth.checkin(visit)).find(".//TRANG_THAI_KCB")
    assert checkin is not None and _text(checkin, "MA_LOAI_KCB") == "10"


def _schema_invalid(hoso: Hoso, visit: synth.Visit) -> None:
    assert _text(hoso.summary, "GIOI_TINH") == "4"


def _high_quantity(hoso: Hoso, visit: synth.Visit) -> None:
    first = hoso.drugs[0]
    assert _text(first, "SO_LUONG") == "500"
    assert _money(first, "THANH_TIEN_BV") == _round(500 * Decimal(_text(first, "DON_GIA")))
    assert _money(hoso.summary, "T_THUOC") == hoso.total("THANH_TIEN_BV", hoso.drugs)


def _service_outside_stay(hoso: Hoso, visit: synth.Visit) -> None:
    discharge = _dt(_text(hoso.summary, "NGAY_RA"))
    late = [row for row in hoso.services if _text(row, "NGAY_TH_YL")]
    late = [row for row in late if _dt(_text(row, "NGAY_TH_YL")) > discharge]
    assert len(late) == 1
    row = late[0]
    assert _dt(_text(row, "NGAY_TH_YL")) == discharge + timedelta(days=1)
    assert _dt(_text(row, "NGAY_YL")) <= discharge  # ordered during the stay
    result = _text(row, "NGAY_KQ")
    assert _dt(result) == discharge + timedelta(days=1, minutes=40)
    results = [r for r in hoso.results if _text(r, "MA_DICH_VU") == _text(row, "MA_DICH_VU")]
    assert results and all(_text(r, "NGAY_KQ") == result for r in results)


CHECKS: dict[str, Callable[[Hoso, synth.Visit], None]] = {
    "line_amount": _line_amount,
    "total_mismatch": _total_mismatch,
    "bhtt_formula": _bhtt_formula,
    "date_order": _date_order,
    "order_after_discharge": _order_after_discharge,
    "card_expired": _card_expired,
    "treatment_days": _treatment_days,
    "ma_lk_mismatch": _ma_lk_mismatch,
    "bad_code": _bad_code,
    "schema_invalid": _schema_invalid,
    "high_quantity": _high_quantity,
    "service_outside_stay": _service_outside_stay,
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_a_visit_fault_is_in_every_visit_of_a_signed_valid_batch(
    hospital_signing: DevSigning, schemas: dict[str, etree.XMLSchema], name: str
) -> None:
    root, visits = _batch(hospital_signing, schemas, [name])
    assert root.findtext("THONGTINHOSO/SOLUONGHOSO") == str(COUNT)
    hosos = _hosos(root)
    assert len(hosos) == len(visits) == COUNT
    for hoso, visit in zip(hosos, visits, strict=True):
        assert visit.faults == (name,)
        CHECKS[name](hoso, visit)
        # The batch holds exactly the tables the faulted visit writes.
        assert hoso.data == synth.tables(visit)
        for kind, data in hoso.data.items():
            valid = schemas[kind].validate(_tree(data))
            # Only schema_invalid breaks an XSD, and only XML1's.
            assert valid == (name != "schema_invalid" or kind != "XML1"), (kind, name)
        assert schemas["CHECKIN"].validate(_tree(synth.checkin(visit)))


def test_a_fault_breaks_nothing_else_in_the_money_rules(
    hospital_signing: DevSigning, schemas: dict[str, etree.XMLSchema]
) -> None:
    # bhtt_formula changes T_BHTT only: every other XML1 total still sums its rows [C2].
    root, _ = _batch(hospital_signing, schemas, ["bhtt_formula"])
    for hoso in _hosos(root):
        rows = hoso.drugs + hoso.services
        assert _money(hoso.summary, "T_THUOC") == hoso.total("THANH_TIEN_BV", hoso.drugs)
        for name, column in (
            ("T_TONGCHI_BV", "THANH_TIEN_BV"), ("T_TONGCHI_BH", "THANH_TIEN_BH"),
            ("T_BNTT", "T_BNTT"), ("T_BNCCT", "T_BNCCT"),
        ):  # fmt: skip
            assert _money(hoso.summary, name) == hoso.total(column, rows)


def test_count_mismatch_declares_one_visit_too_many(
    hospital_signing: DevSigning, schemas: dict[str, etree.XMLSchema]
) -> None:
    root, visits = _batch(hospital_signing, schemas, ["count_mismatch"])
    hosos = root.findall("THONGTINHOSO/DANHSACHHOSO/HOSO")
    assert len(hosos) == COUNT
    assert root.findtext("THONGTINHOSO/SOLUONGHOSO") == str(COUNT + 1)
    assert all(visit.faults == () for visit in visits)


def test_faults_combine_and_apply_to_bare_lists(
    hospital_signing: DevSigning, schemas: dict[str, etree.XMLSchema]
) -> None:
    faults = ["line_amount", "ma_lk_mismatch", "high_quantity", "count_mismatch"]
    root, visits = _batch(hospital_signing, schemas, faults, wrapper=False)
    assert root.findtext("THONGTINHOSO/SOLUONGHOSO") == str(COUNT + 1)
    for hoso, visit in zip(_hosos(root), visits, strict=True):
        assert visit.faults == ("line_amount", "ma_lk_mismatch", "high_quantity")
        assert _tree(hoso.data["XML2"]).tag == "DSACH_CHI_TIET_THUOC"
        first = hoso.drugs[0]
        assert _text(first, "SO_LUONG") == "500"
        product = _round(500 * Decimal(_text(first, "DON_GIA")))
        assert _money(first, "THANH_TIEN_BV") == product + EXTRA
        assert _text(hoso.drugs[-1], "MA_LK") == synth.other_ma_lk(visit)


# --- Rate and determinism ---------------------------------------------------------------------


def test_fault_rate_zero_gives_the_batch_without_faults(
    hospital_signing: DevSigning,
) -> None:
    identity = hospital_signing.identity
    _, clean = synth.make_batch(random.Random(5), identity, FACILITY, 6, created=CREATED)
    _, none = synth.make_batch(
        random.Random(5), identity, FACILITY, 6, created=CREATED,
        faults=list(synth.FAULTS), fault_rate=0.0,
    )  # fmt: skip
    assert none == clean


def test_fault_rate_picks_some_visits_and_is_deterministic(
    hospital_signing: DevSigning,
) -> None:
    identity = hospital_signing.identity

    def faulted() -> list[tuple[str, ...]]:
        _, visits = synth.make_batch(
            random.Random(9), identity, FACILITY, 40, created=CREATED,
            faults=["bhtt_formula", "card_expired"], fault_rate=0.3,
        )  # fmt: skip
        return [visit.faults for visit in visits]

    first = faulted()
    assert first == faulted()
    for name in ("bhtt_formula", "card_expired"):
        hits = sum(name in faults for faults in first)
        assert 0 < hits < 40


def test_faults_are_drawn_after_the_visits(hospital_signing: DevSigning) -> None:
    identity = hospital_signing.identity
    _, clean = synth.make_batch(random.Random(7), identity, FACILITY, 3, created=CREATED)
    _, faulted = synth.make_batch(
        random.Random(7), identity, FACILITY, 3, created=CREATED, faults=["treatment_days"]
    )
    assert [v.ma_lk for v in faulted] == [v.ma_lk for v in clean]
    assert [synth.xml2(v) for v in faulted] == [synth.xml2(v) for v in clean]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"faults": ["no_such_fault"]}, "unknown faults", id="unknown fault"),
        pytest.param({"fault_rate": 1.5}, "not a probability", id="rate above 1"),
        pytest.param({"fault_rate": -0.1}, "not a probability", id="negative rate"),
    ],
)
def test_make_batch_refuses_bad_fault_options(
    hospital_signing: DevSigning, options: dict[str, object], message: str
) -> None:
    identity = hospital_signing.identity
    with pytest.raises(ValueError, match=message):
        synth.make_batch(
            random.Random(1), identity, FACILITY, 1, created=CREATED,
            **options,  # type: ignore[arg-type]
        )  # fmt: skip


def test_inject_refuses_the_batch_fault() -> None:
    visit = synth.make_visit(random.Random(1), facility_code=FACILITY, index=1)
    with pytest.raises(ValueError, match="not a visit fault"):
        synth.inject(visit, ["count_mismatch"])
    assert synth.inject(visit, []) is visit
