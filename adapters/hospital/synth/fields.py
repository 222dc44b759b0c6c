"""The layout of each QĐ 130 table: element order, list and row elements, CDATA fields.

Element orders are those of the field tables of the QĐ 4750 appendix [S2] (QD130.md section B;
the check-in table from the sheet "Bang Check-in"), checked against CV 3190 sections 2.4 and
3.5 (QD130.md section G), which predates 4750: the 4750 insertions are NHOM_MAU (XML1),
NGAY_TH_YL (XML2), and in the check-in NGAY_VAO_NOI_TRU, LY_DO_VNT, MA_LY_DO_VNT, MA_THUOC,
TEN_THUOC, MA_VAT_TU, TEN_VAT_TU and DU_PHONG.
"""

from __future__ import annotations

from dataclasses import dataclass

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
XML4_FIELDS = (
    "MA_LK", "STT", "MA_DICH_VU", "MA_CHI_SO", "TEN_CHI_SO", "GIA_TRI", "DON_VI_DO", "MO_TA",
    "KET_LUAN", "NGAY_KQ", "MA_BS_DOC_KQ", "DU_PHONG",
)  # fmt: skip
XML5_FIELDS = (
    "MA_LK", "STT", "DIEN_BIEN_LS", "GIAI_DOAN_BENH", "HOI_CHAN", "PHAU_THUAT", "THOI_DIEM_DBLS",
    "NGUOI_THUC_HIEN", "DU_PHONG",
)  # fmt: skip
CHECKIN_FIELDS = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT",
    "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "MA_DOITUONG_KCB", "NGAY_VAO", "NGAY_VAO_NOI_TRU",
    "LY_DO_VNT", "MA_LY_DO_VNT", "MA_LOAI_KCB", "MA_CSKCB", "MA_DICH_VU", "TEN_DICH_VU",
    "MA_THUOC", "TEN_THUOC", "MA_VAT_TU", "TEN_VAT_TU", "NGAY_YL", "DU_PHONG",
)  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """Where the rows of a list table sit: ``wrapper/items/row+`` (section A, inner roots).

    Some exporters leave the CHITIEU_* wrapper out and write ``items`` as the root [S13].
    """

    wrapper: str
    items: str
    row: str
    fields: tuple[str, ...]


LAYOUTS = {
    "XML2": Layout("CHITIEU_CHITIET_THUOC", "DSACH_CHI_TIET_THUOC", "CHI_TIET_THUOC",
                   XML2_FIELDS),
    "XML3": Layout("CHITIEU_CHITIET_DVKT_VTYT", "DSACH_CHI_TIET_DVKT", "CHI_TIET_DVKT",
                   XML3_FIELDS),
    "XML4": Layout("CHITIEU_CHITIET_DICHVUCANLAMSANG", "DSACH_CHI_TIET_CLS", "CHI_TIET_CLS",
                   XML4_FIELDS),
    "XML5": Layout("CHITIEU_CHITIET_DIENBIENLAMSANG", "DSACH_CHI_TIET_DIEN_BIEN_BENH",
                   "CHI_TIET_DIEN_BIEN_BENH", XML5_FIELDS),
    # The check-in is its own signed document: CHUKYDONVI follows the list (section G).
    "CHECKIN": Layout("CHI_TIEU_TRANG_THAI_KCB", "DSACH_TRANG_THAI_KCB", "TRANG_THAI_KCB",
                      CHECKIN_FIELDS),
}  # fmt: skip

# Free text that exporters wrap in CDATA [A, S16]; DIEN_BIEN_LS holds "<" and ">" (CSST<...>).
CDATA = frozenset(
    {"HO_TEN", "DIA_CHI", "LY_DO_VV", "LY_DO_VNT", "CHAN_DOAN_VAO", "CHAN_DOAN_RV",
     "PP_DIEU_TRI", "GHI_CHU", "TEN_THUOC", "HAM_LUONG", "DANG_BAO_CHE", "LIEU_DUNG",
     "TEN_DICH_VU", "TEN_VAT_TU", "TEN_CHI_SO", "MO_TA", "KET_LUAN", "DIEN_BIEN_LS",
     "GIAI_DOAN_BENH", "HOI_CHAN", "PHAU_THUAT"}
)  # fmt: skip
