"""The XSDs of XML2..XML5 and the check-in against generated tables, both layouts, and faults.

The field tables are QD130.md section B (from the QĐ 4750 appendix [S2] and the vendor checklist
[S17]) and the check-in sheet; the older layouts are those of CV 3190 (QD130.md section G).
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Iterator

import pytest
from lxml import etree

from adapters.hospital import synth
from gateway.errors import SchemaInvalid
from gateway.xml.ns import DS, q
from gateway.xml.parser import XmlLimits, parse
from gateway.xml.schemas import SchemaRegistry
from tests.adapters.hospital.contracts import CONTRACTS, assert_valid, documented_fields, schema
from tests.support.dev_signing import DevSigning
from tests.support.xml_edits import Edit, drop, foreign_signature, set_text, swap

FACILITY = "79071"
SEEDS = range(120)
LISTS = ("XML2", "XML3", "XML4", "XML5")
KINDS = (*LISTS, "CHECKIN")

# Required fields: present and not empty. Every other field may be absent or empty. Sources and
# the reasons for each deviation from the checklist are in the header of each XSD. XML3 MA_BAC_SI
# is optional here (tests sent to another facility, QĐ 4750); rule QD130-REQUIRED-MA_BAC_SI
# requires it on every other line (test_rules).
REQUIRED = {
    "XML2": {
        "MA_LK", "STT", "MA_THUOC", "MA_NHOM", "TEN_THUOC", "DON_VI_TINH", "HAM_LUONG",
        "DUONG_DUNG", "LIEU_DUNG", "PHAM_VI", "TYLE_TT_BH", "SO_LUONG", "DON_GIA",
        "THANH_TIEN_BV", "THANH_TIEN_BH", "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN",
        "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "MUC_HUONG", "T_BNTT", "T_BNCCT",
        "T_BHTT", "MA_KHOA", "MA_BAC_SI", "NGAY_YL", "MA_PTTT", "NGUON_CTRA",
    },
    "XML3": {
        "MA_LK", "STT", "MA_NHOM", "DON_VI_TINH", "PHAM_VI", "SO_LUONG", "DON_GIA_BV",
        "DON_GIA_BH", "TYLE_TT_DV", "TYLE_TT_BH", "THANH_TIEN_BV", "THANH_TIEN_BH", "MUC_HUONG",
        "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN", "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL",
        "T_NGUONKHAC", "T_BNTT", "T_BNCCT", "T_BHTT", "MA_KHOA", "MA_PTTT",
    },
    "XML4": {"MA_LK", "STT"},
    "XML5": {"MA_LK", "STT", "DIEN_BIEN_LS", "THOI_DIEM_DBLS", "NGUOI_THUC_HIEN"},
    "CHECKIN": {
        "MA_LK", "MA_BN", "HO_TEN", "NGAY_SINH", "GIOI_TINH", "MA_DOITUONG_KCB", "NGAY_VAO",
        "MA_LOAI_KCB", "MA_CSKCB", "NGAY_YL",
    },
}  # fmt: skip

# The layouts of CV 3190 (10/2023, before QĐ 4750), copied from its sections 2.4 and 3.5.2-3.5.5.
CV3190 = {
    "XML2": (
        "MA_LK", "STT", "MA_THUOC", "MA_PP_CHEBIEN", "MA_CSKCB_THUOC", "MA_NHOM", "TEN_THUOC",
        "DON_VI_TINH", "HAM_LUONG", "DUONG_DUNG", "DANG_BAO_CHE", "LIEU_DUNG", "CACH_DUNG",
        "SO_DANG_KY", "TT_THAU", "PHAM_VI", "TYLE_TT_BH", "SO_LUONG", "DON_GIA",
        "THANH_TIEN_BV", "THANH_TIEN_BH", "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN",
        "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "MUC_HUONG", "T_BNTT", "T_BNCCT",
        "T_BHTT", "MA_KHOA", "MA_BAC_SI", "MA_DICH_VU", "NGAY_YL", "MA_PTTT", "NGUON_CTRA",
        "VET_THUONG_TP", "DU_PHONG",
    ),
    "XML3": (
        "MA_LK", "STT", "MA_DICH_VU", "MA_PTTT_QT", "MA_VAT_TU", "MA_NHOM", "GOI_VTYT",
        "TEN_VAT_TU", "TEN_DICH_VU", "MA_XANG_DAU", "DON_VI_TINH", "PHAM_VI", "SO_LUONG",
        "DON_GIA_BV", "DON_GIA_BH", "TT_THAU", "TYLE_TT_DV", "TYLE_TT_BH", "THANH_TIEN_BV",
        "THANH_TIEN_BH", "T_TRANTT", "MUC_HUONG", "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN",
        "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "T_BNTT", "T_BNCCT", "T_BHTT",
        "MA_KHOA", "MA_GIUONG", "MA_BAC_SI", "NGUOI_THUC_HIEN", "MA_BENH", "MA_BENH_YHCT",
        "NGAY_YL", "NGAY_TH_YL", "NGAY_KQ", "MA_PTTT", "VET_THUONG_TP", "PP_VO_CAM",
        "VI_TRI_TH_DVKT", "MA_MAY", "MA_HIEU_SP", "TAI_SU_DUNG", "DU_PHONG",
    ),
    "XML4": (
        "MA_LK", "STT", "MA_DICH_VU", "MA_CHI_SO", "TEN_CHI_SO", "GIA_TRI", "DON_VI_DO",
        "MO_TA", "KET_LUAN", "NGAY_KQ", "MA_BS_DOC_KQ", "DU_PHONG",
    ),
    "XML5": (
        "MA_LK", "STT", "DIEN_BIEN_LS", "GIAI_DOAN_BENH", "HOI_CHAN", "PHAU_THUAT",
        "THOI_DIEM_DBLS", "NGUOI_THUC_HIEN", "DU_PHONG",
    ),
    "CHECKIN": (
        "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT",
        "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "MA_DOITUONG_KCB", "NGAY_VAO", "MA_LOAI_KCB",
        "MA_CSKCB", "MA_DICH_VU", "TEN_DICH_VU", "NGAY_YL",
    ),
}  # fmt: skip


# XML3 TT_THAU in the form QĐ 4750 gives it ("Số quyết định.Mã đơn vị ban hành quyết định;Gi;Ni;
# XXXX"), of the most characters 4750 allows and of one more: "Tăng kích thước tối đa lên 50 ký tự"
# (Bảng 3 field 16; the old maximum was 25). "Đ" is one character of two UTF-8 bytes.
TT_THAU_50 = "1516/QĐ-SYT-TTMS-BVĐKTTTWCT-KHTH.01901;G12;N0;2024"
TT_THAU_51 = "15162/QĐ-SYT-TTMS-BVĐKTTTWCT-KHTH.01901;G12;N0;2024"


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.XMLSchema]:
    found = {kind: schema(f"qd130/{kind.lower()}.xsd") for kind in KINDS}
    found["XML1"] = schema("qd130/xml1.xsd")
    found["ENVELOPE"] = schema("qd130/giamdinhhs.xsd")
    return found


def _tree(data: bytes) -> etree._Element:
    return parse(data, XmlLimits())


def _visit(seed: int) -> synth.Visit:
    return synth.make_visit(random.Random(seed), facility_code=FACILITY, index=seed + 1)


def _inpatient() -> synth.Visit:
    return next(v for v in map(_visit, SEEDS) if v.notes)


def _document(kind: str, visit: synth.Visit, *, wrapper: bool = True) -> bytes:
    if kind == "CHECKIN":
        return synth.checkin(visit)
    return synth.tables(visit, wrapper=wrapper)[kind]


def _first_row(kind: str, root: etree._Element) -> etree._Element:
    row = next(root.iter(synth.LAYOUTS[kind].row))
    assert isinstance(row, etree._Element)
    return row


# --- Generated tables -------------------------------------------------------------------------


@pytest.mark.parametrize("wrapper", [True, False], ids=["with CHITIEU wrapper", "without"])
def test_every_generated_table_is_valid_in_both_layouts(
    schemas: dict[str, etree.XMLSchema], wrapper: bool
) -> None:
    seen: set[str] = set()
    for visit in map(_visit, SEEDS):
        for kind, data in synth.tables(visit, wrapper=wrapper).items():
            root = _tree(data)
            assert_valid(schemas[kind], root)
            seen.add(kind)
            if kind != "XML1":
                layout = synth.LAYOUTS[kind]
                assert root.tag == (layout.wrapper if wrapper else layout.items)
    assert seen == {"XML1", *LISTS}


def test_every_generated_checkin_is_valid(schemas: dict[str, etree.XMLSchema]) -> None:
    for visit in map(_visit, SEEDS):
        root = _tree(synth.checkin(visit))
        assert_valid(schemas["CHECKIN"], root)
        assert [child.tag for child in root] == ["DSACH_TRANG_THAI_KCB", "CHUKYDONVI"]


def test_the_checkin_list_without_its_wrapper_is_declared(
    schemas: dict[str, etree.XMLSchema],
) -> None:
    items = _tree(synth.checkin(_visit(1))).find("DSACH_TRANG_THAI_KCB")
    assert items is not None
    assert_valid(schemas["CHECKIN"], etree.ElementTree(copy.deepcopy(items)).getroot())


@pytest.mark.parametrize("kind", KINDS)
def test_rows_follow_the_field_table_order_of_the_xsd(kind: str) -> None:
    documented = list(documented_fields(kind))
    # 4750 appendix: Bảng 2 has 38 numbered rows + NGAY_TH_YL, Bảng 3 47, Bảng 4 12, Bảng 5 9,
    # the check-in sheet 26.
    assert len(documented) == {"XML2": 39, "XML3": 47, "XML4": 12, "XML5": 9, "CHECKIN": 26}[kind]
    assert list(synth.LAYOUTS[kind].fields) == documented
    written = [child.tag for child in _first_row(kind, _tree(_document(kind, _inpatient())))]
    assert written == documented


@pytest.mark.parametrize("kind", KINDS)
def test_the_cv3190_layout_before_qd4750_still_validates(
    schemas: dict[str, etree.XMLSchema], kind: str
) -> None:
    root = _tree(_document(kind, _inpatient()))
    for row in root.iter(synth.LAYOUTS[kind].row):
        for child in list(row):
            if child.tag not in CV3190[kind]:
                row.remove(child)  # the fields QĐ 4750 inserted
        assert [child.tag for child in row] == list(CV3190[kind])
    assert_valid(schemas[kind], root)


@pytest.mark.parametrize("kind", KINDS)
def test_cdata_text_is_accepted(schemas: dict[str, etree.XMLSchema], kind: str) -> None:
    data = _document(kind, _inpatient())
    # Every non-empty value in CDATA, numbers and dates included, as some exporters write them.
    wrapped = re.sub(rb"<([A-Z_0-9]+)>([^<]+)</\1>", rb"<\1><![CDATA[\2]]></\1>", data)
    assert wrapped.count(b"<![CDATA[") > data.count(b"<![CDATA[") > 0
    assert_valid(schemas[kind], _tree(wrapped))


def _fields(kind: str) -> Iterator[tuple[str, str]]:
    for name in synth.LAYOUTS[kind].fields:
        yield kind, name


ALL_FIELDS = [pair for kind in KINDS for pair in _fields(kind)]


@pytest.mark.parametrize(("kind", "name"), ALL_FIELDS, ids=[f"{k}.{n}" for k, n in ALL_FIELDS])
def test_a_required_field_must_be_present_and_filled_an_optional_one_need_not(
    schemas: dict[str, etree.XMLSchema], kind: str, name: str
) -> None:
    schema = schemas[kind]
    for change in ("absent", "empty"):
        root = _tree(_document(kind, _inpatient()))
        row = _first_row(kind, root)
        element = row.find(name)
        assert element is not None
        if change == "absent":
            row.remove(element)
        else:
            element.text = None
        if name in REQUIRED[kind]:
            assert not schema.validate(root), f"{kind}.{name} {change} is accepted"
        else:
            assert_valid(schema, root)


# --- Wrong values -----------------------------------------------------------------------------


def _extra(row: etree._Element) -> None:
    etree.SubElement(row, "KHONG_CO")


def _same_stt(row: etree._Element) -> None:
    twin = copy.deepcopy(row)
    row.addnext(twin)


WRONG = [
    # XML2
    ("XML2", set_text("STT", "một"), "STT not a number"),
    ("XML2", set_text("STT", "0"), "STT 0"),
    ("XML2", _same_stt, "two rows with one STT"),
    ("XML2", drop("MA_THUOC"), "MA_THUOC missing"),
    ("XML2", set_text("DUONG_DUNG", "1.011"), "DUONG_DUNG of 5 characters"),
    ("XML2", set_text("MA_KHOA", "K" * 51), "MA_KHOA of 51 characters"),
    ("XML2", set_text("MA_LK", "7" * 101), "MA_LK of 101 characters"),
    ("XML2", set_text("MA_NHOM", "20"), "MA_NHOM 20"),
    ("XML2", set_text("MA_NHOM", "0"), "MA_NHOM 0"),
    ("XML2", set_text("PHAM_VI", "4"), "PHAM_VI 4"),
    ("XML2", set_text("NGUON_CTRA", "5"), "NGUON_CTRA 5"),
    ("XML2", set_text("MA_PTTT", "4"), "MA_PTTT 4"),
    ("XML2", set_text("VET_THUONG_TP", "2"), "VET_THUONG_TP 2"),
    ("XML2", set_text("TYLE_TT_BH", "80.5"), "TYLE_TT_BH not an integer"),
    ("XML2", set_text("MUC_HUONG", "101"), "MUC_HUONG 101"),
    ("XML2", set_text("SO_LUONG", "1.2345"), "SO_LUONG with 4 decimals"),
    ("XML2", set_text("SO_LUONG", "2,5"), "SO_LUONG with a comma"),
    ("XML2", set_text("DON_GIA", "-250"), "negative DON_GIA"),
    ("XML2", set_text("THANH_TIEN_BV", "750.125"), "money with 3 decimals"),
    ("XML2", set_text("T_BHTT", ""), "required money empty"),
    ("XML2", set_text("NGAY_YL", "202401011260"), "NGAY_YL minute 60"),
    ("XML2", set_text("NGAY_TH_YL", "2024-01-01 08:00"), "NGAY_TH_YL with separators"),
    ("XML2", swap("TEN_THUOC", "DON_VI_TINH"), "fields out of order"),
    ("XML2", _extra, "an unknown field"),
    # XML3
    ("XML3", set_text("STT", "1.5"), "STT not an integer"),
    ("XML3", drop("MA_NHOM"), "MA_NHOM missing"),
    ("XML3", set_text("GOI_VTYT", "G1234"), "GOI_VTYT of 5 characters"),
    ("XML3", set_text("TT_THAU", TT_THAU_51), "TT_THAU of 51 characters"),
    ("XML3", set_text("MA_XANG_DAU", "X" * 21), "MA_XANG_DAU of 21 characters"),
    ("XML3", set_text("MA_DICH_VU", "1" * 51), "MA_DICH_VU of 51 characters"),
    ("XML3", set_text("PP_VO_CAM", "5"), "PP_VO_CAM 5"),
    ("XML3", set_text("PHAM_VI", "0"), "PHAM_VI 0"),
    ("XML3", set_text("MA_NHOM", "19.5"), "MA_NHOM not an integer"),
    ("XML3", set_text("TAI_SU_DUNG", "0"), "TAI_SU_DUNG 0"),
    ("XML3", set_text("TYLE_TT_DV", "150"), "TYLE_TT_DV 150"),
    ("XML3", set_text("VI_TRI_TH_DVKT", "1000"), "VI_TRI_TH_DVKT of 4 digits"),
    ("XML3", set_text("DON_GIA_BV", "38700.0001"), "DON_GIA_BV with 4 decimals"),
    ("XML3", set_text("T_TRANTT", "không"), "T_TRANTT not a number"),
    ("XML3", set_text("NGAY_KQ", "20240101"), "NGAY_KQ of 8 digits"),
    # XML4
    ("XML4", set_text("STT", "0"), "STT 0"),
    ("XML4", drop("MA_LK"), "MA_LK missing"),
    ("XML4", set_text("MA_DICH_VU", "22.0120.1370.012"), "MA_DICH_VU of 16 characters"),
    ("XML4", set_text("GIA_TRI", "9" * 51), "GIA_TRI of 51 characters"),
    ("XML4", set_text("TEN_CHI_SO", "x" * 256), "TEN_CHI_SO of 256 characters"),
    ("XML4", set_text("NGAY_KQ", "202413011200"), "NGAY_KQ month 13"),
    ("XML4", set_text("NGAY_KQ", "2024010112000"), "NGAY_KQ of 13 digits"),
    # XML5
    ("XML5", set_text("STT", "-1"), "STT negative"),
    ("XML5", drop("DIEN_BIEN_LS"), "DIEN_BIEN_LS missing"),
    ("XML5", set_text("THOI_DIEM_DBLS", ""), "THOI_DIEM_DBLS empty"),
    ("XML5", set_text("THOI_DIEM_DBLS", "202402321200"), "THOI_DIEM_DBLS day 32"),
    ("XML5", set_text("NGUOI_THUC_HIEN", "1" * 256), "NGUOI_THUC_HIEN of 256 characters"),
    ("XML5", swap("MA_LK", "STT"), "fields out of order"),
    # Check-in
    ("CHECKIN", set_text("GIOI_TINH", "4"), "GIOI_TINH 4"),
    ("CHECKIN", set_text("GIOI_TINH", "nam"), "GIOI_TINH not a number"),
    ("CHECKIN", set_text("MA_LOAI_KCB", "1"), "MA_LOAI_KCB without its leading zero"),
    ("CHECKIN", set_text("MA_THE_BHYT", "HT3795908301661X"), "MA_THE_BHYT of 16 characters"),
    ("CHECKIN", set_text("MA_DKBD", "790710"), "MA_DKBD of 6 characters"),
    ("CHECKIN", set_text("MA_DOITUONG_KCB", "1.1.1"), "MA_DOITUONG_KCB of 5 characters"),
    ("CHECKIN", set_text("GT_THE_DEN", "2025022"), "GT_THE_DEN of 7 digits"),
    ("CHECKIN", set_text("GT_THE_TU", "20241301"), "GT_THE_TU month 13"),
    ("CHECKIN", drop("NGAY_YL"), "NGAY_YL missing"),
    ("CHECKIN", set_text("NGAY_VAO", "202406141908 "), "NGAY_VAO with a space"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "change"),
    [pytest.param(kind, change, id=f"{kind}: {what}") for kind, change, what in WRONG],
)
def test_a_wrong_value_fails_the_xsd(
    schemas: dict[str, etree.XMLSchema], kind: str, change: Edit
) -> None:
    root = _tree(_document(kind, _inpatient()))
    assert_valid(schemas[kind], root)
    change(_first_row(kind, root))
    assert not schemas[kind].validate(root)


def _supply(row: etree._Element) -> bool:
    return row.findtext("MA_NHOM") == "10"


def test_xml3_tt_thau_takes_the_50_characters_of_qd4750() -> None:
    assert (len(TT_THAU_50), len(TT_THAU_51)) == (50, 51)
    assert len(TT_THAU_50.encode()) > 50  # the XSD counts characters, not bytes
    registry = SchemaRegistry(CONTRACTS)
    root = _tree(_document("XML3", _inpatient()))
    row = next(row for row in root.iter("CHI_TIET_DVKT") if _supply(row))
    set_text("TT_THAU", TT_THAU_50)(row)
    registry.validate("qd130/xml3", root, table="XML3")
    set_text("TT_THAU", TT_THAU_51)(row)
    with pytest.raises(SchemaInvalid) as refused:
        registry.validate("qd130/xml3", root, table="XML3")
    assert refused.value.code == "SCHEMA_INVALID"
    [issue] = refused.value.issues
    assert (issue.table, issue.path) == ("XML3", f"{root.getroottree().getpath(row)}/TT_THAU")
    assert "50" in issue.message


def test_xml2_tt_thau_keeps_its_50_characters() -> None:
    # QĐ 130 Bảng 2 field 15 is already 50 characters; QĐ 4750 adds guidance, not length.
    registry = SchemaRegistry(CONTRACTS)
    root = _tree(_document("XML2", _inpatient()))
    row = _first_row("XML2", root)
    set_text("TT_THAU", TT_THAU_50)(row)
    registry.validate("qd130/xml2", root, table="XML2")
    set_text("TT_THAU", TT_THAU_51)(row)
    with pytest.raises(SchemaInvalid) as refused:
        registry.validate("qd130/xml2", root, table="XML2")
    assert [issue.path for issue in refused.value.issues] == [
        f"{root.getroottree().getpath(row)}/TT_THAU"
    ]


def _no_container(root: etree._Element) -> None:
    root.remove(root.find("CHUKYDONVI"))  # type: ignore[arg-type]


def _container_first(root: etree._Element) -> None:
    root.insert(0, root.find("CHUKYDONVI"))  # type: ignore[arg-type]


def _empty_list(root: etree._Element) -> None:
    items = root.find("DSACH_TRANG_THAI_KCB")
    assert items is not None
    items.remove(items[0])


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_no_container, id="CHUKYDONVI missing"),
        pytest.param(_container_first, id="CHUKYDONVI not last"),
        pytest.param(foreign_signature, id="non-XMLDSig element in CHUKYDONVI"),
        pytest.param(_empty_list, id="no TRANG_THAI_KCB"),
    ],
)
def test_a_wrong_checkin_document_fails_the_xsd(
    schemas: dict[str, etree.XMLSchema], change: Edit
) -> None:
    root = _tree(synth.checkin(_visit(3)))
    assert_valid(schemas["CHECKIN"], root)
    change(root)
    assert not schemas["CHECKIN"].validate(root)


@pytest.mark.parametrize("kind", LISTS)
def test_a_list_table_needs_a_row_and_its_list(
    schemas: dict[str, etree.XMLSchema], kind: str
) -> None:
    layout = synth.LAYOUTS[kind]
    empty_list = etree.Element(layout.wrapper)
    etree.SubElement(empty_list, layout.items)
    assert not schemas[kind].validate(empty_list)
    rows_without_list = _tree(_document(kind, _inpatient()))
    items = rows_without_list[0]
    rows_without_list.remove(items)
    rows_without_list.extend(list(items))
    assert not schemas[kind].validate(rows_without_list)


# --- The signed check-in ----------------------------------------------------------------------


@pytest.mark.parametrize("inpatient", [False, True], ids=["outpatient", "inpatient"])
def test_signed_checkin_verifies_and_validates_once_the_signature_is_removed(
    hospital_signing: DevSigning,
    schemas: dict[str, etree.XMLSchema],
    inpatient: bool,
) -> None:
    visit = _inpatient() if inpatient else next(v for v in map(_visit, SEEDS) if not v.notes)
    root = _tree(synth.signed_checkin(hospital_signing.identity, visit))
    assert [c.tag for c in root[-1]] == [q(DS, "Signature")]
    assert_valid(schemas["CHECKIN"], root)  # the Signature is allowed by xs:any (skip)
    verified = hospital_signing.verify(root, "CHI_TIEU_TRANG_THAI_KCB", "CHUKYDONVI")
    assert len(verified.root.find("CHUKYDONVI")) == 0  # type: ignore[arg-type]
    assert_valid(schemas["CHECKIN"], verified.root)
    assert verified.root.findtext(".//MA_LK") == visit.ma_lk
