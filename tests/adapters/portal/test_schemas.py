"""The dossier XSDs against documents written by hand from the published tag names."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import SchemaInvalid
from gateway.xml.parser import XmlLimits, parse
from gateway.xml.schemas import SchemaRegistry

SCHEMAS = SchemaRegistry(Path(__file__).resolve().parents[3] / "xsd")

# A household renewal as the I-VAN model writes it (reference/DOSSIERS.md 1d), one participant
# with the household annex; signature node empty, as after verification.
TK1_TS = """<?xml version="1.0" encoding="utf-8"?>
<TK1-TS>
  <NoiDung>
    <LaoDong>
      <STT>1</STT>
      <HoTen>Nguyễn Thị Lan</HoTen>
      <NgaySinh>12/03/1985</NgaySinh>
      <GioiTinh>2</GioiTinh>
      <QuocTich>VN</QuocTich>
      <DanToc>01</DanToc>
      <Matinh_KS>01</Matinh_KS>
      <Maxa_KS>00004</Maxa_KS>
      <Diachi_NN>Số 5 ngõ 12 Đào Tấn, Ba Đình, Hà Nội</Diachi_NN>
      <MasoBHXH>0112345678</MasoBHXH>
      <Dienthoai_LH>0912345678</Dienthoai_LH>
      <CMND>001185012345</CMND>
      <Mucdong>1263600</Mucdong>
      <Phuongthuc>12</Phuongthuc>
      <MaTinhBenhVien>01</MaTinhBenhVien>
      <MaBenhVien>01929</MaBenhVien>
      <PhuLuc>
        <Hoten_Chuho>Nguyễn Thị Lan</Hoten_Chuho>
        <SoGiayTo>001185012345</SoGiayTo>
        <LoaiGiayTo>CCCD</LoaiGiayTo>
        <MaTinh>01</MaTinh>
        <MaXa>00004</MaXa>
        <Diachi_HK>Số 5 ngõ 12 Đào Tấn, Ba Đình, Hà Nội</Diachi_HK>
        <DSThanhVien>
          <ThanhVien>
            <STT>1</STT>
            <HoTen>Trần Minh Khôi</HoTen>
            <NgaySinh>2012</NgaySinh>
            <GioiTinh>1</GioiTinh>
            <MoiQuanHe>Con</MoiQuanHe>
            <CMND>001212004321</CMND>
          </ThanhVien>
        </DSThanhVien>
      </PhuLuc>
    </LaoDong>
  </NoiDung>
  <Cky/>
</TK1-TS>"""

# A unit's list of workers (reference/DOSSIERS.md 1a row fields).
D02_TS = """<?xml version="1.0" encoding="utf-8"?>
<D02-TS>
  <NoiDung>
    <LaoDong>
      <STT>1</STT>
      <Hoten>Lê Văn Hùng</Hoten>
      <Masobhxh>0198765432</Masobhxh>
      <phuongAn>DC</phuongAn>
      <tienLuong>9500000</tienLuong>
      <tuThang>01/2026</tuThang>
      <denThang>12/2026</denThang>
      <chucVu>Kế toán</chucVu>
      <daCoSo>true</daCoSo>
      <tinhLai>0</tinhLai>
      <ghiChu>Điều chỉnh mức lương</ghiChu>
    </LaoDong>
  </NoiDung>
  <Cky/>
</D02-TS>"""


def _validate(name: str, text: str) -> None:
    SCHEMAS.validate(name, parse(text.encode(), XmlLimits()), table=name)


def test_a_household_renewal_written_by_hand_is_valid() -> None:
    _validate("dossier/tk1-ts", TK1_TS)


def test_a_list_of_workers_written_by_hand_is_valid() -> None:
    _validate("dossier/d02-ts", D02_TS)


@pytest.mark.parametrize(
    ("name", "text", "wrong", "right"),
    [
        ("dossier/tk1-ts", TK1_TS, "<CMND>001185012345</CMND>", "<CMND>0011850123</CMND>"),
        ("dossier/tk1-ts", TK1_TS, "<NgaySinh>12/03/1985", "<NgaySinh>1985-03-12"),
        ("dossier/tk1-ts", TK1_TS, "<Mucdong>1263600", "<Mucdong>1263600.5"),
        ("dossier/tk1-ts", TK1_TS, "<HoTen>Trần Minh Khôi</HoTen>", ""),
        ("dossier/d02-ts", D02_TS, "<Masobhxh>0198765432", "<Masobhxh>019876543"),
        ("dossier/d02-ts", D02_TS, "<tuThang>01/2026", "<tuThang>13/2026"),
        ("dossier/d02-ts", D02_TS, "<phuongAn>DC</phuongAn>", ""),
        # XSD's \d is any Unicode digit: full-width digits are not an ID anyone issued.
        (
            "dossier/tk1-ts",
            TK1_TS,
            "<CMND>001185012345</CMND>",
            "<CMND>００１１８５０１２３４５</CMND>",
        ),
        ("dossier/d02-ts", D02_TS, "<Masobhxh>0198765432", "<Masobhxh>０１９８７６５４３２"),
    ],
    ids=[
        "cmnd-of-10-digits",
        "iso-date",
        "money-with-decimals",
        "member-without-name",
        "si-number-of-9-digits",
        "month-13",
        "row-without-plan",
        "cmnd-of-full-width-digits",
        "si-number-of-full-width-digits",
    ],
)
def test_out_of_bounds_values_are_refused_with_their_path(
    name: str, text: str, wrong: str, right: str
) -> None:
    assert wrong in text
    with pytest.raises(SchemaInvalid) as caught:
        _validate(name, text.replace(wrong, right, 1))
    assert caught.value.issues[0].path
    assert caught.value.issues[0].table == name
