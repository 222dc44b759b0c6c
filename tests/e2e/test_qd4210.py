"""Older hospitals: a HOSO exported in the QĐ 4210 layout is answered with a message naming it."""

from __future__ import annotations

from tests.conftest import Pki, Served, counts
from tests.support.batches import batch_with, visit_tables

# An XML1 as QĐ 4210 exporters write it (field names of QD130.md section E, [S23]).
QD4210_XML1 = """<?xml version="1.0" encoding="utf-8"?>
<TONG_HOP><MA_LK>01929240105000001</MA_LK><STT>1</STT><MA_BN>0000012345</MA_BN>
<HO_TEN>Trần Văn Bình</HO_TEN><NGAY_SINH>19800312</NGAY_SINH><GIOI_TINH>1</GIOI_TINH>
<DIA_CHI>Số 5 Phố Huế, Hà Nội</DIA_CHI><MA_THE>GD4010120012345</MA_THE><MA_DKBD>01929</MA_DKBD>
<GT_THE_TU>20240101</GT_THE_TU><GT_THE_DEN>20241231</GT_THE_DEN><TEN_BENH>Tăng huyết áp</TEN_BENH>
<MA_BENH>I10</MA_BENH><MA_LYDO_VVIEN>1</MA_LYDO_VVIEN><NGAY_VAO>202401050800</NGAY_VAO>
<NGAY_RA>202401050930</NGAY_RA><SO_NGAY_DTRI>0</SO_NGAY_DTRI><KET_QUA_DTRI>1</KET_QUA_DTRI>
<TINH_TRANG_RV>1</TINH_TRANG_RV><T_THUOC>120000</T_THUOC><T_VTYT>0</T_VTYT>
<T_TONGCHI>158600</T_TONGCHI><T_BNTT>0</T_BNTT><T_BNCCT>31720</T_BNCCT><T_BHTT>126880</T_BHTT>
<T_NGUONKHAC>0</T_NGUONKHAC><T_NGOAIDS>0</T_NGOAIDS><NAM_QT>2024</NAM_QT><THANG_QT>1</THANG_QT>
<MA_LOAI_KCB>1</MA_LOAI_KCB><MA_KHOA>K01</MA_KHOA><MA_CSKCB>01929</MA_CSKCB></TONG_HOP>
""".encode()


def test_a_qd4210_hoso_is_rejected_with_a_message_naming_the_version(
    served: Served, pki: Pki
) -> None:
    body = batch_with(pki.hospital, [visit_tables(1), {"XML1": QD4210_XML1}])
    with served.client() as http:
        receipt = http.post(
            "/api/v1/claims", content=body, headers={"Content-Type": "application/xml"}
        ).json()
    current, old = receipt["results"]
    assert current["status"] == "accepted"
    assert old["status"] == "rejected" and old["key"] == "01929240105000001"
    [error] = old["errors"]
    assert error["code"] == "SCHEMA_INVALID"
    assert "QĐ 4210" in error["detail"] and "MA_THE" in error["detail"]
    assert error["issues"] == [
        {"message": "QĐ 4210 layout", "path": "/TONG_HOP/MA_THE", "table": "XML1"}
    ]
    assert counts(served.gateway)["records"] == 1
