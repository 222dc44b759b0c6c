"""Writing a visit as QĐ 130 table documents: XML1..XML5 and the check-in, as exporters do.

Each writer builds the rows as field → text, lets ``faults.edit`` apply the row-level faults the
visit carries, then writes every field in table order (``fields``), an unfilled one as an empty
element and free text in CDATA. References in brackets are sections and source tags of QD130.md.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from adapters.hospital.synth.faults import edit
from adapters.hospital.synth.fields import CDATA, LAYOUTS, XML1_FIELDS
from adapters.hospital.synth.model import Amounts, Visit

_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'

Row = dict[str, str]


def dt(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y%m%d%H%M}"  # yyyyMMddHHmm [B "Dates"]


def _ymd(value: date | None) -> str:
    return "" if value is None else f"{value:%Y%m%d}"


def _qty(value: Decimal) -> str:
    """Quantity or unit price: "." separator, at most 3 decimals, no trailing zeros [B]."""
    return format(value.quantize(Decimal("0.001")).normalize(), "f")


def _fill(parent: etree._Element, fields: Iterable[str], values: Row) -> None:
    """Write every field in table order; an unfilled field is an empty element, as exporters do."""
    for name in fields:
        text = values.get(name, "")
        element = etree.SubElement(parent, name)
        element.text = etree.CDATA(text) if text and name in CDATA else text


def _document(root: etree._Element) -> bytes:
    return _DECLARATION + etree.tostring(root, encoding="utf-8")


def _list_document(kind: str, visit: Visit, rows: list[Row], *, wrapper: bool) -> bytes:
    """``wrapper/items/row+``, or ``items/row+`` as the root without the wrapper [A, S13]."""
    layout = LAYOUTS[kind]
    edit(kind, visit, rows)
    items = etree.Element(layout.items)
    for row in rows:
        _fill(etree.SubElement(items, layout.row), layout.fields, row)
    if not wrapper:
        return _document(items)
    root = etree.Element(layout.wrapper)
    root.append(items)
    return _document(root)


def _row_money(amounts: Amounts) -> Row:
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


def _patient(visit: Visit) -> Row:
    """The fields XML1 and the check-in share, with the same values."""
    return {
        "MA_LK": visit.ma_lk,
        "MA_BN": visit.ma_bn,
        "HO_TEN": visit.ho_ten,
        "SO_CCCD": visit.so_cccd,
        "NGAY_SINH": f"{visit.ngay_sinh:%Y%m%d}0000",  # HHmm unknown → 0000 [B "Dates"]
        "GIOI_TINH": str(visit.gioi_tinh),
        "MA_THE_BHYT": visit.ma_the_bhyt,
        "MA_DKBD": visit.ma_dkbd,
        "GT_THE_TU": _ymd(visit.gt_the_tu),
        "GT_THE_DEN": _ymd(visit.gt_the_den),
        "MA_DOITUONG_KCB": visit.ma_doituong_kcb,
        "NGAY_VAO": dt(visit.ngay_vao),
        "NGAY_VAO_NOI_TRU": dt(visit.ngay_vao_noi_tru),
        "LY_DO_VNT": visit.ly_do_vnt,
        "MA_LOAI_KCB": visit.ma_loai_kcb,
        "MA_CSKCB": visit.ma_cskcb,
    }


def xml1(visit: Visit) -> bytes:
    """Table 1 (``TONG_HOP``) of ``visit``, valid against ``xsd/qd130/xml1.xsd``."""
    totals = visit.totals
    values = {
        **_patient(visit),
        "STT": str(visit.stt),
        "NHOM_MAU": visit.nhom_mau,
        "MA_QUOCTICH": "000",  # Việt Nam as exporters write it (TT 07/2016 list, not verified)
        "MA_DANTOC": "01",  # Kinh (QĐ 121-TCTK)
        "MA_NGHE_NGHIEP": "00000",  # none [B XML1 10]
        "DIA_CHI": visit.dia_chi,
        "MATINH_CU_TRU": visit.matinh_cu_tru,
        "MAHUYEN_CU_TRU": visit.mahuyen_cu_tru,
        "MAXA_CU_TRU": visit.maxa_cu_tru,
        "DIEN_THOAI": visit.dien_thoai,
        "LY_DO_VV": visit.ly_do_vv,
        "CHAN_DOAN_VAO": visit.diagnosis.name,
        "CHAN_DOAN_RV": visit.diagnosis.name,
        "MA_BENH_CHINH": visit.diagnosis.icd,
        "NGAY_RA": dt(visit.ngay_ra),
        "SO_NGAY_DTRI": str(visit.so_ngay_dtri),
        "PP_DIEU_TRI": "Điều trị nội khoa",
        "KET_QUA_DTRI": str(visit.ket_qua_dtri),
        "MA_LOAI_RV": "1",  # discharged [C4]
        "GHI_CHU": visit.ghi_chu,
        "NGAY_TTOAN": dt(visit.ngay_ttoan),
        **{name.upper(): f"{value:.2f}" for name, value in asdict(totals).items()},
        # Settlement period = month of discharge.
        "NAM_QT": str(visit.ngay_ra.year),
        "THANG_QT": str(visit.ngay_ra.month),
        "MA_KHOA": visit.ma_khoa,
        "CAN_NANG": visit.can_nang,
        "NGAY_TAI_KHAM": _ymd(visit.ngay_tai_kham),
        "MA_HSBA": visit.ma_hsba,
        "MA_TTDV": visit.ma_ttdv,
    }
    rows = [values]
    edit("XML1", visit, rows)
    root = etree.Element("TONG_HOP")
    _fill(root, XML1_FIELDS, rows[0])
    return _document(root)


def xml2(visit: Visit, *, wrapper: bool = True) -> bytes:
    """Table 2 (drugs): ``CHITIEU_CHITIET_THUOC/DSACH_CHI_TIET_THUOC/CHI_TIET_THUOC`` [A]."""
    rows = []
    for stt, line in enumerate(visit.drugs, start=1):
        drug = line.drug
        rows.append(
            {
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
                "NGAY_YL": dt(line.ngay_yl),
                "NGAY_TH_YL": dt(line.ngay_yl),
                "NGUON_CTRA": "1",  # insurance fund [C4]
            }
        )
    return _list_document("XML2", visit, rows, wrapper=wrapper)


def xml3(visit: Visit, *, wrapper: bool = True) -> bytes:
    """Table 3 (services, supplies): ``CHITIEU_CHITIET_DVKT_VTYT/DSACH_CHI_TIET_DVKT/…`` [A]."""
    rows = []
    for stt, line in enumerate(visit.services, start=1):
        service = line.service
        names = (
            {"MA_VAT_TU": service.code, "TEN_VAT_TU": service.name,
             "TT_THAU": "2145/QĐ-SYT;G2;N1;2023"}  # required for MA_NHOM 10 [C4]
            if service.is_supply
            else {"MA_DICH_VU": service.code, "TEN_DICH_VU": service.name}
        )  # fmt: skip
        rows.append(
            {
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
                "NGAY_YL": dt(line.ngay_yl),
                "NGAY_TH_YL": dt(line.ngay_th_yl),
                "NGAY_KQ": dt(line.ngay_kq),
            }
        )
    return _list_document("XML3", visit, rows, wrapper=wrapper)


def xml4(visit: Visit, *, wrapper: bool = True) -> bytes:
    """Table 4 (paraclinical results): ``CHITIEU_CHITIET_DICHVUCANLAMSANG/DSACH_CHI_TIET_CLS/
    CHI_TIET_CLS`` [A], one row per indicator or reading of the visit's tests."""
    rows = [
        {
            "MA_LK": visit.ma_lk,
            "STT": str(stt),
            "MA_DICH_VU": finding.ma_dich_vu,
            "MA_CHI_SO": finding.ma_chi_so,
            "TEN_CHI_SO": finding.ten_chi_so,
            "GIA_TRI": finding.gia_tri,
            "DON_VI_DO": finding.don_vi_do,
            "MO_TA": finding.mo_ta,
            "KET_LUAN": finding.ket_luan,
            "NGAY_KQ": dt(finding.ngay_kq),
            "MA_BS_DOC_KQ": finding.ma_bs_doc_kq,
        }
        for stt, finding in enumerate(visit.findings, start=1)
    ]
    return _list_document("XML4", visit, rows, wrapper=wrapper)


def xml5(visit: Visit, *, wrapper: bool = True) -> bytes:
    """Table 5 (clinical progress): ``CHITIEU_CHITIET_DIENBIENLAMSANG/
    DSACH_CHI_TIET_DIEN_BIEN_BENH/CHI_TIET_DIEN_BIEN_BENH`` [A], one row per note."""
    rows = [
        {
            "MA_LK": visit.ma_lk,
            "STT": str(stt),
            "DIEN_BIEN_LS": note.dien_bien_ls,
            "GIAI_DOAN_BENH": note.giai_doan_benh,
            "HOI_CHAN": note.hoi_chan,
            "PHAU_THUAT": note.phau_thuat,
            "THOI_DIEM_DBLS": dt(note.thoi_diem),
            "NGUOI_THUC_HIEN": note.nguoi_thuc_hien,
        }
        for stt, note in enumerate(visit.notes, start=1)
    ]
    return _list_document("XML5", visit, rows, wrapper=wrapper)


def checkin(visit: Visit) -> bytes:
    """The unsigned check-in document of ``visit``: ``CHI_TIEU_TRANG_THAI_KCB/
    DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB`` and an empty ``CHUKYDONVI`` last [G, CV 3190 2.4].

    It reports the first cost of the visit (4750, sheet "Bang Check-in" rows 19-25): for an
    outpatient visit the exam, sent at arrival; for an inpatient stay the check-in as sent on
    admission, with NGAY_VAO_NOI_TRU, LY_DO_VNT and the first drug given in the ward.
    """
    values = {**_patient(visit), "STT": "1"}
    if visit.ngay_vao_noi_tru is not None and visit.drugs:
        first = min(visit.drugs, key=lambda line: line.ngay_yl)
        values |= {
            "MA_THUOC": first.drug.ma_thuoc,
            "TEN_THUOC": first.drug.ten_thuoc,
            "NGAY_YL": dt(first.ngay_yl),
        }
    else:
        exam = min(visit.services, key=lambda line: line.ngay_yl)
        values |= {
            "MA_DICH_VU": exam.service.code,
            "TEN_DICH_VU": exam.service.name,
            "NGAY_YL": dt(exam.ngay_yl),
        }
    layout = LAYOUTS["CHECKIN"]
    rows = [values]
    edit("CHECKIN", visit, rows)
    root = etree.Element(layout.wrapper)
    _fill(
        etree.SubElement(etree.SubElement(root, layout.items), layout.row), layout.fields, rows[0]
    )
    # Empty signature container, last child; the signer appends ds:Signature to it [D].
    etree.SubElement(root, "CHUKYDONVI").text = ""
    return _document(root)


def tables(visit: Visit, *, wrapper: bool = True) -> dict[str, bytes]:
    """XML1..XML5 of ``visit``, keyed by LOAIHOSO; a table without rows is not sent [A, C1].

    ``wrapper=False`` writes XML2..XML5 without their CHITIEU_* wrapper [A, S13].
    """
    found = {"XML1": xml1(visit)}
    for kind, has_rows, write in (
        ("XML2", visit.drugs, xml2),
        ("XML3", visit.services, xml3),
        ("XML4", visit.findings, xml4),
        ("XML5", visit.notes, xml5),
    ):
        if has_rows:
            found[kind] = write(visit, wrapper=wrapper)
    return found
