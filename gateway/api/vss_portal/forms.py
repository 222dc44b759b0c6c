"""What a portal request holds (CV 3190 I.1.2, I.2.2, I.3.2, I.4.2): the submission endpoints,
the fields each takes (form-urlencoded, or the same fields as JSON, read as they arrive by
``urlencoded`` or ``jsonobject`` into ``fields``), the decoded document of a submission, and the
OpenAPI description of that form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from gateway.api.claims import body_pieces
from gateway.api.vss_portal import jsonobject, urlencoded
from gateway.api.vss_portal.fields import Body, Fields, FieldSet
from gateway.errors import Forbidden, Unauthorized, XmlMalformed
from gateway.partners import Partner


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


LOGIN = FieldSet(("username", "password"))  # I.1.2 (p. 2)
# I.2.2 / I.3.2 / I.4.2 (p. 3–4, 5–6, 18)
SUBMISSION = FieldSet(
    ("username", "loaiHoSo", "maTinh", "maCSKCB", "fileHSBase64"), document="fileHSBase64"
)


class _Reader(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...


# The body's media type (none: curl -d and others say nothing) → its reader, and the bytes a
# character takes in that encoding at worst.
_ENCODINGS: dict[str, tuple[Callable[[Fields], _Reader], int]] = {
    "application/x-www-form-urlencoded": (urlencoded.UrlencodedReader, urlencoded.EXPANSION),
    "": (urlencoded.UrlencodedReader, urlencoded.EXPANSION),
    "application/json": (jsonobject.JsonObjectReader, jsonobject.EXPANSION),
}


async def read_fields(request: Request, allowed: FieldSet, *, document_limit: int = 0) -> Body:
    """The body's fields: form-urlencoded (the guide's ``Content-Type``, I.1.1, I.2.1, …) or a
    JSON object of strings (package docstring), read as it arrives, with the document of
    ``allowed`` decoded on the way; refused as soon as it is known to be over its bound."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _ENCODINGS:
        raise XmlMalformed(
            f"content type {media_type!r}: send application/x-www-form-urlencoded (CV 3190)"
        )
    reader_of, expansion = _ENCODINGS[media_type]
    fields = Fields(allowed, document_limit=document_limit)
    reader = reader_of(fields)
    async for chunk in body_pieces(
        request, allowed.body_limit(document_limit, expansion=expansion)
    ):
        reader.feed(chunk)
    reader.finish()
    return fields.body()


def document(body: Body, partner: Partner, table: Table) -> bytes:
    """The form of I.2.2 / I.3.2 / I.4.2 (p. 3–4, 5–6, 18): ``username``, ``loaiHoSo``,
    ``maTinh``, ``maCSKCB``, ``fileHSBase64``, all required; the decoded document."""
    fields = body.values
    if fields.get("username") != partner.legacy_username:
        raise Unauthorized("username is not the account the access token was issued to")
    if fields.get("loaihoso", "").strip() != table.loai_ho_so:
        raise XmlMalformed(f"loaiHoSo must be {table.loai_ho_so} at {table.path}")
    for name in ("maTinh", "maCSKCB"):
        if not fields.get(name.lower(), "").strip():
            raise XmlMalformed(f"the form field {name} is required")
    if not body.document:
        raise XmlMalformed("the form field fileHSBase64 is required")
    facility = fields["macskcb"].strip()
    if facility not in partner.facility_codes:
        raise Forbidden(f"{partner.id} may not submit for facility maCSKCB={facility}")
    return body.document


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
