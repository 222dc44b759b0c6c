"""A hospital's client of VSS's receiving portal, written from CV 3190/BHXH-CNTT (03/10/2023,
Phụ lục section I) alone: what hospital software does, so that the gateway is tested against the
guide rather than against its own code. Page numbers are those of the guide's PDF.

1. ``POST /api/token/take`` (I.1, p. 2): form-urlencoded ``username`` and ``password`` = the MD5
   of the password, upper case; the answer's ``APIKey`` holds ``access_token`` and ``id_token``.
2. ``POST /api/qd130/checkInKcbQd130`` (I.2, ``loaiHoSo`` 0), ``/api/qd130/guiHoSoXmlQD130``
   (I.3, 130), ``/api/qd130/guiDuLieuGdykQd130`` (I.4, 12): headers ``accessToken`` and
   ``tokenId`` (from step 1) and ``passwordHash`` (the MD5 password); form-urlencoded
   ``username``, ``loaiHoSo``, ``maTinh``, ``maCSKCB``, ``fileHSBase64`` (the XML file in base64).
   The answer: ``maKetQua`` ("200" success), ``maGiaoDich``, ``thoiGianTiepNhan``, ``thongDiep``.
3. ``POST /api/egw/KQNhanLichSuKCB2024``, the HI card check of CV 1923/BHXH-CNTT (2024, Phụ lục
   03): written from that guide and from what hospital software sends: the token of step 1,
   its ``id_token``, the ``username`` and the MD5 ``password`` in the query string, and a JSON
   body ``maThe``, ``hoTen``, ``ngaySinh``, ``hoTenCb``, ``cccdCb`` (the checking staff member's
   name and citizen ID). The answer: ``maKetQua`` (section 4's codes, "000" card valid),
   ``ghiChu``, the card's fields and the lists ``dsLichSuKCB2018`` and ``dsLichSuKT2018``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Literal

import httpx

Table = Literal["checkin", "claims", "assessment"]

# (URL path, loaiHoSo "mặc định điền …") of I.2 (p. 3), I.3 (p. 5), I.4 (p. 18).
SERVICES: dict[Table, tuple[str, str]] = {
    "checkin": ("/api/qd130/checkInKcbQd130", "0"),
    "claims": ("/api/qd130/guiHoSoXmlQD130", "130"),
    "assessment": ("/api/qd130/guiDuLieuGdykQd130", "12"),
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # I.1.1, I.2.1, I.3.1, I.4.1
CARD_CHECK = "/api/egw/KQNhanLichSuKCB2024"  # CV 1923 Phụ lục 03, section 1 ("URL")


def md5_upper(password: str) -> str:
    """The password as the guide sends it: "mã hóa MD5 uppercase" (I.1.2, p. 2)."""
    return hashlib.md5(password.encode()).hexdigest().upper()  # MD5: the guide's scheme, not ours


class VssPortalClient:
    """One facility account: ``take_token`` once, then ``send`` files."""

    def __init__(
        self, base_url: str, username: str, password: str, *, ma_tinh: str, ma_cskcb: str
    ) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.username = username
        self.password_md5 = md5_upper(password)
        self.ma_tinh = ma_tinh
        self.ma_cskcb = ma_cskcb
        self.access_token = ""
        self.id_token = ""
        self.retry_after: str | None = None  # of the last card check

    def __enter__(self) -> VssPortalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def take_token(self) -> dict[str, Any]:
        """I.1: the answer ``{maKetQua, APIKey{access_token, id_token, token_type, username,
        expires_in}}``; on "200" the tokens are kept for ``send``."""
        answer = self.http.post(
            "/api/token/take",
            data={"username": self.username, "password": self.password_md5},
            headers=FORM,
        )
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        if body["maKetQua"] == "200":
            self.access_token = body["APIKey"]["access_token"]
            self.id_token = body["APIKey"]["id_token"]
        return body

    def headers(self) -> dict[str, str]:
        """I.2.1 (p. 3): accessToken, tokenId ("lấy được tại mục 1"), passwordHash (MD5)."""
        return {
            **FORM,
            "accessToken": self.access_token,
            "tokenId": self.id_token,
            "passwordHash": self.password_md5,
        }

    def form(self, table: Table, xml: bytes) -> dict[str, str]:
        """I.2.2 (p. 3–4) / I.3.2 (p. 5–6) / I.4.2 (p. 18)."""
        return {
            "username": self.username,
            "loaiHoSo": SERVICES[table][1],
            "maTinh": self.ma_tinh,
            "maCSKCB": self.ma_cskcb,
            "fileHSBase64": base64.b64encode(xml).decode("ascii"),
        }

    def send(self, table: Table, xml: bytes) -> dict[str, Any]:
        """Send one XML file; the answer ``{maKetQua, maGiaoDich, thoiGianTiepNhan,
        thongDiep}`` (I.2.3, p. 4)."""
        return self.post(table, self.form(table, xml), self.headers())

    def post(self, table: Table, form: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        """Post any form with any headers to ``table``'s service (for requests that go wrong)."""
        answer = self.http.post(SERVICES[table][0], data=form, headers=headers)
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def credentials(self) -> dict[str, str]:
        """The card check's ``token``, ``id_token``, ``username``, ``password`` (section 2,
        fields 4, 5, 8, 9), as hospital software puts them in the query string."""
        return {
            "token": self.access_token,
            "id_token": self.id_token,
            "username": self.username,
            "password": self.password_md5,
        }

    def check_card(
        self, ma_the: str, ho_ten: str, ngay_sinh: str, *, ho_ten_cb: str, cccd_cb: str
    ) -> dict[str, Any]:
        """Check a card (``ngay_sinh`` as ``dd/MM/yyyy``): the answer of section 3."""
        body = {
            "maThe": ma_the,
            "hoTen": ho_ten,
            "ngaySinh": ngay_sinh,
            "hoTenCb": ho_ten_cb,
            "cccdCb": cccd_cb,
        }
        return self.post_card_check(body, self.credentials())

    def post_card_check(
        self, body: dict[str, str], query: dict[str, str], **headers: str
    ) -> dict[str, Any]:
        """Post any body with any query and headers to the card check (for requests that go
        wrong); the answer is read as the guide's, with HTTP 200."""
        answer = self.http.post(CARD_CHECK, params=query, json=body, headers=headers)
        answer.raise_for_status()
        self.retry_after = answer.headers.get("retry-after")
        checked: dict[str, Any] = answer.json()
        return checked
