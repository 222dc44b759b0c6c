"""The synthetic visit: its rows (XML2 drugs, XML3 services, XML4 findings, XML5 notes) and the
amounts and totals derived from them by the formulas of QD130.md section C2."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from adapters.hospital.synth.catalogues import Diagnosis, Drug, Service


def money(value: Decimal) -> Decimal:
    """``value`` rounded half-up to 2 decimals, as amounts are written [B "Numbers"]."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Amounts:
    """The money columns of one XML2/XML3 row, without other sources (T_NGUONKHAC = 0) [C2]."""

    thanh_tien_bv: Decimal
    thanh_tien_bh: Decimal
    muc_huong: int

    @property
    def t_bhtt(self) -> Decimal:
        return money(self.thanh_tien_bh * self.muc_huong / 100)

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
        return Amounts(money(bv), money(bv * self.drug.tyle_tt_bh / 100), self.muc_huong)


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
        return Amounts(money(base), money(base * self.tyle_tt_bh / 100), self.muc_huong)


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
class Finding:
    """One XML4 row: one indicator (or the reading) of a paraclinical test of the visit [B XML4].

    ``ma_dich_vu`` and ``ngay_kq`` are those of the test's XML3 row.
    """

    ma_dich_vu: str
    ma_chi_so: str
    ten_chi_so: str
    gia_tri: str
    don_vi_do: str
    mo_ta: str
    ket_luan: str
    ngay_kq: datetime
    ma_bs_doc_kq: str


@dataclass(frozen=True)
class Note:
    """One XML5 row: a clinical progress note written at ``thoi_diem`` [B XML5]."""

    dien_bien_ls: str
    thoi_diem: datetime
    nguoi_thuc_hien: str
    giai_doan_benh: str = ""
    hoi_chan: str = ""
    phau_thuat: str = ""


@dataclass(frozen=True)
class Visit:
    """Everything the tables of one visit (one MA_LK) say: XML1..XML5 and the check-in.

    ``findings`` are the XML4 rows, ``notes`` the XML5 rows (inpatient stays only). ``faults``
    names the faults of ``faults.FAULTS`` injected into this visit: its data already carries
    the data-level ones, and the table writers apply the others.
    """

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
    findings: tuple[Finding, ...] = ()
    notes: tuple[Note, ...] = ()
    faults: tuple[str, ...] = ()

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
