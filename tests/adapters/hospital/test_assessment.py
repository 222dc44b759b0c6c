"""Table 12 (medical assessment, QĐ 130 Bảng 12 as amended by QĐ 4750): its XSD, its field table
and its normalization into ``hi_assessment`` records."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from lxml import etree

from adapters.hospital import assessment
from gateway.pipeline.ports import NormalizedItem, RejectedItem, ValidatedDocument
from gateway.xml.parser import XmlLimits, parse
from gateway.xml.schemas import SchemaRegistry
from tests.adapters.hospital.contracts import CONTRACTS, XS, assert_valid, contract, schema
from tests.support import assessment as documents
from tests.support.batches import sign
from tests.support.dev_signing import DevSigning

XML12 = schema("qd130/xml12.xsd")
# The fields xml12.xsd requires (its header gives the reasons).
REQUIRED = (
    "NGUOI_CHU_TRI", "CHUC_VU", "NGAY_HOP", "HO_TEN", "NGAY_SINH", "DIA_CHI", "MATINH_CU_TRU",
    "MAHUYEN_CU_TRU", "MAXA_CU_TRU", "MA_DOI_TUONG", "KHAM_GIAM_DINH", "SO_BIEN_BAN",
    "NGAY_CHUNG_TU", "NGAY_DE_NGHI", "KET_QUA_KHAM", "SO_VAN_BAN_CAN_CU",
)  # fmt: skip


class _NoHistory:
    def entries(self, name: str) -> list[bytes]:
        return []


def _tree(changes: Mapping[str, str | None] | None = None) -> etree._Element:
    return parse(documents.assessment_xml([changes or {}]), XmlLimits())


def _row_fields() -> tuple[str, ...]:
    names = contract("qd130/xml12.xsd").xpath(
        "/xs:schema/xs:complexType[@name='GiamDinhYkhoa']/xs:sequence/xs:element/@name",
        namespaces=XS,
    )
    assert isinstance(names, list)
    return tuple(str(name) for name in names)


def test_the_xsd_the_generator_and_the_field_table_name_the_same_35_fields() -> None:
    assert _row_fields() == documents.FIELDS and len(documents.FIELDS) == 35
    # MA_THE_BHYT is read apart, as a card (xml1.cards_of).
    assert set(documents.FIELDS) - set(assessment.FIELDS) == {"MA_THE_BHYT"}
    assert set(assessment.FIELDS) <= set(documents.FIELDS)


def test_a_generated_document_is_valid() -> None:
    assert_valid(XML12, parse(documents.assessment_xml([{}, {}, {}]), XmlLimits()))


def test_a_row_of_only_the_required_fields_is_valid() -> None:
    optional = {name: None for name in documents.FIELDS if name not in REQUIRED}
    assert_valid(XML12, _tree(optional))


@pytest.mark.parametrize("field", REQUIRED)
def test_a_missing_or_empty_required_field_is_refused(field: str) -> None:
    assert not XML12.validate(_tree({field: None}))
    assert not XML12.validate(_tree({field: ""}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("NGAY_HOP", "20241301"),  # month 13
        ("NGAY_HOP", "2024-03-05"),
        ("NGAY_HOP", "202403051200"),  # a date-time where the sheet says yyyymmdd
        ("NGAY_CHUNG_TU", "20240532"),
        ("NGAY_DE_NGHI", "5/3/2024"),
        ("NGAY_CAP_CCCD", "2021061"),
        ("NGAY_SINH", "19781312"),
    ],
)
def test_a_malformed_date_is_refused(field: str, value: str) -> None:
    assert not XML12.validate(_tree({field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CHUC_VU", "3"),
        ("KHAM_GIAM_DINH", "9"),
        ("TYLE_TTCT_MOI", "101"),
        ("TYLE_TTCT_MOI", "21.5"),
        ("DANG_HUONG_CHE_DO", "1;8"),
        ("DANG_KHUYETTAT", "7"),
        ("MUC_DO_KHUYETTAT", "5"),
        ("MA_BHXH", "01780123456"),  # 11 characters: the sheet's size is 10
        ("MA_DOI_TUONG", "TNLĐ;BNN;BHXH1L;CĐHH;NKT"),  # 24 characters: the size is 20
    ],
)
def test_values_outside_the_sheet_are_refused(field: str, value: str) -> None:
    assert not XML12.validate(_tree({field: value}))


def test_unknown_birth_day_is_accepted_as_in_xml1() -> None:
    assert_valid(XML12, _tree({"NGAY_SINH": "19691100"}))


def _items(
    signing: DevSigning, rows: list[Mapping[str, str | None]]
) -> list[NormalizedItem | RejectedItem]:
    signed = sign(documents.assessment_xml(rows), signing.identity)
    verified = signing.verify(parse(signed, XmlLimits()), assessment.ROOT, "CHUKYDONVI")
    registry = SchemaRegistry(CONTRACTS)
    registry.validate("qd130/xml12", verified.root)
    return assessment.AssessmentFormat().items(
        ValidatedDocument(verified=verified, schema="qd130/xml12"),
        schemas=registry,
        limits=XmlLimits(),
        history=_NoHistory(),
    )


def test_each_row_is_one_record_keyed_by_meeting_and_minutes_entry(
    hospital_signing: DevSigning,
) -> None:
    items = _items(hospital_signing, [{}, {"TYLE_TTCT_CU": "15", "DANG_HUONG_CHE_DO": "4;3"}])
    first, second = items
    assert isinstance(first, NormalizedItem) and isinstance(second, NormalizedItem)
    meeting = first.payload["assessment"]["meeting_date"].replace("-", "")
    assert (first.key, second.key) == (f"{meeting}/15", f"{meeting}/16")
    assert first.facility_code is None  # table 12 names no facility
    payload = first.payload
    assert payload["assessment"]["chair_role_code"] == "1"
    assert payload["assessment"]["category_codes"] == ["TNLĐ"]
    assert payload["assessment"]["legal_basis"] == [
        "Thông tư 56/2017/TT-BYT",
        "Thông tư 22/2019/TT-BYT",
    ]
    assert payload["person"]["date_of_birth"] == "1978-04-12"
    assert payload["person"]["citizen_id_issued_on"] == "2021-06-15"
    assert payload["person"]["province_code"] == "01"
    assert payload["referral"]["unit_name"] == "Công ty TNHH May Thăng Long"
    assert payload["conclusion"]["impairment_percent"] == 21
    assert "prior" not in payload  # both fields empty: "để trống" on a first assessment
    assert second.payload["prior"] == {"impairment_percent": 15, "benefit_codes": ["4", "3"]}
    assert payload["cards"] == [
        {
            "number": "DN4010178012345",
            "registered_facility": None,
            "valid_from": None,
            "valid_to": None,
        }
    ]
    assert payload["format"] == {"name": "QD130", "version": "4750", "table": "XML12"}
    assert first.subject.model_dump() == {
        "citizen_id": "001178012345",
        "si_number": "0178012345",
        "hi_card_number": "DN4010178012345",
        "full_name": "Trần Thị Lan",
        "date_of_birth": "1978-04-12",
        "gender": None,
    }


def test_the_row_s_own_si_number_wins_over_the_card_s(hospital_signing: DevSigning) -> None:
    (item,) = _items(hospital_signing, [{"MA_THE_BHYT": "HT3010000000001"}])
    assert isinstance(item, NormalizedItem)
    assert item.subject.si_number == "0178012345"
    (bare,) = _items(hospital_signing, [{"MA_BHXH": None}])
    assert isinstance(bare, NormalizedItem)
    assert bare.subject.si_number == "0178012345"  # from the card, as for XML1


def test_an_impossible_date_rejects_its_row_alone(hospital_signing: DevSigning) -> None:
    good, bad = _items(hospital_signing, [{}, {"NGAY_CHUNG_TU": "20230229"}])
    assert isinstance(good, NormalizedItem)
    assert isinstance(bad, RejectedItem) and bad.key is not None and bad.key.endswith("/16")
    assert bad.error.code == "SCHEMA_INVALID"
    assert [i.path for i in bad.error.issues] == [
        "/CHI_TIEU_GIAM_DINH_YKHOA/DSACH_GIAM_DINH_YKHOA/GIAM_DINH_YKHOA[2]/NGAY_CHUNG_TU"
    ]


def test_the_payload_schema_covers_every_field_of_the_table() -> None:
    properties = assessment.AssessmentFormat().payload_schema()["properties"]
    for section, name, _ in assessment.FIELDS.values():
        assert name in properties[section]["properties"]
    assert properties["conclusion"]["properties"]["impairment_percent"] == {"type": "integer"}
    assert properties["assessment"]["properties"]["category_codes"]["type"] == "array"
