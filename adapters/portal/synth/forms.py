"""Synthetic XML forms, unsigned (an empty ``Cky``), one writer per form code."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from lxml import etree

from adapters.portal.synth.draws import BANKS, Person, dmy, employer, my, person

_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# The benefit a claim procedure pays (DN01-HSB LoaiCheDo).
BENEFITS = {
    "BENEFIT_SICKNESS": "OD",
    "BENEFIT_MATERNITY": "TS",
    "BENEFIT_WORK_INJURY": "TNLD",
    "BENEFIT_SURVIVOR": "TT",
    "BENEFIT_PENSION": "HT",
    "BENEFIT_LUMP_SUM": "BHXH1L",
    "BENEFIT_UNEMPLOYMENT": "TN",
}


def add_fields(parent: etree._Element, **fields: str | None) -> None:
    """A child element per field, in order; a field of None is left out."""
    for tag, text in fields.items():
        if text is not None:
            etree.SubElement(parent, tag).text = text


def _sub(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, tag)


def _person(parent: etree._Element, who: Person) -> None:
    add_fields(
        parent,
        HoTen=who.full_name,
        MaSoBHXH=who.si_number,
        SoCCCD=who.citizen_id,
        NgaySinh=dmy(who.born),
        GioiTinh=who.gender,
    )


def _tk1_ts(rng: random.Random, who: Person, procedure: str, today: date) -> etree._Element:
    root = etree.Element("TK1-TS")
    row = _sub(_sub(root, "NoiDung"), "LaoDong")
    add_fields(row, STT="1", HoTen=who.full_name, NgaySinh=dmy(who.born), GioiTinh=who.gender)
    add_fields(row, QuocTich="VN", DanToc="01", Matinh_KS=who.province, Diachi_NN=who.address)
    add_fields(row, Matinh_NN=who.province, MasoBHXH=who.si_number, Dienthoai_LH="09" + "1" * 8)
    add_fields(row, CMND=who.citizen_id)
    if procedure == "SI_VOLUNTARY_REGISTRATION":
        add_fields(row, Mucdong=str(rng.choice((1_500_000, 3_000_000, 5_000_000)) * 22 // 100))
        add_fields(row, Phuongthuc=rng.choice(("1", "3", "6", "12")))
    else:
        add_fields(row, Mucdong="1263600", Phuongthuc="12", MaTinhBenhVien=who.province)
        add_fields(row, MaBenhVien=f"{who.province}{rng.randrange(1000):03d}")
    if procedure == "HI_HOUSEHOLD_RENEWAL":
        annex = _sub(row, "PhuLuc")
        add_fields(annex, Hoten_Chuho=who.full_name, SoGiayTo=who.citizen_id, LoaiGiayTo="CCCD")
        add_fields(annex, MaTinh=who.province, Diachi_HK=who.address)
        members = _sub(annex, "DSThanhVien")
        for n in range(1, rng.randint(2, 4)):
            child = person(rng)
            born = today - timedelta(days=rng.randrange(365 * 2, 365 * 17))
            member = _sub(members, "ThanhVien")
            add_fields(member, STT=str(n), HoTen=child.full_name, NgaySinh=dmy(born))
            add_fields(member, GioiTinh=child.gender, MoiQuanHe="Con")
    _sub(root, "Cky")
    return root


def _d02_ts(rng: random.Random, who: Person, procedure: str, today: date) -> etree._Element:
    root = etree.Element("D02-TS")
    content = _sub(root, "NoiDung")
    for n, worker in enumerate((who, *(person(rng) for _ in range(rng.randrange(3)))), 1):
        row = _sub(content, "LaoDong")
        add_fields(row, STT=str(n), Hoten=worker.full_name, Masobhxh=worker.si_number)
        add_fields(row, soCCCD=worker.citizen_id, phuongAn="DC")
        add_fields(row, tienLuong=str(rng.randrange(5_000, 30_000) * 1000), tuThang=my(today))
        add_fields(row, chucVu=rng.choice(("Nhân viên", "Kế toán", "Kỹ sư")), daCoSo="true")
    _sub(root, "Cky")
    return root


def _dn01_hsb(rng: random.Random, who: Person, procedure: str, today: date) -> etree._Element:
    root = etree.Element("DN01-HSB")
    content = _sub(root, "NoiDung")
    add_fields(content, LoaiCheDo=BENEFITS[procedure])
    _person(_sub(content, "NguoiHuong"), who)
    event = today - timedelta(days=rng.randrange(5, 60))
    days = rng.randrange(3, 30) if procedure == "BENEFIT_SICKNESS" else 180
    add_fields(_sub(content, "SuKien"), NgayXayRa=dmy(event), MoTa="Theo giấy chứng nhận kèm theo")
    add_fields(content, TuNgay=dmy(event), DenNgay=dmy(event + timedelta(days=days - 1)))
    add_fields(content, SoNgay=str(days))
    account = _sub(content, "TaiKhoan")
    add_fields(account, MaNganHang=rng.choice(BANKS), SoTaiKhoan=f"{rng.randrange(10**12):012d}")
    add_fields(account, ChuTaiKhoan=who.full_name.upper())
    add_fields(content, SoTienDeNghi=str(rng.randrange(1_000, 60_000) * 1000))
    _sub(root, "Cky")
    return root


def _dn02_ts(rng: random.Random, who: Person, procedure: str, today: date) -> etree._Element:
    root = etree.Element("DN02-TS")
    content = _sub(root, "NoiDung")
    _person(content, who)
    book = procedure == "REISSUE_SI_BOOK"
    number = who.si_number if book else f"GD4{who.province}{who.si_number}"
    add_fields(content, LoaiCapLai="SO" if book else "THE", SoSoThe=number)
    add_fields(content, LyDo=rng.choice(("MAT", "HONG")))
    _sub(root, "Cky")
    return root


def _dn03_ts(rng: random.Random, who: Person, procedure: str, today: date) -> etree._Element:
    root = etree.Element("DN03-TS")
    content = _sub(root, "NoiDung")
    _person(content, who)
    change = _sub(content, "DieuChinh")
    wrong = who.born.replace(day=1 + who.born.day % 28)
    add_fields(change, TruongThongTin="NgaySinh", GiaTriCu=dmy(wrong), GiaTriMoi=dmy(who.born))
    evidence = _sub(content, "GiayToChungMinh")
    add_fields(evidence, LoaiGiayTo="Giấy khai sinh", SoGiayTo=f"{rng.randrange(10**5)}/KS")
    add_fields(evidence, NgayCap=dmy(who.born + timedelta(days=20)), NoiCap="UBND phường")
    _sub(root, "Cky")
    return root


def _dn04_ts(rng: random.Random, who: Person, procedure: str, today: date) -> etree._Element:
    root = etree.Element("DN04-TS")
    content = _sub(root, "NoiDung")
    _person(content, who)
    start = today + timedelta(days=rng.randrange(15, 60))
    add_fields(content, QuocGiaDen=rng.choice(("KR", "JP", "DE")), TuNgay=dmy(start))
    add_fields(content, DenNgay=dmy(start + timedelta(days=365 * 2)))
    sender = employer(rng)
    add_fields(_sub(content, "DonViCuDi"), TenDonVi=sender.name, MaSoThue=sender.tax_code)
    _sub(root, "Cky")
    return root


def _bc01_tt(rng: random.Random, who: Person, procedure: str, today: date) -> etree._Element:
    root = etree.Element("BC01-TT")
    content = _sub(root, "NoiDung")
    owing = employer(rng)
    unit = _sub(content, "DonVi")
    add_fields(unit, TenDonVi=owing.name, MaSoThue=owing.tax_code, MaDonVi=owing.si_code)
    add_fields(unit, DiaChi=owing.address)
    months = rng.randrange(2, 13)
    first = (today.replace(day=1) - timedelta(days=31 * months)).replace(day=1)
    add_fields(content, TuThang=my(first), DenThang=my(today), SoThangNo=str(months))
    add_fields(content, SoTienNo=str(months * rng.randrange(20_000, 400_000) * 1000))
    add_fields(content, SoLaoDong=str(rng.randrange(5, 200)))
    add_fields(content, NoiDungPhanAnh="Đơn vị trích tiền lương nhưng không đóng bảo hiểm")
    _sub(root, "Cky")
    return root


FormWriter = Callable[[random.Random, Person, str, date], etree._Element]
WRITERS: dict[str, FormWriter] = {
    "TK1-TS": _tk1_ts,
    "D02-TS": _d02_ts,
    "DN01-HSB": _dn01_hsb,
    "DN02-TS": _dn02_ts,
    "DN03-TS": _dn03_ts,
    "DN04-TS": _dn04_ts,
    "BC01-TT": _bc01_tt,
}


def unsigned_form(
    code: str, rng: random.Random, who: Person, *, procedure: str, today: date
) -> bytes:
    """The form ``code`` about ``who``, for ``procedure``, with an empty ``Cky``."""
    return _DECLARATION + etree.tostring(
        WRITERS[code](rng, who, procedure, today), encoding="utf-8"
    )
