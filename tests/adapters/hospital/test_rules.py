"""QĐ 130 business rules: clean visits pass, and each rule catches its own break and no other."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from adapters.hospital import rules, synth
from adapters.hospital.visit import normalize_visit
from gateway.xml.parser import XmlLimits, parse
from tests.adapters.hospital import visits
from tests.adapters.hospital.visits import add, get, put, rows, shift
from tests.support.xml_edits import append_text, drop, set_text

Tables = dict[str, etree._Element]


def fired(tables: Tables) -> set[str | None]:
    _, payload = normalize_visit(tables)
    return {issue.rule for issue in rules.check_visit(tables, payload)}


def test_rule_ids_are_unique_and_scoped() -> None:
    ids = [rule.id for rule in rules.RULES]
    assert len(ids) == len(set(ids))
    assert all(rule.id.startswith("QD130-") and rule.description for rule in rules.RULES)
    assert {rule.scope for rule in rules.VISIT_RULES} == {"visit"}
    assert {rule.scope for rule in rules.BATCH_RULES} == {"batch"}


@pytest.mark.parametrize("wrapper", [True, False], ids=["CHITIEU wrapper", "DSACH root"])
def test_no_rule_fires_on_clean_synthetic_visits(wrapper: bool) -> None:
    for seed in range(50):
        visit = visits.make_visit(seed)
        tables = visits.parsed(synth.tables(visit, wrapper=wrapper))
        _, payload = normalize_visit(tables)
        assert rules.check_visit(tables, payload) == [], seed


# --- One break per rule -------------------------------------------------------------------------


def _drug(t: Tables) -> etree._Element:
    return rows(t, "XML2")[0]


def _service(t: Tables) -> etree._Element:
    return rows(t, "XML3")[0]


def _tested(t: Tables) -> etree._Element:
    """The first XML3 row with a result (a paraclinical test)."""
    return next(row for row in rows(t, "XML3") if get(row, "NGAY_KQ"))


def _total(name: str, amount: str, *compensations: tuple[str, str]) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        for field, value in ((name, amount), *compensations):
            add(t["XML1"], field, value)

    return change


def _set(kind: str, name: str, value: str) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        put(t["XML1"] if kind == "XML1" else rows(t, kind)[0], name, value)

    return change


def _unit_price_up(t: Tables) -> None:
    put(_drug(t), "DON_GIA", str(Decimal(get(_drug(t), "DON_GIA")) + 1))


def _hospital_price_up(t: Tables) -> None:
    put(_service(t), "DON_GIA_BV", str(Decimal(get(_service(t), "DON_GIA_BV")) + 1))


def _copayment_not_split(t: Tables) -> None:
    # The line's T_BNCCT grows by 1 and XML1 follows (T_BNCCT, and T_BHTT = T_TONGCHI_BH −
    # T_BNCCT), so only the line identity T_BHTT + T_BNCCT = THANH_TIEN_BH is broken.
    add(_drug(t), "T_BNCCT", "1")
    add(t["XML1"], "T_BNCCT", "1")
    add(t["XML1"], "T_BHTT", "-1")


def _admitted_before_arrival(t: Tables) -> None:
    put(t["XML1"], "NGAY_VAO_NOI_TRU", get(t["XML1"], "NGAY_VAO"))
    shift(t["XML1"], "NGAY_VAO_NOI_TRU", -1)


def _discharged_before_arrival(t: Tables) -> None:
    put(t["XML1"], "NGAY_RA", get(t["XML1"], "NGAY_VAO"))
    shift(t["XML1"], "NGAY_RA", -1)


def _executed_before_order(t: Tables) -> None:
    put(_drug(t), "NGAY_TH_YL", get(_drug(t), "NGAY_YL"))
    shift(_drug(t), "NGAY_TH_YL", -1)


def _result_before_order(t: Tables) -> None:
    put(_tested(t), "NGAY_KQ", get(_tested(t), "NGAY_YL"))
    shift(_tested(t), "NGAY_KQ", -1)


def _xml4_result_before_order(t: Tables) -> None:
    result = rows(t, "XML4")[0]
    code = get(result, "MA_DICH_VU")
    first_order = min(get(r, "NGAY_YL") for r in rows(t, "XML3") if get(r, "MA_DICH_VU") == code)
    put(result, "NGAY_KQ", first_order)
    shift(result, "NGAY_KQ", -1)


def _card_ended_before_arrival(t: Tables) -> None:
    arrival = date.fromisoformat(
        f"{get(t['XML1'], 'NGAY_VAO')[:4]}-{get(t['XML1'], 'NGAY_VAO')[4:6]}"
        f"-{get(t['XML1'], 'NGAY_VAO')[6:8]}"
    )
    ended = date.fromordinal(arrival.toordinal() - 1)
    put(t["XML1"], "GT_THE_TU", f"{ended.year - 1}{ended:%m%d}")
    put(t["XML1"], "GT_THE_DEN", f"{ended:%Y%m%d}")


def _one_more_day(t: Tables) -> None:
    put(t["XML1"], "SO_NGAY_DTRI", str(int(get(t["XML1"], "SO_NGAY_DTRI")) + 1))


def _clinician_left_out(t: Tables) -> None:
    drop("MA_BAC_SI")(_service(t))


def _payment_method_off_list(t: Tables) -> None:
    # The line leaves T_BHTT_GDV (Σ T_BHTT of MA_PTTT 1 lines): XML1 follows.
    add(t["XML1"], "T_BHTT_GDV", f"-{get(_drug(t), 'T_BHTT')}")
    put(_drug(t), "MA_PTTT", "4")


CASES: list[tuple[str, Callable[[Tables], None], bool]] = [
    # (rule id, the edit, needs an inpatient visit)
    ("QD130-LINK-MA_LK", _set("XML2", "MA_LK", "79071240101999999"), False),
    ("QD130-LINK-MA_LK", _set("XML5", "MA_LK", "79071240101999999"), True),
    ("QD130-REQUIRED-MA_BAC_SI", _clinician_left_out, False),
    ("QD130-REQUIRED-MA_BAC_SI", _set("XML3", "MA_BAC_SI", ""), True),
    ("QD130-AMOUNT-XML2", _unit_price_up, False),
    ("QD130-AMOUNT-XML3", _hospital_price_up, False),
    ("QD130-LINE-SPLIT", _copayment_not_split, False),
    ("QD130-LINE-T_NGUONKHAC", _set("XML2", "T_NGUONKHAC_NSNN", "5.00"), False),
    ("QD130-TOTAL-T_THUOC", _total("T_THUOC", "1"), False),
    ("QD130-TOTAL-T_VTYT", _total("T_VTYT", "1"), False),
    ("QD130-TOTAL-T_TONGCHI_BV", _total("T_TONGCHI_BV", "1"), False),
    ("QD130-TOTAL-T_TONGCHI_BH", _total("T_TONGCHI_BH", "1", ("T_BHTT", "1")), False),
    ("QD130-TOTAL-T_BNTT", _total("T_BNTT", "1"), False),
    ("QD130-TOTAL-T_BNCCT", _total("T_BNCCT", "1", ("T_BHTT", "-1")), False),
    ("QD130-TOTAL-T_NGUONKHAC", _total("T_NGUONKHAC", "1"), False),
    ("QD130-TOTAL-T_BHTT_GDV", _total("T_BHTT_GDV", "1"), False),
    ("QD130-TOTAL-T_BHTT", _total("T_BHTT", "0.02"), False),
    ("QD130-DATE-STAY", _admitted_before_arrival, True),
    ("QD130-DATE-STAY", _discharged_before_arrival, False),
    ("QD130-DATE-EXECUTION", _executed_before_order, False),
    ("QD130-DATE-RESULT", _result_before_order, False),
    ("QD130-DATE-RESULT", _xml4_result_before_order, False),
    ("QD130-CARD-VALID", _card_ended_before_arrival, False),
    ("QD130-SO_NGAY_DTRI", _one_more_day, True),
    ("QD130-SO_NGAY_DTRI", _set("XML1", "SO_NGAY_DTRI", "1"), False),
    ("QD130-CODE-GIOI_TINH", _set("XML1", "GIOI_TINH", "01"), False),
    ("QD130-CODE-KET_QUA_DTRI", _set("XML1", "KET_QUA_DTRI", "9"), False),
    ("QD130-CODE-MA_LOAI_RV", _set("XML1", "MA_LOAI_RV", "6"), False),
    ("QD130-CODE-MA_LOAI_KCB", _set("XML1", "MA_LOAI_KCB", "10"), False),
    ("QD130-CODE-PHAM_VI", _set("XML2", "PHAM_VI", "4"), False),
    ("QD130-CODE-MA_PTTT", _payment_method_off_list, False),
    ("QD130-CODE-NGUON_CTRA", _set("XML2", "NGUON_CTRA", "5"), False),
    ("QD130-CODE-PP_VO_CAM", _set("XML3", "PP_VO_CAM", "5"), False),
]


@pytest.mark.parametrize(
    ("rule_id", "change", "inpatient"),
    CASES,
    ids=[f"{rule_id} {change.__name__}" for rule_id, change, _ in CASES],
)
def test_breaking_one_rule_fires_exactly_that_rule(
    rule_id: str, change: Callable[[Tables], None], inpatient: bool
) -> None:
    seed = visits.first_seed(lambda v: visits.inpatient(v) == inpatient)
    tables = visits.visit_tables(seed)
    assert fired(tables) == set()
    change(tables)
    assert fired(tables) == {rule_id}


# Rules broken by the batch around a visit, not by its tables: each has its own test below.
BATCH_CONTEXT = {"QD130-UNIQUE-MA_LK"}
# Rules that read the SI records' cards: test_si_card_rules.py.
SI_RECORDS = {"QD130-CARD-KNOWN", "QD130-CARD-SI-VALID", "QD130-CARD-HOLDER"}


def test_every_visit_rule_has_a_breaking_case() -> None:
    cases = {rule_id for rule_id, _, _ in CASES} | BATCH_CONTEXT | SI_RECORDS
    assert cases == {rule.id for rule in rules.VISIT_RULES}


# --- Tests sent to another facility -----------------------------------------------------------
# QĐ 4750, Bảng 3 field 33 (MA_BAC_SI): "Trường này không bắt buộc trong trường hợp thực hiện
# chuyển gửi xét nghiệm cận lâm sàng." QĐ 130 Bảng 3 field 3 codes such a test's MA_DICH_VU
# "XX.YYYY.ZZZZ.K.WWWWW", WWWWW the facility that performs it.
SENT_OUT_TO = "01929"


@pytest.mark.parametrize(
    "without", [drop("MA_BAC_SI"), set_text("MA_BAC_SI", "")], ids=["absent", "empty"]
)
def test_a_test_sent_to_another_facility_needs_no_ordering_clinician(
    without: Callable[[etree._Element], None],
) -> None:
    tables = visits.visit_tables(visits.first_seed(lambda v: True))
    append_text("MA_DICH_VU", f".K.{SENT_OUT_TO}")(_tested(tables))
    without(_tested(tables))
    assert fired(tables) == set()
    _, payload = normalize_visit(tables)
    sent = [line for line in payload["services"] if ".K." in line.get("service_code", "")]
    assert [line.get("ordering_clinician_ids") for line in sent] == [None]


@pytest.mark.parametrize(
    "coded",
    ["", f".{SENT_OUT_TO}", f".K.{SENT_OUT_TO[:3]}"],
    ids=["ordinary", "no .K.", "facility of 3 characters"],
)
def test_any_other_xml3_line_without_its_ordering_clinician_is_refused(coded: str) -> None:
    tables = visits.visit_tables(visits.first_seed(lambda v: True))
    row = _tested(tables)
    append_text("MA_DICH_VU", coded)(row)
    drop("MA_BAC_SI")(row)
    _, payload = normalize_visit(tables)
    [issue] = rules.check_visit(tables, payload)
    assert (issue.rule, issue.table) == ("QD130-REQUIRED-MA_BAC_SI", "XML3")
    assert issue.path == f"{row.getroottree().getpath(row)}/MA_BAC_SI"


def test_a_visit_key_already_in_an_earlier_hoso_of_the_batch_breaks_uniqueness() -> None:
    tables = visits.visit_tables(visits.first_seed(lambda v: True))
    _, payload = normalize_visit(tables)
    key = payload["visit"]["visit_key"]
    assert rules.check_visit(tables, payload, earlier={"other": 1}) == []
    [issue] = rules.check_visit(tables, payload, earlier={key: 2})
    assert (issue.rule, issue.table, issue.path) == (
        "QD130-UNIQUE-MA_LK",
        "XML1",
        "/TONG_HOP/MA_LK",
    )
    assert "HOSO 2" in issue.message


def test_an_issue_names_its_rule_table_and_row() -> None:
    tables = visits.visit_tables(visits.first_seed(lambda v: len(v.drugs) > 1))
    row = rows(tables, "XML2")[1]
    put(row, "DON_GIA", str(Decimal(get(row, "DON_GIA")) + 1))
    _, payload = normalize_visit(tables)
    (issue, *_) = rules.check_visit(tables, payload)
    assert issue.rule == "QD130-AMOUNT-XML2"
    assert issue.table == "XML2"
    assert issue.path == (
        "/CHITIEU_CHITIET_THUOC/DSACH_CHI_TIET_THUOC/CHI_TIET_THUOC[2]/THANH_TIEN_BV"
    )
    assert "SO_LUONG × DON_GIA" in issue.message


# --- Synthetic faults ---------------------------------------------------------------------------

# Each fault of the generator and the rule it must fire; signal faults fire none (test_flags).
FAULT_RULES: dict[str, set[str | None]] = {
    "line_amount": {"QD130-AMOUNT-XML2"},
    "total_mismatch": {"QD130-TOTAL-T_THUOC"},
    "bhtt_formula": {"QD130-TOTAL-T_BHTT"},
    "date_order": {"QD130-DATE-STAY"},
    "order_after_discharge": set(),
    "card_expired": {"QD130-CARD-VALID"},
    "treatment_days": {"QD130-SO_NGAY_DTRI"},
    "ma_lk_mismatch": {"QD130-LINK-MA_LK"},
    "bad_code": {"QD130-CODE-MA_LOAI_KCB"},
    "schema_invalid": {"QD130-CODE-GIOI_TINH"},  # the XSD refuses it first; the rule agrees
    "high_quantity": set(),
    "service_outside_stay": set(),
}


def test_every_generator_fault_is_classified() -> None:
    unclassified = set(synth.FAULTS) - synth.BATCH_FAULTS ^ set(FAULT_RULES)
    assert not unclassified, f"say which rule these generator faults break: {unclassified}"


@pytest.mark.parametrize("fault", sorted(FAULT_RULES))
def test_a_generator_fault_fires_its_rule(fault: str) -> None:
    # Outpatient visits: moving NGAY_RA of an inpatient stay also changes its SO_NGAY_DTRI.
    seed = visits.first_seed(lambda v: not visits.inpatient(v))
    tables = visits.parsed(synth.tables(visits.make_visit(seed, fault)))
    assert fired(tables) == FAULT_RULES[fault]


# --- Tolerance and accepted variants ------------------------------------------------------------


def _payload(**line: Any) -> dict[str, Any]:
    key = "79071240101000001"
    section = line.pop("section", "drugs")
    return {
        "visit": {"visit_key": key},
        "totals": {},
        "cards": [],
        # MA_BAC_SI is filled, as on every line but a test sent out (QD130-REQUIRED-MA_BAC_SI).
        section: [{"visit_key": key, "ordering_clinician_ids": ["001234/BYT-CCHN"], **line}],
    }


@pytest.mark.parametrize(
    ("stated", "ok"),
    [("1.01", True), ("1.00", True), ("1.02", True), ("0.99", False), ("1.03", False)],
)
def test_line_amounts_round_half_up_and_tolerate_one_hundredth(stated: str, ok: bool) -> None:
    # 3 × 0.335 = 1.005: 1.01 half-up, 1.00 half-even; both are within 0.01 of 1.01.
    payload = _payload(quantity="3", unit_price="0.335", amount_at_hospital_prices=stated)
    issues = rules.check_visit({}, payload)
    assert (issues == []) is ok
    assert all(issue.rule == "QD130-AMOUNT-XML2" for issue in issues)


@pytest.mark.parametrize(
    ("bv", "bh", "ok"),
    [
        ("150000.00", "100000.00", True),  # 4750: × TYLE_TT_DV/100 on both amounts
        ("200000.00", "200000.00", True),  # vendor: the waived part is DON_GIA_BH's
        ("300000.00", "200000.00", False),  # TYLE_TT_DV ignored in THANH_TIEN_BV
        ("150000.00", "150000.00", False),
    ],
)
def test_xml3_accepts_the_official_formula_and_the_vendor_variant(
    bv: str, bh: str, ok: bool
) -> None:
    payload = _payload(
        section="services",
        quantity="1",
        unit_price_hospital="300000",
        unit_price_insurance="200000",
        service_ratio_pct=50,
        insurance_ratio_pct=100,
        amount_at_hospital_prices=bv,
        amount_within_insurance_scope=bh,
    )
    assert (rules.check_visit({}, payload) == []) is ok


def test_the_line_split_is_not_checked_when_other_sources_paid() -> None:
    line = {
        "amount_at_hospital_prices": "100.00",
        "amount_within_insurance_scope": "100.00",
        "insurance_payment": "50.00",
        "patient_copayment": "0.00",
        "patient_self_pay": "0.00",
    }
    assert rules.check_visit({}, _payload(**line, other_sources="0.00"))
    paid = _payload(**line, other_sources="50.00", other_sources_state_budget="50.00")
    assert rules.check_visit({}, paid) == []


def test_supplies_paid_by_ratio_count_in_t_vtyt() -> None:
    payload = _payload(section="services", cost_group_code="11", amount_at_hospital_prices="9.50")
    payload["totals"] = {"medical_supplies": "9.50", "total_at_hospital_prices": "9.50"}
    assert rules.check_visit({}, payload) == []


def test_a_card_with_an_open_bound_covers_the_arrival() -> None:
    payload = _payload()
    payload["visit"]["arrived_at"] = "2024-03-15T08:00:00+07:00"
    payload["cards"] = [
        {"number": "A", "registered_facility": None, "valid_from": None, "valid_to": "2024-03-14"},
        {"number": "B", "registered_facility": None, "valid_from": "2024-01-01", "valid_to": None},
    ]
    assert rules.check_visit({}, payload) == []
    payload["cards"].pop()
    assert [i.rule for i in rules.check_visit({}, payload)] == ["QD130-CARD-VALID"]


# --- Batch --------------------------------------------------------------------------------------


def _envelope(count: int, declared: int | None = None) -> etree._Element:
    tables = [synth.tables(visits.make_visit(seed)) for seed in range(count)]
    data = synth.envelope(
        visits.FACILITY, tables, created=date(2024, 6, 28), declared_count=declared
    )
    return parse(data, XmlLimits())


def test_a_batch_declaring_its_hoso_count_passes() -> None:
    assert rules.check_batch(_envelope(3), 3) == []


@pytest.mark.parametrize("declared", [4, 2])
def test_a_wrong_hoso_count_breaks_the_count_rule(declared: int) -> None:
    (issue,) = rules.check_batch(_envelope(3, declared), 3)
    assert issue.rule == "QD130-COUNT"
    assert issue.path == "/GIAMDINHHS/THONGTINHOSO/SOLUONGHOSO"


def test_a_count_that_is_not_a_number_breaks_the_count_rule() -> None:
    root = _envelope(1)
    count = root.find("THONGTINHOSO/SOLUONGHOSO")
    assert count is not None
    count.text = "one"
    assert [i.rule for i in rules.check_batch(root, 1)] == ["QD130-COUNT"]
