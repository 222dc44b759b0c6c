"""Medical assessment documents (QĐ 130 table 12) for tests: the fields of sheet "Bang 12_GDYK"
of the QĐ 4750 appendix in its order, in the layout of CV 3190 Phụ lục I.4.4 (p. 19–20), with
realistic values of a labour-accident assessment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from lxml import etree

# Sheet "Bang 12_GDYK" rows 1–35 (also the order of CV 3190 I.4.4).
FIELDS = (
    "NGUOI_CHU_TRI", "CHUC_VU", "NGAY_HOP", "HO_TEN", "NGAY_SINH", "SO_CCCD", "NGAY_CAP_CCCD",
    "NOI_CAP_CCCD", "DIA_CHI", "MATINH_CU_TRU", "MAHUYEN_CU_TRU", "MAXA_CU_TRU", "MA_BHXH",
    "MA_THE_BHYT", "NGHE_NGHIEP", "DIEN_THOAI", "MA_DOI_TUONG", "KHAM_GIAM_DINH", "SO_BIEN_BAN",
    "TYLE_TTCT_CU", "DANG_HUONG_CHE_DO", "NGAY_CHUNG_TU", "SO_GIAY_GIOI_THIEU", "NGAY_DE_NGHI",
    "MA_DONVI", "GIOI_THIEU_CUA", "KET_QUA_KHAM", "SO_VAN_BAN_CAN_CU", "TYLE_TTCT_MOI",
    "TONG_TYLE_TTCT", "DANG_KHUYETTAT", "MUC_DO_KHUYETTAT", "DE_NGHI", "DUOC_XACDINH", "DU_PHONG",
)  # fmt: skip

# (name, birth date, citizen id, SI number) of the people assessed, one per row in turn. The HI
# card is "DN4" + province "01" + the SI number (QĐ 1666/QĐ-BHXH card structure).
PEOPLE = (
    ("Trần Thị Lan", "19780412", "001178012345", "0178012345"),
    ("Lê Văn Minh", "19850923", "001085004321", "0185004321"),
    ("Phạm Quốc Tuấn", "19691100", "001069007788", "0169007788"),  # day unknown
)


def row_values(index: int, meeting: date) -> dict[str, str]:
    """The values of row ``index`` (from 1) of a council meeting held on ``meeting``."""
    name, born, citizen_id, si_number = PEOPLE[(index - 1) % len(PEOPLE)]
    return {
        "NGUOI_CHU_TRI": "Nguyễn Văn Hùng",
        "CHUC_VU": "1",
        "NGAY_HOP": f"{meeting:%Y%m%d}",
        "HO_TEN": name,
        "NGAY_SINH": born,
        "SO_CCCD": citizen_id,
        "NGAY_CAP_CCCD": "20210615",
        "NOI_CAP_CCCD": "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
        "DIA_CHI": "Số 12 ngõ 45 phố Chùa Bộc, phường Quang Trung, quận Đống Đa, thành phố Hà Nội",
        "MATINH_CU_TRU": "01",
        "MAHUYEN_CU_TRU": "006",
        "MAXA_CU_TRU": "00217",
        "MA_BHXH": si_number,
        "MA_THE_BHYT": f"DN401{si_number}",
        "NGHE_NGHIEP": "Công nhân may",
        "DIEN_THOAI": "0912345678",
        "MA_DOI_TUONG": "TNLĐ",
        "KHAM_GIAM_DINH": "1",
        "SO_BIEN_BAN": str(14 + index),
        "TYLE_TTCT_CU": "",
        "DANG_HUONG_CHE_DO": "",
        "NGAY_CHUNG_TU": f"{meeting:%Y%m%d}",
        "SO_GIAY_GIOI_THIEU": f"{120 + index}/GGT-CTM",
        "NGAY_DE_NGHI": f"{meeting - timedelta(days=20):%Y%m%d}",
        "MA_DONVI": "TA0123A",
        "GIOI_THIEU_CUA": "Công ty TNHH May Thăng Long",
        "KET_QUA_KHAM": "Gãy kín 1/3 dưới xương cẳng chân phải đã điều trị, can liền tốt; hạn "
        "chế vận động khớp cổ chân phải mức độ nhẹ.",
        "SO_VAN_BAN_CAN_CU": "Thông tư 56/2017/TT-BYT;Thông tư 22/2019/TT-BYT",
        "TYLE_TTCT_MOI": "21",
        "TONG_TYLE_TTCT": "",
        "DANG_KHUYETTAT": "",
        "MUC_DO_KHUYETTAT": "",
        "DE_NGHI": "Giải quyết chế độ tai nạn lao động theo quy định.",
        "DUOC_XACDINH": "",
        "DU_PHONG": "",
    }


def assessment_xml(
    rows: Sequence[Mapping[str, str | None]] = ({},), *, meeting: date | None = None
) -> bytes:
    """The unsigned document, one row per entry of ``rows``: each maps a field to the value
    that replaces the default, or to ``None`` to leave the element out."""
    held = meeting or date.today() - timedelta(days=3)
    root = etree.Element("CHI_TIEU_GIAM_DINH_YKHOA")
    listing = etree.SubElement(root, "DSACH_GIAM_DINH_YKHOA")
    for index, changes in enumerate(rows, 1):
        values: dict[str, str | None] = {**row_values(index, held), **changes}
        row = etree.SubElement(listing, "GIAM_DINH_YKHOA")
        for name in FIELDS:
            value = values[name]
            if value is not None:
                etree.SubElement(row, name).text = value
    etree.SubElement(root, "CHUKYDONVI")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
