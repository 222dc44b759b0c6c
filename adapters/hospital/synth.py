"""Synthetic but realistic QĐ 130 claim data: visits, their XML1/XML2/XML3 tables and batches."""

from __future__ import annotations

import base64
import random
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from gateway.trust.sign import SigningIdentity, sign_enveloped
from gateway.xml.ns import XSD, XSI
from gateway.xml.parser import XmlLimits, parse

# References in brackets are sections and source tags of QD130.md (the field reference for the
# QĐ 130/QĐ-BYT format as amended by QĐ 4750/QĐ-BYT). Catalogue codes below (drug, service,
# supply, department, practitioner) have the documented shape but are illustrative, not entries
# looked up in the official lists.

_CENT = Decimal("0.01")
_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'


# --- Catalogues -------------------------------------------------------------------------------


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
_DRUGS: dict[str, Drug] = {
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

_EXAM = Service("02.1896", "Khám Nội", 13, "Lần", _d("38700"))
_BED = Service("K03.1906", "Ngày giường bệnh Nội khoa loại 1", 15, "Ngày", _d("218500"))
_SERVICES: dict[str, Service] = {
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


_DIAGNOSES = (
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
_PLACES = (
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

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi")
_MIDDLE = {1: ("Văn", "Hữu", "Đức", "Minh", "Quốc"), 2: ("Thị", "Ngọc", "Thu", "Thanh", "Kim")}
_GIVEN = {
    1: ("An", "Bình", "Dũng", "Hùng", "Khang", "Long", "Nam", "Phúc", "Quang", "Tuấn"),
    2: ("Anh", "Chi", "Hà", "Hương", "Lan", "Linh", "Mai", "Ngọc", "Thảo", "Trang"),
}
# Benefit code (4th character of the HI card) → MUC_HUONG %, per the card-numbering rules of
# BHXH (not in QD130.md); MUC_HUONG is 80/95/100 for in-route visits [C4].
_MUC_HUONG = {"1": 100, "2": 100, "3": 95, "4": 80, "5": 100}


# --- Visit ------------------------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Amounts:
    """The money columns of one XML2/XML3 row, without other sources (T_NGUONKHAC = 0) [C2]."""

    thanh_tien_bv: Decimal
    thanh_tien_bh: Decimal
    muc_huong: int

    @property
    def t_bhtt(self) -> Decimal:
        return _money(self.thanh_tien_bh * self.muc_huong / 100)

    @property
    def t_bncct(self) -> Decimal:
        return self.thanh_tien_bh - self.t_bhtt

    @property
    def t_bntt(self) -> Decimal:
        return self.thanh_tien_bv - self.thanh_tien_bh

    @property
    def t_nguonkhac(self) -> Decimal:
        return Decimal("0.00")


@dataclass(frozen=True)
class DrugLine:
    """One XML2 row: a drug ordered at ``ngay_yl``."""

    drug: Drug
    so_luong: Decimal
    muc_huong: int
    ma_khoa: str
    ma_bac_si: str
    ma_dich_vu: str
    ngay_yl: datetime

    @property
    def amounts(self) -> Amounts:
        # THANH_TIEN_BV = SO_LUONG × DON_GIA; THANH_TIEN_BH = … × TYLE_TT_BH/100 [C2 XML2].
        bv = self.so_luong * self.drug.don_gia
        return Amounts(_money(bv), _money(bv * self.drug.tyle_tt_bh / 100), self.muc_huong)


@dataclass(frozen=True)
class ServiceLine:
    """One XML3 row: a service, bed day or supply."""

    service: Service
    so_luong: Decimal
    muc_huong: int
    ma_khoa: str
    ma_bac_si: str
    nguoi_thuc_hien: str
    ngay_yl: datetime
    ngay_th_yl: datetime | None = None
    ngay_kq: datetime | None = None
    ma_giuong: str = ""
    tyle_tt_dv: int = 100
    tyle_tt_bh: int = 100

    @property
    def amounts(self) -> Amounts:
        # THANH_TIEN_BV = SO_LUONG × DON_GIA_BV × TYLE_TT_DV/100 (4750 erratum); THANH_TIEN_BH =
        # SO_LUONG × DON_GIA_BH × TYLE_TT_BH/100, × TYLE_TT_DV/100 with a special ratio [C2 XML3].
        base = self.so_luong * self.service.don_gia * self.tyle_tt_dv / 100
        return Amounts(_money(base), _money(base * self.tyle_tt_bh / 100), self.muc_huong)


@dataclass(frozen=True)
class Totals:
    """The XML1 money fields, summed from the rows as section C2 defines them."""

    t_thuoc: Decimal
    t_vtyt: Decimal
    t_tongchi_bv: Decimal
    t_tongchi_bh: Decimal
    t_bntt: Decimal
    t_bncct: Decimal
    t_bhtt: Decimal
    t_nguonkhac: Decimal
    t_bhtt_gdv: Decimal


@dataclass(frozen=True)
class Visit:
    """Everything one XML1/XML2/XML3 set says about one visit (one MA_LK)."""

    ma_lk: str
    stt: int
    ma_bn: str
    ho_ten: str
    so_cccd: str
    ngay_sinh: date
    gioi_tinh: int
    nhom_mau: str
    dia_chi: str
    matinh_cu_tru: str
    mahuyen_cu_tru: str
    maxa_cu_tru: str
    dien_thoai: str
    ma_the_bhyt: str
    ma_dkbd: str
    gt_the_tu: date
    gt_the_den: date
    ma_doituong_kcb: str
    muc_huong: int
    ly_do_vv: str
    ly_do_vnt: str
    diagnosis: Diagnosis
    ngay_vao: datetime
    ngay_vao_noi_tru: datetime | None
    ngay_ra: datetime
    ngay_ttoan: datetime
    ma_loai_kcb: str
    ket_qua_dtri: int
    ghi_chu: str
    ngay_tai_kham: date | None
    ma_khoa: str
    ma_cskcb: str
    can_nang: str
    ma_hsba: str
    ma_ttdv: str
    drugs: tuple[DrugLine, ...]
    services: tuple[ServiceLine, ...]

    @property
    def so_ngay_dtri(self) -> int:
        # 0 for MA_LOAI_KCB 01/07/09; NGAY_RA − NGAY_VAO + 1 for 02/03/04/06 [C3].
        if self.ma_loai_kcb in ("01", "07", "09"):
            return 0
        return (self.ngay_ra.date() - self.ngay_vao.date()).days + 1

    @property
    def totals(self) -> Totals:
        lines: tuple[DrugLine | ServiceLine, ...] = (*self.drugs, *self.services)
        rows = [line.amounts for line in lines]
        t_tongchi_bh = sum((a.thanh_tien_bh for a in rows), Decimal("0.00"))
        t_bncct = sum((a.t_bncct for a in rows), Decimal("0.00"))
        return Totals(
            t_thuoc=sum((d.amounts.thanh_tien_bv for d in self.drugs), Decimal("0.00")),
            t_vtyt=sum(
                (s.amounts.thanh_tien_bv for s in self.services if s.service.is_supply),
                Decimal("0.00"),
            ),
            t_tongchi_bv=sum((a.thanh_tien_bv for a in rows), Decimal("0.00")),
            t_tongchi_bh=t_tongchi_bh,
            t_bntt=sum((a.t_bntt for a in rows), Decimal("0.00")),
            t_bncct=t_bncct,
            t_bhtt=t_tongchi_bh - t_bncct,  # the explicit formula of the decision [C2]
            t_nguonkhac=sum((a.t_nguonkhac for a in rows), Decimal("0.00")),
            # Σ T_BHTT of rows paid fee-for-service (MA_PTTT = 1): every row here [C2].
            t_bhtt_gdv=sum((a.t_bhtt for a in rows), Decimal("0.00")),
        )


# --- Generation -------------------------------------------------------------------------------


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def _card(rng: random.Random, age: int, province: str) -> tuple[str, int]:
    """HI card number: 2-letter group, benefit digit, 2-digit province, 10 digits; MUC_HUONG."""
    if age < 6:
        group, benefit = "TE", "1"  # children under 6
    elif age < 18:
        group, benefit = "HS", "4"  # pupils
    elif age >= 60:
        group, benefit = rng.choice((("HT", "3"), ("GD", "4")))  # retirees, households
    else:
        group, benefit = rng.choice((("DN", "4"), ("GD", "4"), ("HN", "2")))
    return f"{group}{benefit}{province}{_digits(rng, 10)}", _MUC_HUONG[benefit]


def _card_validity(rng: random.Random, arrival: date) -> tuple[date, date]:
    """A one-year card starting on the 1st of a month, 0–9 months before arrival."""
    month = arrival.year * 12 + arrival.month - 1 - rng.randint(0, 9)
    start = date(month // 12, month % 12 + 1, 1)
    return start, date(start.year + 1, start.month, 1) - timedelta(days=1)


def _practitioner(rng: random.Random) -> str:
    return f"{_digits(rng, 6)}/BYT-CCHN"  # practising-certificate number [B XML2 MA_BAC_SI]


@dataclass(frozen=True)
class _Orders:
    """Who orders and performs, in which department, at which benefit level."""

    ma_khoa: str
    doctor: str
    technician: str
    muc_huong: int

    def service(
        self,
        service: Service,
        at: datetime,
        qty: Decimal = Decimal(1),
        *,
        done: datetime | None = None,
        result: datetime | None = None,
        bed: str = "",
    ) -> ServiceLine:
        performer = self.technician if service.needs_performer else ""
        return ServiceLine(
            service, qty, self.muc_huong, self.ma_khoa, self.doctor, performer, at,
            ngay_th_yl=done, ngay_kq=result, ma_giuong=bed,
        )  # fmt: skip

    def drug(self, drug: Drug, qty: Decimal, at: datetime, *, ma_dich_vu: str = "") -> DrugLine:
        return DrugLine(drug, qty, self.muc_huong, self.ma_khoa, self.doctor, ma_dich_vu, at)


@dataclass(frozen=True)
class _Care:
    """The dated path of one visit and what it consumed."""

    ngay_vao: datetime
    ngay_vao_noi_tru: datetime | None
    ngay_ra: datetime
    drugs: tuple[DrugLine, ...]
    services: tuple[ServiceLine, ...]
    ngay_tai_kham: date | None


# Times follow the care path so that every order and result lies in [NGAY_VAO, NGAY_RA], with
# NGAY_TH_YL ≥ NGAY_YL and NGAY_KQ ≥ NGAY_YL [C3].


def _exam_and_tests(
    rng: random.Random, orders: _Orders, diagnosis: Diagnosis, arrival: datetime
) -> tuple[list[ServiceLine], datetime]:
    """The exam and the paraclinical tests ordered at it; the time the last result came."""
    exam_at = arrival + _minutes(rng, 5, 15)
    services = [orders.service(_EXAM, exam_at, done=exam_at)]
    last = exam_at
    for code in rng.sample(diagnosis.tests, rng.randint(1, len(diagnosis.tests))):
        ordered = exam_at + _minutes(rng, 10, 20)
        done = ordered + _minutes(rng, 5, 30)
        result = done + _minutes(rng, 15, 60)
        services.append(orders.service(_SERVICES[code], ordered, done=done, result=result))
        last = max(last, result)
    return services, last


def _outpatient(rng: random.Random, orders: _Orders, diagnosis: Diagnosis, day: date) -> _Care:
    """MA_LOAI_KCB 01: exam, tests, a prescription for 3–7 days (30 for a chronic disease)."""
    arrival = datetime.combine(day, time(rng.randint(7, 15), rng.randint(0, 59)))
    services, last = _exam_and_tests(rng, orders, diagnosis, arrival)
    prescribed = last + _minutes(rng, 10, 30)
    days = 30 if diagnosis.chronic else rng.randint(3, 7)
    drugs = [
        orders.drug(_DRUGS[code], _DRUGS[code].per_day * days, prescribed, ma_dich_vu=_EXAM.code)
        for code in rng.sample(diagnosis.drugs, rng.randint(1, len(diagnosis.drugs)))
    ]
    discharge = prescribed + _minutes(rng, 10, 30)
    follow_up = discharge.date() + timedelta(days=30) if diagnosis.chronic else None
    return _Care(arrival, None, discharge, tuple(drugs), tuple(services), follow_up)


def _inpatient(rng: random.Random, orders: _Orders, diagnosis: Diagnosis, day: date) -> _Care:
    """MA_LOAI_KCB 03: exam, admission, 2–7 nights of daily orders and bed days."""
    arrival = datetime.combine(day, time(rng.randint(6, 20), rng.randint(0, 59)))
    services, last = _exam_and_tests(rng, orders, diagnosis, arrival)
    admitted = last + _minutes(rng, 10, 60)  # NGAY_VAO_NOI_TRU ≥ NGAY_VAO [C3]
    nights = rng.randint(2, 7)
    discharge = datetime.combine(
        day + timedelta(days=nights), time(rng.randint(8, 10), rng.randint(30, 59))
    )
    codes = rng.sample(diagnosis.drugs, rng.randint(1, len(diagnosis.drugs)))
    drugs: list[DrugLine] = []
    services.append(orders.service(_SERVICES["N03.06.020"], admitted))  # IV cannula
    for night in range(nights):
        at = admitted if night == 0 else datetime.combine(day + timedelta(days=night), time(7, 30))
        for code in codes:
            drug = _DRUGS[code]
            drugs.append(orders.drug(drug, drug.per_day, at))
            if drug.supply:
                services.append(orders.service(_SERVICES[drug.supply], at, drug.per_day))
        services.append(orders.service(_BED, at, bed=f"H{rng.randint(1, 40):03d}"))
    services.sort(key=lambda line: line.ngay_yl)
    follow_up = discharge.date() + timedelta(days=7)
    return _Care(arrival, admitted, discharge, tuple(drugs), tuple(services), follow_up)


def make_visit(
    rng: random.Random, *, facility_code: str, index: int, day: date | None = None
) -> Visit:
    """One visit to ``facility_code`` arriving on ``day`` (a random day of 2024 if None)."""
    if len(facility_code) != 5:
        raise ValueError(f"facility code {facility_code!r} is not 5 characters")
    day = day or date(2024, 1, 1) + timedelta(days=rng.randrange(366))
    # Patients live in the facility's province when it is one of ours (codes start with it).
    place = next((p for p in _PLACES if p[0] == facility_code[:2]), None) or rng.choice(_PLACES)
    tinh, cccd_prefix, province, huyen, district, xa, ward, street = place
    gioi_tinh = rng.choice((1, 2))
    age = rng.randint(*rng.choice(((1, 17), (18, 59), (18, 59), (60, 85))))
    birth = date(day.year - age, rng.randint(1, 12), rng.randint(1, 28))
    ma_the, muc_huong = _card(rng, age, tinh)
    gt_tu, gt_den = _card_validity(rng, day)
    registered_here = rng.random() < 0.8
    diagnosis = rng.choice([d for d in _DIAGNOSES if age >= d.min_age])
    inpatient = diagnosis.inpatient and rng.random() < 0.5
    # Department codes of QĐ 5937 App. 5 [B XML1 56]: K01 examination, K03 internal medicine.
    orders = _Orders("K03" if inpatient else "K01", _practitioner(rng), _practitioner(rng),
                     muc_huong)  # fmt: skip
    care = (_inpatient if inpatient else _outpatient)(rng, orders, diagnosis, day)
    kg = rng.uniform(8, 20) if age < 6 else rng.uniform(20, 50) if age < 14 else rng.uniform(42, 80)
    return Visit(
        ma_lk=f"{facility_code}{day:%y%m%d}{index:06d}",
        stt=index,
        ma_bn=_digits(rng, 10),
        ho_ten=" ".join(
            (rng.choice(_FAMILY), rng.choice(_MIDDLE[gioi_tinh]), rng.choice(_GIVEN[gioi_tinh]))
        ),
        # Citizen ID: province prefix, century-and-sex digit, 2-digit birth year, 6 digits.
        so_cccd=(
            f"{cccd_prefix}{(0 if birth.year < 2000 else 2) + gioi_tinh - 1}"
            f"{birth.year % 100:02d}{_digits(rng, 6)}"
        ),
        ngay_sinh=birth,
        gioi_tinh=gioi_tinh,
        nhom_mau=rng.choice(("O+", "A+", "B+", "AB+")) if inpatient else "",
        dia_chi=f"Số {rng.randint(1, 250)} {street}, {ward}, {district}, {province}",
        matinh_cu_tru=tinh,
        mahuyen_cu_tru=huyen,
        maxa_cu_tru=xa,
        dien_thoai=f"0{rng.choice('3789')}{_digits(rng, 8)}",
        ma_the_bhyt=ma_the,
        ma_dkbd=facility_code if registered_here else f"{tinh}{rng.randint(1, 299):03d}",
        gt_the_tu=gt_tu,
        gt_the_den=gt_den,
        # 1.1 = in-route at the registered facility, 2 = emergency [C4 MA_DOITUONG_KCB].
        ma_doituong_kcb="1.1" if registered_here else "2",
        muc_huong=muc_huong,
        ly_do_vv=diagnosis.reason,
        ly_do_vnt=f"{diagnosis.reason}, cần điều trị nội trú" if inpatient else "",
        diagnosis=diagnosis,
        ngay_vao=care.ngay_vao,
        ngay_vao_noi_tru=care.ngay_vao_noi_tru,
        ngay_ra=care.ngay_ra,
        ngay_ttoan=care.ngay_ra + _minutes(rng, 5, 20),
        ma_loai_kcb="03" if inpatient else "01",
        ket_qua_dtri=rng.choice((1, 2)),  # cured / improved [C4]
        ghi_chu=(
            "Tái khám theo hẹn hoặc khi có dấu hiệu bất thường"
            if care.ngay_tai_kham
            else "Dùng thuốc theo đơn, khám lại khi có dấu hiệu bất thường"
        ),
        ngay_tai_kham=care.ngay_tai_kham,
        ma_khoa=orders.ma_khoa,
        ma_cskcb=facility_code,
        can_nang=f"{kg:.1f}",
        ma_hsba=f"{'BA' if inpatient else 'PK'}{day:%y}{index:06d}",
        # Health-ID of the facility's signatory: 10 digits, fixed per facility [B XML1 64].
        ma_ttdv=f"{zlib.crc32(facility_code.encode()) % 10**10:010d}",
        drugs=care.drugs,
        services=care.services,
    )


# --- Tables -----------------------------------------------------------------------------------

# Element order of each table [B], checked against CV 3190 section 3.5 [G]; NHOM_MAU (XML1) and
# NGAY_TH_YL (XML2) are the 4750 insertions.
XML1_FIELDS = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "NHOM_MAU",
    "MA_QUOCTICH", "MA_DANTOC", "MA_NGHE_NGHIEP", "DIA_CHI", "MATINH_CU_TRU", "MAHUYEN_CU_TRU",
    "MAXA_CU_TRU", "DIEN_THOAI", "MA_THE_BHYT", "MA_DKBD", "GT_THE_TU", "GT_THE_DEN",
    "NGAY_MIEN_CCT", "LY_DO_VV", "LY_DO_VNT", "MA_LY_DO_VNT", "CHAN_DOAN_VAO", "CHAN_DOAN_RV",
    "MA_BENH_CHINH", "MA_BENH_KT", "MA_BENH_YHCT", "MA_PTTT_QT", "MA_DOITUONG_KCB", "MA_NOI_DI",
    "MA_NOI_DEN", "MA_TAI_NAN", "NGAY_VAO", "NGAY_VAO_NOI_TRU", "NGAY_RA", "GIAY_CHUYEN_TUYEN",
    "SO_NGAY_DTRI", "PP_DIEU_TRI", "KET_QUA_DTRI", "MA_LOAI_RV", "GHI_CHU", "NGAY_TTOAN",
    "T_THUOC", "T_VTYT", "T_TONGCHI_BV", "T_TONGCHI_BH", "T_BNTT", "T_BNCCT", "T_BHTT",
    "T_NGUONKHAC", "T_BHTT_GDV", "NAM_QT", "THANG_QT", "MA_LOAI_KCB", "MA_KHOA", "MA_CSKCB",
    "MA_KHUVUC", "CAN_NANG", "CAN_NANG_CON", "NAM_NAM_LIEN_TUC", "NGAY_TAI_KHAM", "MA_HSBA",
    "MA_TTDV", "DU_PHONG",
)  # fmt: skip
XML2_FIELDS = (
    "MA_LK", "STT", "MA_THUOC", "MA_PP_CHEBIEN", "MA_CSKCB_THUOC", "MA_NHOM", "TEN_THUOC",
    "DON_VI_TINH", "HAM_LUONG", "DUONG_DUNG", "DANG_BAO_CHE", "LIEU_DUNG", "CACH_DUNG",
    "SO_DANG_KY", "TT_THAU", "PHAM_VI", "TYLE_TT_BH", "SO_LUONG", "DON_GIA", "THANH_TIEN_BV",
    "THANH_TIEN_BH", "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN", "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL",
    "T_NGUONKHAC", "MUC_HUONG", "T_BNTT", "T_BNCCT", "T_BHTT", "MA_KHOA", "MA_BAC_SI",
    "MA_DICH_VU", "NGAY_YL", "NGAY_TH_YL", "MA_PTTT", "NGUON_CTRA", "VET_THUONG_TP", "DU_PHONG",
)  # fmt: skip
XML3_FIELDS = (
    "MA_LK", "STT", "MA_DICH_VU", "MA_PTTT_QT", "MA_VAT_TU", "MA_NHOM", "GOI_VTYT",
    "TEN_VAT_TU", "TEN_DICH_VU", "MA_XANG_DAU", "DON_VI_TINH", "PHAM_VI", "SO_LUONG",
    "DON_GIA_BV", "DON_GIA_BH", "TT_THAU", "TYLE_TT_DV", "TYLE_TT_BH", "THANH_TIEN_BV",
    "THANH_TIEN_BH", "T_TRANTT", "MUC_HUONG", "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN",
    "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "T_BNTT", "T_BNCCT", "T_BHTT", "MA_KHOA",
    "MA_GIUONG", "MA_BAC_SI", "NGUOI_THUC_HIEN", "MA_BENH", "MA_BENH_YHCT", "NGAY_YL",
    "NGAY_TH_YL", "NGAY_KQ", "MA_PTTT", "VET_THUONG_TP", "PP_VO_CAM", "VI_TRI_TH_DVKT", "MA_MAY",
    "MA_HIEU_SP", "TAI_SU_DUNG", "DU_PHONG",
)  # fmt: skip

# Free text that exporters wrap in CDATA [A, S16].
_CDATA = frozenset(
    {"HO_TEN", "DIA_CHI", "LY_DO_VV", "LY_DO_VNT", "CHAN_DOAN_VAO", "CHAN_DOAN_RV",
     "PP_DIEU_TRI", "GHI_CHU", "TEN_THUOC", "HAM_LUONG", "DANG_BAO_CHE", "LIEU_DUNG",
     "TEN_DICH_VU", "TEN_VAT_TU"}
)  # fmt: skip


def _dt(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y%m%d%H%M}"  # yyyyMMddHHmm [B "Dates"]


def _ymd(value: date | None) -> str:
    return "" if value is None else f"{value:%Y%m%d}"


def _qty(value: Decimal) -> str:
    """Quantity or unit price: "." separator, at most 3 decimals, no trailing zeros [B]."""
    return format(value.quantize(Decimal("0.001")).normalize(), "f")


def _fill(parent: etree._Element, fields: Iterable[str], values: dict[str, str]) -> None:
    """Write every field in table order; an unfilled field is an empty element, as exporters do."""
    for name in fields:
        text = values.get(name, "")
        element = etree.SubElement(parent, name)
        element.text = etree.CDATA(text) if text and name in _CDATA else text


def _document(root: etree._Element) -> bytes:
    return _DECLARATION + etree.tostring(root, encoding="utf-8")


def _row_money(amounts: Amounts) -> dict[str, str]:
    return {
        "THANH_TIEN_BV": f"{amounts.thanh_tien_bv:.2f}",
        "THANH_TIEN_BH": f"{amounts.thanh_tien_bh:.2f}",
        "T_NGUONKHAC_NSNN": "0.00",
        "T_NGUONKHAC_VTNN": "0.00",
        "T_NGUONKHAC_VTTN": "0.00",
        "T_NGUONKHAC_CL": "0.00",
        "T_NGUONKHAC": f"{amounts.t_nguonkhac:.2f}",
        "MUC_HUONG": str(amounts.muc_huong),
        "T_BNTT": f"{amounts.t_bntt:.2f}",
        "T_BNCCT": f"{amounts.t_bncct:.2f}",
        "T_BHTT": f"{amounts.t_bhtt:.2f}",
        "MA_PTTT": "1",  # fee-for-service [C4]
    }


def xml1(visit: Visit) -> bytes:
    """Table 1 (``TONG_HOP``) of ``visit``, valid against ``xsd/qd130/xml1.xsd``."""
    totals = visit.totals
    root = etree.Element("TONG_HOP")
    values = {
        "MA_LK": visit.ma_lk,
        "STT": str(visit.stt),
        "MA_BN": visit.ma_bn,
        "HO_TEN": visit.ho_ten,
        "SO_CCCD": visit.so_cccd,
        "NGAY_SINH": f"{visit.ngay_sinh:%Y%m%d}0000",  # HHmm unknown → 0000 [B "Dates"]
        "GIOI_TINH": str(visit.gioi_tinh),
        "NHOM_MAU": visit.nhom_mau,
        "MA_QUOCTICH": "000",  # Việt Nam as exporters write it (TT 07/2016 list, not verified)
        "MA_DANTOC": "01",  # Kinh (QĐ 121-TCTK)
        "MA_NGHE_NGHIEP": "00000",  # none [B XML1 10]
        "DIA_CHI": visit.dia_chi,
        "MATINH_CU_TRU": visit.matinh_cu_tru,
        "MAHUYEN_CU_TRU": visit.mahuyen_cu_tru,
        "MAXA_CU_TRU": visit.maxa_cu_tru,
        "DIEN_THOAI": visit.dien_thoai,
        "MA_THE_BHYT": visit.ma_the_bhyt,
        "MA_DKBD": visit.ma_dkbd,
        "GT_THE_TU": _ymd(visit.gt_the_tu),
        "GT_THE_DEN": _ymd(visit.gt_the_den),
        "LY_DO_VV": visit.ly_do_vv,
        "LY_DO_VNT": visit.ly_do_vnt,
        "CHAN_DOAN_VAO": visit.diagnosis.name,
        "CHAN_DOAN_RV": visit.diagnosis.name,
        "MA_BENH_CHINH": visit.diagnosis.icd,
        "MA_DOITUONG_KCB": visit.ma_doituong_kcb,
        "NGAY_VAO": _dt(visit.ngay_vao),
        "NGAY_VAO_NOI_TRU": _dt(visit.ngay_vao_noi_tru),
        "NGAY_RA": _dt(visit.ngay_ra),
        "SO_NGAY_DTRI": str(visit.so_ngay_dtri),
        "PP_DIEU_TRI": "Điều trị nội khoa",
        "KET_QUA_DTRI": str(visit.ket_qua_dtri),
        "MA_LOAI_RV": "1",  # discharged [C4]
        "GHI_CHU": visit.ghi_chu,
        "NGAY_TTOAN": _dt(visit.ngay_ttoan),
        **{name.upper(): f"{value:.2f}" for name, value in asdict(totals).items()},
        # Settlement period = month of discharge.
        "NAM_QT": str(visit.ngay_ra.year),
        "THANG_QT": str(visit.ngay_ra.month),
        "MA_LOAI_KCB": visit.ma_loai_kcb,
        "MA_KHOA": visit.ma_khoa,
        "MA_CSKCB": visit.ma_cskcb,
        "CAN_NANG": visit.can_nang,
        "NGAY_TAI_KHAM": _ymd(visit.ngay_tai_kham),
        "MA_HSBA": visit.ma_hsba,
        "MA_TTDV": visit.ma_ttdv,
    }
    _fill(root, XML1_FIELDS, values)
    return _document(root)


def xml2(visit: Visit) -> bytes:
    """Table 2 (drugs): ``CHITIEU_CHITIET_THUOC/DSACH_CHI_TIET_THUOC/CHI_TIET_THUOC`` [A]."""
    root = etree.Element("CHITIEU_CHITIET_THUOC")
    rows = etree.SubElement(root, "DSACH_CHI_TIET_THUOC")
    for stt, line in enumerate(visit.drugs, start=1):
        drug = line.drug
        values = {
            "MA_LK": visit.ma_lk,
            "STT": str(stt),
            "MA_THUOC": drug.ma_thuoc,
            "MA_NHOM": str(drug.ma_nhom),
            "TEN_THUOC": drug.ten_thuoc,
            "DON_VI_TINH": drug.don_vi_tinh,
            "HAM_LUONG": drug.ham_luong,
            "DUONG_DUNG": drug.duong_dung,
            "DANG_BAO_CHE": drug.dang_bao_che,
            "LIEU_DUNG": drug.lieu_dung,
            "SO_DANG_KY": drug.so_dang_ky,
            # Decision no.;package;group;year [B XML2 TT_THAU].
            "TT_THAU": f"{1000 + zlib.crc32(drug.ma_thuoc.encode()) % 9000}/QĐ-SYT;G1;N4;2023",
            "PHAM_VI": str(drug.pham_vi),
            "TYLE_TT_BH": str(drug.tyle_tt_bh),
            "SO_LUONG": _qty(line.so_luong),
            "DON_GIA": _qty(drug.don_gia),
            **_row_money(line.amounts),
            "MA_KHOA": line.ma_khoa,
            "MA_BAC_SI": line.ma_bac_si,
            "MA_DICH_VU": line.ma_dich_vu,
            "NGAY_YL": _dt(line.ngay_yl),
            "NGAY_TH_YL": _dt(line.ngay_yl),
            "NGUON_CTRA": "1",  # insurance fund [C4]
        }
        _fill(etree.SubElement(rows, "CHI_TIET_THUOC"), XML2_FIELDS, values)
    return _document(root)


def xml3(visit: Visit) -> bytes:
    """Table 3 (services, supplies): ``CHITIEU_CHITIET_DVKT_VTYT/DSACH_CHI_TIET_DVKT/…`` [A]."""
    root = etree.Element("CHITIEU_CHITIET_DVKT_VTYT")
    rows = etree.SubElement(root, "DSACH_CHI_TIET_DVKT")
    for stt, line in enumerate(visit.services, start=1):
        service = line.service
        names = (
            {"MA_VAT_TU": service.code, "TEN_VAT_TU": service.name,
             "TT_THAU": "2145/QĐ-SYT;G2;N1;2023"}  # required for MA_NHOM 10 [C4]
            if service.is_supply
            else {"MA_DICH_VU": service.code, "TEN_DICH_VU": service.name}
        )  # fmt: skip
        values = {
            "MA_LK": visit.ma_lk,
            "STT": str(stt),
            **names,
            "MA_NHOM": str(service.ma_nhom),
            "DON_VI_TINH": service.don_vi_tinh,
            "PHAM_VI": "1",
            "SO_LUONG": _qty(line.so_luong),
            "DON_GIA_BV": _qty(service.don_gia),
            "DON_GIA_BH": _qty(service.don_gia),
            "TYLE_TT_DV": str(line.tyle_tt_dv),
            "TYLE_TT_BH": str(line.tyle_tt_bh),
            **_row_money(line.amounts),
            "MA_KHOA": line.ma_khoa,
            "MA_GIUONG": line.ma_giuong,
            "MA_BAC_SI": line.ma_bac_si,
            "NGUOI_THUC_HIEN": line.nguoi_thuc_hien,
            "NGAY_YL": _dt(line.ngay_yl),
            "NGAY_TH_YL": _dt(line.ngay_th_yl),
            "NGAY_KQ": _dt(line.ngay_kq),
        }
        _fill(etree.SubElement(rows, "CHI_TIET_DVKT"), XML3_FIELDS, values)
    return _document(root)


# --- Envelope ---------------------------------------------------------------------------------


def envelope(
    facility_code: str, tables_per_visit: list[dict[str, bytes]], *, created: date
) -> bytes:
    """The unsigned GIAMDINHHS batch: one HOSO per visit, one FILEHOSO per table [A].

    ``tables_per_visit`` maps LOAIHOSO (``XML1``…) to the table's UTF-8 document, in the order
    the FILEHOSO elements are to be written.
    """
    if not tables_per_visit or not all(tables_per_visit):
        raise ValueError("a batch needs at least one visit, and each visit at least one table")
    root = etree.Element("GIAMDINHHS", nsmap={"xsi": XSI, "xsd": XSD})
    etree.SubElement(etree.SubElement(root, "THONGTINDONVI"), "MACSKCB").text = facility_code
    info = etree.SubElement(root, "THONGTINHOSO")
    etree.SubElement(info, "NGAYLAP").text = f"{created:%Y%m%d}"
    etree.SubElement(info, "SOLUONGHOSO").text = str(len(tables_per_visit))
    batch = etree.SubElement(info, "DANHSACHHOSO")
    for tables in tables_per_visit:
        hoso = etree.SubElement(batch, "HOSO")
        for kind, document in tables.items():
            file = etree.SubElement(hoso, "FILEHOSO")
            etree.SubElement(file, "LOAIHOSO").text = kind
            # NOIDUNGFILE = base64 of the table's UTF-8 bytes [A, S7].
            etree.SubElement(file, "NOIDUNGFILE").text = base64.b64encode(document).decode()
    # Empty signature container, last child; the signer appends ds:Signature to it [A, D, S10].
    etree.SubElement(root, "CHUKYDONVI").text = ""
    return _document(root)


def tables(visit: Visit) -> dict[str, bytes]:
    """XML1, XML2 and XML3 of ``visit``; a table without rows is not sent [A]."""
    found = {"XML1": xml1(visit)}
    if visit.drugs:
        found["XML2"] = xml2(visit)
    if visit.services:
        found["XML3"] = xml3(visit)
    return found


def signed_batch(
    identity: SigningIdentity, facility_code: str, visits: list[Visit], *, created: date
) -> bytes:
    """The batch of ``visits`` signed as QĐ 130 exporters sign it: enveloped, in CHUKYDONVI [D]."""
    data = envelope(facility_code, [tables(v) for v in visits], created=created)
    root = parse(data, XmlLimits())
    container = root.find("CHUKYDONVI")
    if container is None:  # pragma: no cover - envelope() always writes it
        raise RuntimeError("the envelope has no CHUKYDONVI")
    sign_enveloped(root, identity, container=container)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def make_batch(
    rng: random.Random,
    identity: SigningIdentity,
    facility_code: str,
    count: int,
    *,
    created: date,
) -> tuple[bytes, list[Visit]]:
    """``count`` visits that ended before ``created``, and their signed batch."""
    visits = [
        make_visit(
            rng,
            facility_code=facility_code,
            index=i,
            day=created - timedelta(days=rng.randint(9, 30)),
        )
        for i in range(1, count + 1)
    ]
    return signed_batch(identity, facility_code, visits, created=created), visits
