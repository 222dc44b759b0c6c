"""Check-in documents (CV 3190 Phụ lục I.2.4, p. 4–5) for tests, written from the guide's own
field list rather than by the gateway's synthetic writer: what hospital software sends to
``checkInKcbQd130`` at a patient's first contact."""

from __future__ import annotations

from lxml import etree

from adapters.hospital import synth

# The check-in row of CV 3190 section I.2.4 (p. 4–5), in its order.
CHECKIN_FIELDS = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT",
    "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "MA_DOITUONG_KCB", "NGAY_VAO", "MA_LOAI_KCB",
    "MA_CSKCB", "MA_DICH_VU", "TEN_DICH_VU", "NGAY_YL",
)  # fmt: skip


def checkin_xml(visits: list[synth.Visit]) -> bytes:
    """The unsigned check-in document of ``visits``, as section I.2.4 shows it."""
    root = etree.Element("CHI_TIEU_TRANG_THAI_KCB")
    rows = etree.SubElement(root, "DSACH_TRANG_THAI_KCB")
    for index, visit in enumerate(visits, 1):
        first = visit.services[0] if visit.services else None
        values = {
            "MA_LK": visit.ma_lk,
            "STT": str(index),
            "MA_BN": visit.ma_bn,
            "HO_TEN": visit.ho_ten,
            "SO_CCCD": visit.so_cccd,
            "NGAY_SINH": f"{visit.ngay_sinh:%Y%m%d}0000",
            "GIOI_TINH": str(visit.gioi_tinh),
            "MA_THE_BHYT": visit.ma_the_bhyt,
            "MA_DKBD": visit.ma_dkbd,
            "GT_THE_TU": f"{visit.gt_the_tu:%Y%m%d}",
            "GT_THE_DEN": f"{visit.gt_the_den:%Y%m%d}",
            "MA_DOITUONG_KCB": visit.ma_doituong_kcb,
            "NGAY_VAO": f"{visit.ngay_vao:%Y%m%d%H%M}",
            "MA_LOAI_KCB": visit.ma_loai_kcb,
            "MA_CSKCB": visit.ma_cskcb,
            "MA_DICH_VU": first.service.code if first else "",
            "TEN_DICH_VU": first.service.name if first else "",
            "NGAY_YL": f"{(first.ngay_yl if first else visit.ngay_vao):%Y%m%d%H%M}",
        }
        row = etree.SubElement(rows, "TRANG_THAI_KCB")
        for name in CHECKIN_FIELDS:
            etree.SubElement(row, name).text = values[name]
    etree.SubElement(root, "CHUKYDONVI")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
