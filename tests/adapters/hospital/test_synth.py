"""The synthetic QĐ 130 generator against the XSDs and the money rules of QD130.md section C2."""

from __future__ import annotations

import base64
import copy
import random
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from lxml import etree

from adapters.hospital import synth
from gateway.xml.ns import DS, q
from gateway.xml.parser import XmlLimits, parse
from tests.adapters.hospital.contracts import XS, assert_valid, contract, schema
from tests.support.dev_signing import DevSigning
from tests.support.xml_edits import Edit, drop, foreign_signature, set_text, swap

FACILITY = "79071"
CREATED = date(2024, 6, 28)
SEEDS = range(150)


@pytest.fixture(scope="module")
def xml1_schema() -> etree.XMLSchema:
    return schema("qd130/xml1.xsd")


@pytest.fixture(scope="module")
def envelope_schema() -> etree.XMLSchema:
    return schema("qd130/giamdinhhs.xsd")


def _visits() -> Iterator[synth.Visit]:
    for seed in SEEDS:
        yield synth.make_visit(random.Random(seed), facility_code=FACILITY, index=seed + 1)


def _tree(data: bytes) -> etree._Element:
    return parse(data, XmlLimits())


def _text(element: etree._Element, name: str) -> str:
    return element.findtext(name) or ""


def _money(element: etree._Element, name: str) -> Decimal:
    text = _text(element, name)
    assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", text), f"{name}={text!r} is not money with 2 dp"
    return Decimal(text)


def _dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M")


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- XML1 against its XSD ---------------------------------------------------------------------


def test_generated_xml1_is_valid_against_the_xsd(xml1_schema: etree.XMLSchema) -> None:
    for visit in _visits():
        assert_valid(xml1_schema, _tree(synth.xml1(visit)))


def test_xml1_writes_every_field_in_the_order_of_the_xsd() -> None:
    xsd = contract("qd130/xml1.xsd")
    documented = xsd.xpath(
        "/xs:schema/xs:element[@name='TONG_HOP']/xs:complexType/xs:sequence/xs:element/@name",
        namespaces=XS,
    )
    assert isinstance(documented, list)
    assert len(documented) == 66  # 65 numbered fields + NHOM_MAU (QD130.md section B)
    visit = synth.make_visit(random.Random(1), facility_code=FACILITY, index=1)
    assert [child.tag for child in _tree(synth.xml1(visit))] == documented
    assert list(synth.XML1_FIELDS) == documented


def test_tables_are_utf8_documents_with_the_documented_roots() -> None:
    visit = synth.make_visit(random.Random(2), facility_code=FACILITY, index=1)
    for data, path in (
        (synth.xml1(visit), "/TONG_HOP"),
        (synth.xml2(visit), "/CHITIEU_CHITIET_THUOC/DSACH_CHI_TIET_THUOC/CHI_TIET_THUOC"),
        (synth.xml3(visit), "/CHITIEU_CHITIET_DVKT_VTYT/DSACH_CHI_TIET_DVKT/CHI_TIET_DVKT"),
    ):
        assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        assert _tree(data).getroottree().xpath(path)


def test_free_text_fields_are_written_as_cdata() -> None:
    data = synth.xml1(synth.make_visit(random.Random(3), facility_code=FACILITY, index=1))
    for name in ("HO_TEN", "DIA_CHI", "LY_DO_VV", "CHAN_DOAN_VAO", "CHAN_DOAN_RV"):
        assert f"<{name}><![CDATA[".encode() in data


def test_an_optional_field_may_be_absent_as_before_qd4750(xml1_schema: etree.XMLSchema) -> None:
    root = _tree(synth.xml1(synth.make_visit(random.Random(4), facility_code=FACILITY, index=1)))
    for name in ("NHOM_MAU", "STT", "DU_PHONG"):
        root.remove(root.find(name))  # type: ignore[arg-type]
    assert_valid(xml1_schema, root)


@pytest.mark.parametrize(
    "name",
    ["STT", "NGAY_TTOAN", "NGAY_VAO_NOI_TRU", "MA_TAI_NAN", "MA_KHUVUC", "NAM_NAM_LIEN_TUC",
     "NGAY_MIEN_CCT", "NHOM_MAU", "SO_CCCD", "MA_THE_BHYT", "MA_NOI_DI", "DIEN_THOAI"],
)  # fmt: skip
def test_an_optional_field_may_be_empty(xml1_schema: etree.XMLSchema, name: str) -> None:
    # Exporters write <NGAY_TTOAN></NGAY_TTOAN> or <MA_NOI_DI/> for what they do not know.
    root = _tree(synth.xml1(synth.make_visit(random.Random(5), facility_code=FACILITY, index=1)))
    element = root.find(name)
    assert element is not None
    element.text = None
    assert_valid(xml1_schema, root)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(set_text("GIOI_TINH", "4"), id="GIOI_TINH outside 1..3"),
        pytest.param(drop("MA_LK"), id="MA_LK missing"),
        pytest.param(set_text("MA_LK", ""), id="MA_LK empty"),
        pytest.param(set_text("NGAY_VAO", "2024010108001"), id="13-digit date-time"),
        pytest.param(set_text("NGAY_RA", "2024-01-01 08:00"), id="date-time with separators"),
        pytest.param(set_text("NAM_NAM_LIEN_TUC", "2024010"), id="7-digit date"),
        pytest.param(set_text("KET_QUA_DTRI", "9"), id="KET_QUA_DTRI outside 1..8"),
        pytest.param(set_text("MA_LOAI_RV", "6"), id="MA_LOAI_RV outside 1..5"),
        pytest.param(set_text("THANG_QT", "13"), id="THANG_QT 13"),
        pytest.param(set_text("MA_LOAI_KCB", "1"), id="MA_LOAI_KCB without its leading zero"),
        pytest.param(set_text("T_BHTT", "1000.123"), id="money with 3 decimals"),
        pytest.param(set_text("T_THUOC", "-1.00"), id="negative money"),
        pytest.param(set_text("T_TONGCHI_BV", ""), id="required money empty"),
        pytest.param(set_text("MA_CSKCB", "790710"), id="facility code of 6 characters"),
        pytest.param(set_text("MA_DOITUONG_KCB", "1.1.1"), id="MA_DOITUONG_KCB of 5 characters"),
        pytest.param(set_text("MA_KHUVUC", "K4"), id="MA_KHUVUC outside K1..K3"),
        pytest.param(set_text("STT", "0"), id="STT 0"),
        pytest.param(set_text("CAN_NANG", "62,5"), id="weight with a comma"),
        pytest.param(swap("MA_BN", "HO_TEN"), id="fields out of order"),
    ],
)
def test_a_wrong_value_fails_the_xsd(xml1_schema: etree.XMLSchema, change: Edit) -> None:
    root = _tree(synth.xml1(synth.make_visit(random.Random(6), facility_code=FACILITY, index=1)))
    assert_valid(xml1_schema, root)
    change(root)
    assert not xml1_schema.validate(root)


# --- Content rules ----------------------------------------------------------------------------


def test_totals_obey_the_c2_formulas() -> None:
    seen_copayment = seen_self_pay = seen_supplies = False
    for visit in _visits():
        summary = _tree(synth.xml1(visit))
        drugs = _tree(synth.xml2(visit)).findall("DSACH_CHI_TIET_THUOC/CHI_TIET_THUOC")
        services = _tree(synth.xml3(visit)).findall("DSACH_CHI_TIET_DVKT/CHI_TIET_DVKT")
        for row in drugs:
            amount = Decimal(_text(row, "SO_LUONG")) * Decimal(_text(row, "DON_GIA"))
            assert _money(row, "THANH_TIEN_BV") == _round(amount)
            assert _money(row, "THANH_TIEN_BH") == _round(
                amount * int(_text(row, "TYLE_TT_BH")) / 100
            )
        for row in services:
            amount = (
                Decimal(_text(row, "SO_LUONG"))
                * Decimal(_text(row, "DON_GIA_BV"))
                * int(_text(row, "TYLE_TT_DV"))
                / 100
            )
            assert _money(row, "THANH_TIEN_BV") == _round(amount)
            assert _money(row, "THANH_TIEN_BH") == _round(
                Decimal(_text(row, "SO_LUONG"))
                * Decimal(_text(row, "DON_GIA_BH"))
                * int(_text(row, "TYLE_TT_DV"))
                / 100
                * int(_text(row, "TYLE_TT_BH"))
                / 100
            )
        rows = drugs + services
        for row in rows:
            bv, bh = _money(row, "THANH_TIEN_BV"), _money(row, "THANH_TIEN_BH")
            others = sum(
                _money(row, f"T_NGUONKHAC_{part}") for part in ("NSNN", "VTNN", "VTTN", "CL")
            )
            assert _money(row, "T_NGUONKHAC") == others == 0
            assert _money(row, "T_BHTT") == _round(bh * int(_text(row, "MUC_HUONG")) / 100)
            assert _money(row, "T_BHTT") + _money(row, "T_BNCCT") == bh
            assert _money(row, "T_BNTT") == bv - bh
            assert _money(row, "T_BHTT") + _money(row, "T_BNCCT") + _money(row, "T_BNTT") == bv

        def total(name: str, of: list[etree._Element]) -> Decimal:
            return sum((_money(row, name) for row in of), Decimal(0))

        supplies = [row for row in services if _text(row, "MA_NHOM") == "10"]
        assert _money(summary, "T_THUOC") == total("THANH_TIEN_BV", drugs)
        assert _money(summary, "T_VTYT") == total("THANH_TIEN_BV", supplies)
        assert _money(summary, "T_TONGCHI_BV") == total("THANH_TIEN_BV", rows)
        assert _money(summary, "T_TONGCHI_BH") == total("THANH_TIEN_BH", rows)
        assert _money(summary, "T_BNTT") == total("T_BNTT", rows)
        assert _money(summary, "T_BNCCT") == total("T_BNCCT", rows)
        assert _money(summary, "T_NGUONKHAC") == total("T_NGUONKHAC", rows)
        assert _money(summary, "T_BHTT") == _money(summary, "T_TONGCHI_BH") - _money(
            summary, "T_BNCCT"
        )
        gdv = [row for row in rows if _text(row, "MA_PTTT") == "1"]
        assert _money(summary, "T_BHTT_GDV") == total("T_BHTT", gdv)
        assert visit.totals.t_bhtt == _money(summary, "T_BHTT")
        seen_copayment |= _money(summary, "T_BNCCT") > 0
        seen_self_pay |= _money(summary, "T_BNTT") > 0
        seen_supplies |= _money(summary, "T_VTYT") > 0
    assert seen_copayment and seen_self_pay and seen_supplies, "the sample misses a C2 case"


def test_treatment_days_follow_the_type_of_care() -> None:
    kinds: set[str] = set()
    for visit in _visits():
        summary = _tree(synth.xml1(visit))
        kind = _text(summary, "MA_LOAI_KCB")
        kinds.add(kind)
        days = int(_text(summary, "SO_NGAY_DTRI"))
        if kind == "01":
            assert days == 0
            assert _text(summary, "NGAY_VAO_NOI_TRU") == ""
        else:
            assert kind == "03"
            arrival, discharge = _dt(_text(summary, "NGAY_VAO")), _dt(_text(summary, "NGAY_RA"))
            assert days == (discharge.date() - arrival.date()).days + 1
            assert _dt(_text(summary, "NGAY_VAO_NOI_TRU")) >= arrival
    assert kinds == {"01", "03"}


def test_orders_results_and_card_validity_lie_within_the_visit() -> None:
    for visit in _visits():
        summary = _tree(synth.xml1(visit))
        arrival, discharge = _dt(_text(summary, "NGAY_VAO")), _dt(_text(summary, "NGAY_RA"))
        assert arrival < discharge
        rows = [
            *_tree(synth.xml2(visit)).iter("CHI_TIET_THUOC"),
            *_tree(synth.xml3(visit)).iter("CHI_TIET_DVKT"),
        ]
        for row in rows:
            assert _text(row, "MA_LK") == _text(summary, "MA_LK")
            ordered = _dt(_text(row, "NGAY_YL"))
            assert arrival <= ordered <= discharge
            for name in ("NGAY_TH_YL", "NGAY_KQ"):
                if _text(row, name):
                    assert ordered <= _dt(_text(row, name)) <= discharge
        valid_from = datetime.strptime(_text(summary, "GT_THE_TU"), "%Y%m%d")
        valid_to = datetime.strptime(_text(summary, "GT_THE_DEN"), "%Y%m%d")
        assert valid_from <= arrival and discharge < valid_to + timedelta(days=1)


def test_identifiers_have_the_documented_shapes() -> None:
    for visit in _visits():
        assert re.fullmatch(r"[A-Z]{2}[0-9]{13}", visit.ma_the_bhyt)
        assert re.fullmatch(r"[0-9]{12}", visit.so_cccd)
        assert re.fullmatch(r"[0-9]{5}", visit.ma_dkbd)
        assert visit.ma_the_bhyt[3:5] == visit.matinh_cu_tru == visit.so_cccd[1:3]
        assert visit.ma_cskcb == FACILITY


def test_generation_is_deterministic() -> None:
    first = synth.make_visit(random.Random(42), facility_code=FACILITY, index=7)
    second = synth.make_visit(random.Random(42), facility_code=FACILITY, index=7)
    assert first == second
    assert synth.tables(first) == synth.tables(second)
    assert synth.make_visit(random.Random(43), facility_code=FACILITY, index=7) != first


def test_a_given_day_is_the_arrival_day() -> None:
    visit = synth.make_visit(
        random.Random(8), facility_code=FACILITY, index=1, day=date(2024, 3, 15)
    )
    assert visit.ngay_vao.date() == date(2024, 3, 15)


# --- XML4, XML5 and the check-in --------------------------------------------------------------

PARACLINICAL = {"1", "2", "3"}  # MA_NHOM laboratory, imaging, functional test [C4]


def test_xml4_reports_every_paraclinical_service_at_its_result_time() -> None:
    seen_lab = seen_reading = False
    for visit in _visits():
        summary = _tree(synth.xml1(visit))
        arrival, discharge = _dt(_text(summary, "NGAY_VAO")), _dt(_text(summary, "NGAY_RA"))
        services = _tree(synth.xml3(visit)).findall("DSACH_CHI_TIET_DVKT/CHI_TIET_DVKT")
        tests = {
            _text(row, "MA_DICH_VU"): row
            for row in services
            if _text(row, "MA_NHOM") in PARACLINICAL
        }
        assert tests, "every synthetic visit has a paraclinical test"
        rows = _tree(synth.xml4(visit)).findall("DSACH_CHI_TIET_CLS/CHI_TIET_CLS")
        assert [_text(row, "STT") for row in rows] == [str(n) for n in range(1, len(rows) + 1)]
        assert {_text(row, "MA_DICH_VU") for row in rows} == set(tests)
        for row in rows:
            assert _text(row, "MA_LK") == visit.ma_lk
            service = tests[_text(row, "MA_DICH_VU")]
            ordered, done = _dt(_text(service, "NGAY_YL")), _dt(_text(service, "NGAY_TH_YL"))
            result = _dt(_text(row, "NGAY_KQ"))
            assert _text(row, "NGAY_KQ") == _text(service, "NGAY_KQ")
            assert arrival <= ordered <= done <= result <= discharge  # [C3]
            assert _text(row, "MA_BS_DOC_KQ").endswith("/BYT-CCHN")
            if _text(service, "MA_NHOM") == "1":  # a laboratory value with its unit
                assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", _text(row, "GIA_TRI"))
                assert _text(row, "MA_CHI_SO") and _text(row, "TEN_CHI_SO")
                seen_lab = True
            else:  # a reading: description and conclusion, no App. 11 indicator
                assert _text(row, "MO_TA") and _text(row, "KET_LUAN")
                assert not _text(row, "MA_CHI_SO") and not _text(row, "GIA_TRI")
                seen_reading = True
    assert seen_lab and seen_reading


def test_xml4_values_follow_the_diagnosis() -> None:
    glucose: dict[bool, list[float]] = {True: [], False: []}
    for visit in _visits():
        for finding in visit.findings:
            if finding.ma_chi_so == "GLU":
                glucose[visit.diagnosis.icd == "E11.9"].append(float(finding.gia_tri))
    assert glucose[True] and glucose[False]
    assert min(glucose[True]) > 7.0 > max(glucose[False])  # diabetes raises fasting glucose


def test_xml5_notes_cover_the_inpatient_stay_in_order() -> None:
    inpatient = 0
    for visit in _visits():
        found = synth.tables(visit)
        summary = _tree(found["XML1"])
        if _text(summary, "MA_LOAI_KCB") != "03":
            assert "XML5" not in found  # [C1]: outpatient exams (01) send no XML5
            continue
        inpatient += 1
        admitted = _dt(_text(summary, "NGAY_VAO_NOI_TRU"))
        discharge = _dt(_text(summary, "NGAY_RA"))
        rows = _tree(found["XML5"]).findall("DSACH_CHI_TIET_DIEN_BIEN_BENH/CHI_TIET_DIEN_BIEN_BENH")
        times = [_dt(_text(row, "THOI_DIEM_DBLS")) for row in rows]
        assert admitted <= times[0] and times[-1] <= discharge
        assert times == sorted(times) and len(set(times)) == len(times)
        # Admission, one note each morning of the stay, discharge.
        assert len(rows) == (discharge.date() - admitted.date()).days + 2
        doctors = {row.findtext("MA_BAC_SI") for row in _tree(found["XML2"]).iter("CHI_TIET_THUOC")}
        for row in rows:
            assert _text(row, "MA_LK") == visit.ma_lk
            assert _text(row, "NGUOI_THUC_HIEN") in doctors
            # Vital signs in the 4750 convention of Bảng 5 row 3.
            assert re.search(
                r"CSST<M[0-9]+_T[0-9]+\.[0-9]_HA[0-9]+/[0-9]+_NT[0-9]+_HL[0-9]>",
                _text(row, "DIEN_BIEN_LS"),
            )
        assert b"<DIEN_BIEN_LS><![CDATA[" in found["XML5"]
    assert inpatient > 10


def test_checkin_repeats_xml1_and_reports_the_first_cost() -> None:
    shared = [name for name in synth.CHECKIN_FIELDS if name in synth.XML1_FIELDS and name != "STT"]
    for visit in _visits():
        summary = _tree(synth.xml1(visit))
        document = _tree(synth.checkin(visit))
        assert [child.tag for child in document] == ["DSACH_TRANG_THAI_KCB", "CHUKYDONVI"]
        assert document[-1].text is None and len(document[-1]) == 0
        rows = document.findall("DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB")
        assert len(rows) == 1 and _text(rows[0], "STT") == "1"
        row = rows[0]
        for name in shared:
            assert _text(row, name) == _text(summary, name), name
        if visit.notes:  # inpatient: the first drug given in the ward, at admission
            assert _text(row, "NGAY_YL") == _text(summary, "NGAY_VAO_NOI_TRU")
            assert _text(row, "MA_THUOC") and not _text(row, "MA_DICH_VU")
        else:  # outpatient: the exam, the first XML3 row
            first = _tree(synth.xml3(visit)).find(".//CHI_TIET_DVKT")
            assert first is not None
            assert _text(row, "MA_DICH_VU") == _text(first, "MA_DICH_VU") == "02.1896"
            assert _text(row, "NGAY_YL") == _text(first, "NGAY_YL")


def test_tables_without_the_wrapper_hold_the_same_rows() -> None:
    visit = next(v for v in _visits() if v.notes)
    wrapped, bare = synth.tables(visit), synth.tables(visit, wrapper=False)
    assert wrapped.keys() == bare.keys() == {"XML1", "XML2", "XML3", "XML4", "XML5"}
    assert wrapped["XML1"] == bare["XML1"]
    for kind in ("XML2", "XML3", "XML4", "XML5"):
        layout = synth.LAYOUTS[kind]
        with_wrapper, without = _tree(wrapped[kind]), _tree(bare[kind])
        assert (with_wrapper.tag, without.tag) == (layout.wrapper, layout.items)
        assert etree.tostring(with_wrapper[0]) == etree.tostring(without)


def test_a_batch_without_the_wrapper_carries_bare_lists(
    hospital_signing: DevSigning,
) -> None:
    data, visits = synth.make_batch(
        random.Random(11), hospital_signing.identity, FACILITY, 3, created=CREATED, wrapper=False
    )
    root = _tree(data)
    for hoso, visit in zip(root.iterfind(".//HOSO"), visits, strict=True):
        decoded = {
            f.findtext("LOAIHOSO"): base64.b64decode(f.findtext("NOIDUNGFILE") or "")
            for f in hoso.iterfind("FILEHOSO")
        }
        assert decoded == synth.tables(visit, wrapper=False)
        assert _tree(decoded["XML2"]).tag == "DSACH_CHI_TIET_THUOC"


# --- Envelope ---------------------------------------------------------------------------------


def _envelope(count: int = 3) -> bytes:
    visits = [
        synth.make_visit(random.Random(seed), facility_code=FACILITY, index=seed)
        for seed in range(1, count + 1)
    ]
    return synth.envelope(FACILITY, [synth.tables(v) for v in visits], created=CREATED)


def test_unsigned_envelope_has_the_documented_shape(envelope_schema: etree.XMLSchema) -> None:
    data = _envelope(3)
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert data.rstrip().endswith(b"<CHUKYDONVI></CHUKYDONVI></GIAMDINHHS>")
    root = _tree(data)
    assert_valid(envelope_schema, root)
    assert root.nsmap == {
        "xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsd": "http://www.w3.org/2001/XMLSchema",
    }
    assert [c.tag for c in root] == ["THONGTINDONVI", "THONGTINHOSO", "CHUKYDONVI"]
    assert root.findtext("THONGTINDONVI/MACSKCB") == FACILITY
    assert root.findtext("THONGTINHOSO/NGAYLAP") == "20240628"
    assert root.findtext("THONGTINHOSO/SOLUONGHOSO") == "3"
    files = root.findall("THONGTINHOSO/DANHSACHHOSO/HOSO")
    assert len(files) == 3
    for hoso in files:
        kinds = [f.findtext("LOAIHOSO") for f in hoso.findall("FILEHOSO")]
        assert kinds[:1] == ["XML1"] and set(kinds) <= {"XML1", "XML2", "XML3", "XML4", "XML5"}


def test_noidungfile_is_the_base64_of_each_table(xml1_schema: etree.XMLSchema) -> None:
    visit = synth.make_visit(random.Random(9), facility_code=FACILITY, index=1)
    root = _tree(synth.envelope(FACILITY, [synth.tables(visit)], created=CREATED))
    decoded = {
        f.findtext("LOAIHOSO"): base64.b64decode(f.findtext("NOIDUNGFILE") or "")
        for f in root.iterfind(".//FILEHOSO")
    }
    assert decoded == synth.tables(visit)
    assert_valid(xml1_schema, _tree(decoded["XML1"]))


def test_envelope_refuses_an_empty_batch() -> None:
    with pytest.raises(ValueError, match="at least one"):
        synth.envelope(FACILITY, [], created=CREATED)
    with pytest.raises(ValueError, match="at least one"):
        synth.envelope(FACILITY, [{}], created=CREATED)


def test_signed_batch_verifies_and_validates_once_the_signature_is_removed(
    hospital_signing: DevSigning,
    envelope_schema: etree.XMLSchema,
    xml1_schema: etree.XMLSchema,
) -> None:
    data, visits = synth.make_batch(
        random.Random(10), hospital_signing.identity, FACILITY, 4, created=CREATED
    )
    assert len(visits) == 4
    assert all(v.ngay_ra.date() < CREATED for v in visits)
    root = _tree(data)
    container = root[-1]
    assert container.tag == "CHUKYDONVI"
    assert [c.tag for c in container] == [q(DS, "Signature")]
    assert_valid(envelope_schema, root)  # the Signature is allowed by xs:any (skip)
    verified = hospital_signing.verify(root, "GIAMDINHHS", "CHUKYDONVI")
    assert len(verified.root.find("CHUKYDONVI")) == 0  # type: ignore[arg-type]
    assert_valid(envelope_schema, verified.root)
    assert verified.root.findtext("THONGTINHOSO/SOLUONGHOSO") == "4"
    for file in verified.root.iterfind(".//FILEHOSO[LOAIHOSO='XML1']"):
        assert_valid(xml1_schema, _tree(base64.b64decode(file.findtext("NOIDUNGFILE") or "")))


def _unsigned() -> etree._Element:
    return _tree(_envelope(2))


def _duplicate_table(root: etree._Element) -> None:
    hoso = root.find(".//HOSO")
    assert hoso is not None
    hoso.append(copy.deepcopy(hoso[0]))


def _no_visit(root: etree._Element) -> None:
    for hoso in root.findall(".//HOSO"):
        root.find(".//DANHSACHHOSO").remove(hoso)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(drop("CHUKYDONVI"), id="CHUKYDONVI missing"),
        pytest.param(foreign_signature, id="non-XMLDSig element in CHUKYDONVI"),
        pytest.param(set_text(".//NOIDUNGFILE", "not base64!"), id="NOIDUNGFILE not base64"),
        pytest.param(set_text(".//NOIDUNGFILE", ""), id="NOIDUNGFILE empty"),
        pytest.param(set_text(".//LOAIHOSO", ""), id="LOAIHOSO empty"),
        pytest.param(set_text(".//NGAYLAP", "2024-06-28"), id="NGAYLAP with dashes"),
        pytest.param(set_text(".//MACSKCB", "7907"), id="MACSKCB of 4 characters"),
        pytest.param(set_text(".//SOLUONGHOSO", "0"), id="SOLUONGHOSO 0"),
        pytest.param(_no_visit, id="DANHSACHHOSO without HOSO"),
        pytest.param(drop(".//HOSO/FILEHOSO/LOAIHOSO"), id="FILEHOSO without LOAIHOSO"),
        pytest.param(_duplicate_table, id="two XML1 in one HOSO"),
    ],
)
def test_a_wrong_envelope_fails_the_xsd(envelope_schema: etree.XMLSchema, change: Edit) -> None:
    root = _unsigned()
    assert_valid(envelope_schema, root)
    change(root)
    assert not envelope_schema.validate(root)
