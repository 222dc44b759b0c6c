"""What a portal request holds (CV 3190 I.1.2, I.2.2, I.3.2, I.4.2): the submission endpoints,
the body's fields (form-urlencoded, or the same fields as JSON), the decoded document of a
submission form, and the OpenAPI description of that form."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import Request

from gateway.api.claims import read_body
from gateway.bootstrap import Gateway
from gateway.errors import Forbidden, Unauthorized, XmlMalformed
from gateway.partners import Partner
from gateway.xml.parser import decode_base64


@dataclass(frozen=True)
class Table:
    """One submission endpoint: its loaiHoSo, the format its fileHSBase64 holds, and what the
    keys of that format's records are, to name a rejected row in ``thongDiep``."""

    path: str
    loai_ho_so: str
    summary: str
    root: str
    key: str = "MA_LK"


# CV 3190 I.2 (p. 3–5), I.3 (p. 5–18), I.4 (p. 18–20): URL, "loaiHoSo: mặc định điền 0/130/12",
# and the root of the XML the fileHSBase64 field holds (I.2.4, I.3.4, I.4.4).
CHECKIN = Table("/api/qd130/checkInKcbQd130", "0", "Check-in table", "CHI_TIEU_TRANG_THAI_KCB")
CLAIMS = Table("/api/qd130/guiHoSoXmlQD130", "130", "QĐ 130 claim batch", "GIAMDINHHS")
ASSESSMENT = Table(
    "/api/qd130/guiDuLieuGdykQd130",
    "12",
    "Medical assessment",
    "CHI_TIEU_GIAM_DINH_YKHOA",
    key="NGAY_HOP/SO_BIEN_BAN",
)


async def read_fields(request: Request, limit: int) -> dict[str, str]:
    """The body's fields by lower-cased name: form-urlencoded (the guide's ``Content-Type``,
    I.1.1, I.2.1, …) or a JSON object of strings (package docstring)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/x-www-form-urlencoded", "application/json", ""):
        raise XmlMalformed(
            f"content type {media_type!r}: send application/x-www-form-urlencoded (CV 3190)"
        )
    body = await read_body(request, limit)
    try:
        if media_type == "application/json":
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            pairs = [
                (str(k), str(v))
                for k, v in data.items()
                if isinstance(v, str | int) and not isinstance(v, bool)
            ]
        else:
            pairs = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, max_num_fields=32, errors="strict"
            )
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise XmlMalformed(f"the request body cannot be read: {exc}") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if fields.setdefault(name.lower(), value) != value:
            raise XmlMalformed(f"the field {name!r} is sent twice with different values")
    return fields


def form_limit(max_document: int) -> int:
    """The largest form that can hold a document of ``max_document`` bytes: base64 (4/3), every
    character percent-encoded at worst (3), and room for the other fields."""
    return (max_document + 2) // 3 * 4 * 3 + 64 * 1024


def document(fields: dict[str, str], partner: Partner, table: Table, gateway: Gateway) -> bytes:
    """The form of I.2.2 / I.3.2 / I.4.2 (p. 3–4, 5–6, 18): ``username``, ``loaiHoSo``,
    ``maTinh``, ``maCSKCB``, ``fileHSBase64``, all required; the decoded document."""
    if fields.get("username") != partner.legacy_username:
        raise Unauthorized("username is not the account the access token was issued to")
    if fields.get("loaihoso", "").strip() != table.loai_ho_so:
        raise XmlMalformed(f"loaiHoSo must be {table.loai_ho_so} at {table.path}")
    for name in ("maTinh", "maCSKCB", "fileHSBase64"):
        if not fields.get(name.lower(), "").strip():
            raise XmlMalformed(f"the form field {name} is required")
    facility = fields["macskcb"].strip()
    if facility not in partner.facility_codes:
        raise Forbidden(f"{partner.id} may not submit for facility maCSKCB={facility}")
    limits = gateway.pipeline.limits
    # A "+" that the client did not percent-encode reads as a space; base64 has no spaces.
    text = fields["filehsbase64"].replace(" ", "+")
    return decode_base64(
        text, replace(limits, max_base64_bytes=limits.max_bytes), what="fileHSBase64"
    )


def form_body(fields: dict[str, str]) -> dict[str, Any]:
    """OpenAPI of a form body whose every field (name: description) is a required string."""
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": list(fields),
                    "properties": {
                        name: {"type": "string", "description": text}
                        for name, text in fields.items()
                    },
                }
            }
        },
    }


def form_doc(table: Table) -> dict[str, Any]:
    """OpenAPI of a submission: the guide's headers and form fields."""
    return {
        "parameters": [
            {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
            for name in ("accessToken", "tokenId", "passwordHash")
        ],
        "requestBody": form_body(
            {
                "username": "the account's username",
                "loaiHoSo": f"{table.loai_ho_so}",
                "maTinh": "province code of the facility",
                "maCSKCB": "facility code (one of the partner's)",
                "fileHSBase64": f"base64 of the signed {table.root} XML",
            }
        ),
    }
