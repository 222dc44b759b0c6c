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
