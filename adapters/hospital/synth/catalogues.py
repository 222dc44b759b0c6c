"""Catalogues of the synthetic data: drugs, services, supplies, diagnoses, places, names, and the
paraclinical indicators and readings that XML4 reports.

References in brackets are sections and source tags of QD130.md (the field reference for the
QĐ 130/QĐ-BYT format as amended by QĐ 4750/QĐ-BYT). Codes here (drug, service, supply,
indicator, department) have the documented shape but are illustrative, not entries looked up in
the official lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Drug:
    """A drug as the tender result lists it (XML2 columns MA_THUOC … TT_THAU) [B XML2]."""

    ma_thuoc: str
    ten_thuoc: str
    ham_luong: str
    don_vi_tinh: str
    duong_dung: str  # route code, ≤ 4 chars
    dang_bao_che: str
    so_dang_ky: str
    don_gia: Decimal  # purchase-invoice price, ≤ 3 dp [B "Numbers"]
    per_day: Decimal
    lieu_dung: str
    pham_vi: int = 1  # 1 in benefit list, 2 outside [C4 PHAM_VI]
    supply: str = ""  # the supply used per dose (syringe, infusion set), an XML3 row

    @property
    def ma_nhom(self) -> int:
        # Cost group (QĐ 5937 App. 3, as recalled in C4): 4 drug in list, 5 drug outside list.
        return 4 if self.pham_vi == 1 else 5

    @property
    def tyle_tt_bh(self) -> int:
        # 100 when no ratio is prescribed, 0 outside the insurance scope [B XML2 TYLE_TT_BH].
        return 100 if self.pham_vi == 1 else 0


@dataclass(frozen=True)
class Service:
    """A technical service, exam, bed day or medical supply (XML3 row) [B XML3]."""

    code: str  # MA_DICH_VU, or MA_VAT_TU for a supply
    name: str
    ma_nhom: int
    don_vi_tinh: str
    don_gia: Decimal  # DON_GIA_BV = DON_GIA_BH: a public hospital charging the insured price

    @property
    def is_supply(self) -> bool:
        return self.ma_nhom == 10  # T_VTYT counts MA_NHOM 10 [C2]

    @property
    def needs_performer(self) -> bool:
        # NGUOI_THUC_HIEN and NGAY_TH_YL required for MA_NHOM 1, 2, 3, 8, 18 [C4, S17].
        return self.ma_nhom in (1, 2, 3, 8, 18)


def _d(text: str) -> Decimal:
    return Decimal(text)


_ORAL = "1.01"
_IV = "2.15"
DRUGS: dict[str, Drug] = {
    d.ma_thuoc: d
    for d in (
        Drug("40.48", "Paracetamol", "500mg", "Viên", _ORAL, "Viên nén", "VD-21434-14",
             _d("250"), _d("3"), "1 viên/lần x 3 lần/ngày"),
        Drug("40.156", "Amoxicilin", "500mg", "Viên", _ORAL, "Viên nang cứng", "VD-25331-16",
             _d("1150"), _d("3"), "1 viên/lần x 3 lần/ngày"),
        Drug("40.223", "Ceftriaxon", "1g", "Lọ", _IV, "Thuốc bột pha tiêm", "VD-30412-18",
             _d("18500"), _d("2"), "1 lọ/lần x 2 lần/ngày, tiêm tĩnh mạch chậm",
             supply="N03.02.070"),
        Drug("40.503", "Amlodipin", "5mg", "Viên", _ORAL, "Viên nén", "VD-27811-17",
             _d("420"), _d("1"), "1 viên/ngày, uống buổi sáng"),
        Drug("40.630", "Metformin", "850mg", "Viên", _ORAL, "Viên nén bao phim", "VD-24090-16",
             _d("890"), _d("2"), "1 viên/lần x 2 lần/ngày sau ăn"),
        Drug("40.677", "Omeprazol", "20mg", "Viên", _ORAL, "Viên nang", "VD-28975-18",
             _d("690.5"), _d("2"), "1 viên/lần x 2 lần/ngày trước ăn 30 phút"),
        Drug("40.991", "Natri clorid 0,9%", "0,9%/500ml", "Chai", _IV, "Dung dịch tiêm truyền",
             "VD-22912-15", _d("9800"), _d("1"), "500ml/ngày truyền tĩnh mạch 40 giọt/phút",
             supply="N03.05.010"),
        Drug("40.1010", "Oresol", "4,1g", "Gói", _ORAL, "Thuốc bột uống", "VD-19867-13",
             _d("1800"), _d("3"), "1 gói pha 200ml nước x 3 lần/ngày"),
        Drug("40.222", "Ciprofloxacin", "500mg", "Viên", _ORAL, "Viên nén bao phim",
             "VD-26002-16", _d("1050"), _d("2"), "1 viên/lần x 2 lần/ngày"),
        Drug("40.978", "Salbutamol", "2mg", "Viên", _ORAL, "Viên nén", "VD-23315-15",
             _d("245"), _d("3"), "1 viên/lần x 3 lần/ngày"),
        Drug("40.567", "Isosorbid mononitrat", "60mg", "Viên", _ORAL, "Viên nén giải phóng chậm",
             "VN-20388-17", _d("3150"), _d("1"), "1 viên/ngày buổi sáng"),
        Drug("BTB.01", "Men vi sinh Bio-acimin", "1g", "Gói", _ORAL, "Thuốc bột uống",
             "QLSP-0832-14", _d("4500"), _d("2"), "1 gói/lần x 2 lần/ngày", pham_vi=2),
    )
}  # fmt: skip

EXAM = Service("02.1896", "Khám Nội", 13, "Lần", _d("38700"))
BED = Service("K03.1906", "Ngày giường bệnh Nội khoa loại 1", 15, "Ngày", _d("218500"))
SERVICES: dict[str, Service] = {
    s.code: s
    for s in (
        Service("22.0120.1370", "Tổng phân tích tế bào máu ngoại vi (bằng máy đếm laser)", 1,
                "Lần", _d("46200")),
        Service("23.0075.1494", "Định lượng Glucose [Máu]", 1, "Lần", _d("21500")),
        Service("23.0206.1596", "Tổng phân tích nước tiểu (bằng máy tự động)", 1, "Lần",
                _d("27400")),
        Service("18.0119.0028", "Chụp Xquang ngực thẳng", 2, "Lần", _d("65400")),
        Service("18.0001.0001", "Siêu âm ổ bụng (gan mật, tụy, lách, thận, bàng quang)", 2,
                "Lần", _d("43900")),
        Service("21.0014.1778", "Điện tim thường", 3, "Lần", _d("32800")),
        Service("N03.02.070", "Bơm tiêm nhựa liền kim 5ml", 10, "Cái", _d("1050")),
        Service("N03.05.010", "Dây truyền dịch", 10, "Bộ", _d("4600")),
        Service("N03.06.020", "Kim luồn tĩnh mạch 22G", 10, "Cái", _d("14300")),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Diagnosis:
    """An ICD-10 main diagnosis with what is usually ordered for it."""

    icd: str
    name: str
    reason: str  # LY_DO_VV
    drugs: tuple[str, ...]
    tests: tuple[str, ...]
    inpatient: bool = False
    chronic: bool = False
    min_age: int = 0  # chronic adult diseases are not given to children


DIAGNOSES = (
    Diagnosis("J18.9", "Viêm phổi, không đặc hiệu", "Sốt, ho có đờm, khó thở",
              ("40.223", "40.991", "40.48"), ("22.0120.1370", "18.0119.0028"), inpatient=True),
    Diagnosis("I10", "Bệnh lý tăng huyết áp vô căn (nguyên phát)", "Đau đầu, chóng mặt",
              ("40.503",), ("21.0014.1778", "23.0075.1494"), chronic=True, min_age=35),
    Diagnosis("E11.9", "Bệnh đái tháo đường không phụ thuộc insulin, không có biến chứng",
              "Khám định kỳ, khát nhiều, tiểu nhiều", ("40.630",), ("23.0075.1494",),
              chronic=True, min_age=30),
    Diagnosis("K29.7", "Viêm dạ dày, không đặc hiệu", "Đau thượng vị, ợ chua",
              ("40.677", "BTB.01"), ("18.0001.0001",)),
    Diagnosis("J06.9", "Nhiễm trùng hô hấp trên cấp, không đặc hiệu", "Sốt, đau họng, sổ mũi",
              ("40.156", "40.48"), ("22.0120.1370",)),
    Diagnosis("A09", "Tiêu chảy và viêm dạ dày ruột do nhiễm trùng", "Tiêu chảy, nôn, sốt nhẹ",
              ("40.1010", "40.222", "BTB.01"), ("22.0120.1370",), inpatient=True),
    Diagnosis("N39.0", "Nhiễm khuẩn hệ tiết niệu, vị trí không xác định", "Tiểu buốt, tiểu rắt",
              ("40.222",), ("23.0206.1596", "22.0120.1370"), inpatient=True),
    Diagnosis("J20.9", "Viêm phế quản cấp, không đặc hiệu", "Ho, khò khè", ("40.978", "40.48"),
              ("18.0119.0028",)),
    Diagnosis("I20.9", "Cơn đau thắt ngực, không đặc hiệu", "Đau tức ngực trái",
              ("40.567", "40.503"), ("21.0014.1778", "23.0075.1494"), inpatient=True,
              min_age=40),
)  # fmt: skip

# Province: (2-digit code of MATINH_CU_TRU and of the HI card, 3-digit citizen-ID prefix, name,
# district code, district name, ward code, ward name, street).
PLACES = (
    ("01", "001", "Thành phố Hà Nội", "001", "Quận Ba Đình", "00001", "Phường Phúc Xá",
     "Phố Phúc Xá"),
    ("79", "079", "Thành phố Hồ Chí Minh", "760", "Quận 1", "26740", "Phường Bến Nghé",
     "Đường Lê Thánh Tôn"),
    ("48", "048", "Thành phố Đà Nẵng", "492", "Quận Hải Châu", "20194", "Phường Thạch Thang",
     "Đường Lê Duẩn"),
    ("31", "031", "Thành phố Hải Phòng", "303", "Quận Hồng Bàng", "11311",
     "Phường Quán Toan", "Đường Hùng Vương"),
    ("92", "092", "Thành phố Cần Thơ", "916", "Quận Ninh Kiều", "31117", "Phường Cái Khế",
     "Đường Trần Phú"),
)  # fmt: skip

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi")
MIDDLE = {1: ("Văn", "Hữu", "Đức", "Minh", "Quốc"), 2: ("Thị", "Ngọc", "Thu", "Thanh", "Kim")}
GIVEN = {
    1: ("An", "Bình", "Dũng", "Hùng", "Khang", "Long", "Nam", "Phúc", "Quang", "Tuấn"),
    2: ("Anh", "Chi", "Hà", "Hương", "Lan", "Linh", "Mai", "Ngọc", "Thảo", "Trang"),
}
# Benefit code (4th character of the HI card) → MUC_HUONG %, per the card-numbering rules of
# BHXH (not in QD130.md); MUC_HUONG is 80/95/100 for in-route visits [C4].
MUC_HUONG = {"1": 100, "2": 100, "3": 95, "4": 80, "5": 100}


# --- Paraclinical results (XML4) --------------------------------------------------------------

# Infections that raise the white-cell count in the synthetic results.
_INFECTIONS = ("J18.9", "J06.9", "A09", "N39.0")


@dataclass(frozen=True)
class Indicator:
    """One measured indicator of a laboratory test: one XML4 row [B XML4].

    ``code`` stands for the QĐ 7603 App. 11 indicator code (MA_CHI_SO). The value is drawn from
    ``normal``, or from ``raised`` when the main diagnosis is one of ``raised_in``.
    """

    code: str
    name: str
    unit: str
    normal: tuple[float, float]
    places: int
    raised: tuple[float, float] = (0, 0)
    raised_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    """What an imaging or functional test reports, as description and conclusion (MO_TA,
    KET_LUAN); ``{rate}`` in a description is the heart rate. ``by_icd`` overrides ``normal``
    for the diagnoses that show on the test."""

    normal: tuple[str, str]
    by_icd: tuple[tuple[str, tuple[str, str]], ...] = ()

    def for_diagnosis(self, icd: str) -> tuple[str, str]:
        return dict(self.by_icd).get(icd, self.normal)


# Laboratory tests (MA_NHOM 1) → their indicators, in the order laboratories print them.
PANELS: dict[str, tuple[Indicator, ...]] = {
    "22.0120.1370": (
        Indicator("WBC", "Số lượng bạch cầu (WBC)", "G/L", (4.5, 9.8), 1, (11.5, 18.5),
                  _INFECTIONS),
        Indicator("NEUT%", "Tỷ lệ bạch cầu trung tính (NEUT%)", "%", (45, 70), 1, (75, 89),
                  _INFECTIONS),
        Indicator("RBC", "Số lượng hồng cầu (RBC)", "T/L", (3.9, 5.4), 2),
        Indicator("HGB", "Lượng huyết sắc tố (HGB)", "g/L", (122, 158), 0),
        Indicator("HCT", "Khối hồng cầu (HCT)", "L/L", (0.36, 0.47), 2),
        Indicator("PLT", "Số lượng tiểu cầu (PLT)", "G/L", (160, 390), 0),
    ),
    "23.0075.1494": (
        Indicator("GLU", "Glucose", "mmol/L", (4.1, 6.0), 1, (7.4, 13.2), ("E11.9",)),
    ),
    "23.0206.1596": (
        Indicator("SG", "Tỷ trọng (SG)", "", (1.010, 1.025), 3),
        Indicator("PH", "pH", "", (5.0, 7.0), 1),
        Indicator("LEU", "Bạch cầu (LEU)", "Leu/µL", (0, 10), 0, (75, 500), ("N39.0",)),
        Indicator("ERY", "Hồng cầu (ERY)", "Ery/µL", (0, 5), 0, (10, 50), ("N39.0",)),
    ),
}  # fmt: skip

# Imaging (MA_NHOM 2) and functional tests (MA_NHOM 3) → their reading; MA_CHI_SO stays empty
# for them (4750 note on Bảng 4 rows 4-5: empty when App. 11 has no indicator).
READINGS: dict[str, Reading] = {
    "18.0119.0028": Reading(
        ("Hai phế trường sáng đều, không thấy tổn thương nhu mô. Bóng tim không to. Góc sườn "
         "hoành hai bên nhọn.", "Chưa phát hiện bất thường trên phim Xquang ngực"),
        (("J18.9", ("Đám mờ không đồng nhất vùng đáy phổi phải, xóa bờ hoành phải. Bóng tim "
                    "không to.", "Hình ảnh viêm phổi thùy dưới phổi phải")),
         ("J20.9", ("Hai rốn phổi đậm, tăng đậm các nhánh phế quản hai bên. Không thấy tổn "
                    "thương nhu mô.", "Hình ảnh viêm phế quản"))),
    ),
    "18.0001.0001": Reading(
        ("Gan không to, nhu mô đều. Đường mật trong và ngoài gan không giãn. Tụy, lách, hai thận "
         "không thấy bất thường. Bàng quang thành mỏng, không có sỏi.",
         "Chưa phát hiện bất thường trên siêu âm ổ bụng"),
    ),
    "21.0014.1778": Reading(
        ("Nhịp xoang đều, tần số {rate} lần/phút. Trục trung gian. Không thấy biến đổi ST-T.",
         "Điện tim trong giới hạn bình thường"),
        (("I20.9", ("Nhịp xoang đều, tần số {rate} lần/phút. ST chênh xuống 1 mm ở V4-V6, sóng "
                    "T dẹt.", "Theo dõi thiếu máu cơ tim vùng trước bên")),
         ("I10", ("Nhịp xoang đều, tần số {rate} lần/phút. Chỉ số Sokolow-Lyon 38 mm.",
                  "Dày thất trái"))),
    ),
}  # fmt: skip
