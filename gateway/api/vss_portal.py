"""VSS receiving-portal compatibility (SPEC section 4, QD130.md section G): the interface of
CV 3190/BHXH-CNTT (03/10/2023, Phụ lục section I), so that hospital software written for VSS's
portal works by changing only its base URL. Page numbers below are those of the guide's PDF.

| endpoint (CV 3190 Phụ lục section I)                 | loaiHoSo | fileHSBase64 holds         |
|------------------------------------------------------|----------|----------------------------|
| ``POST /api/token/take`` (I.1, p. 2–3)                | -        | (``username``, ``password``) |
| ``POST /api/qd130/checkInKcbQd130`` (I.2, p. 3–5)     | 0        | ``CHI_TIEU_TRANG_THAI_KCB`` |
| ``POST /api/qd130/guiHoSoXmlQD130`` (I.3, p. 5–18)    | 130      | ``GIAMDINHHS``              |
| ``POST /api/qd130/guiDuLieuGdykQd130`` (I.4, p. 18–20) | 12       | ``CHI_TIEU_GIAM_DINH_YKHOA`` |

The three submissions carry the headers ``accessToken``, ``tokenId`` and ``passwordHash`` (I.2.1,
I.3.1, I.4.1) and answer ``maKetQua``, ``maGiaoDich``, ``thoiGianTiepNhan`` (``yyyyMMddHHmmss``,
Vietnam time), ``thongDiep`` (I.2.3, I.3.3, I.4.3); the token answers ``maKetQua`` and ``APIKey``
(I.1.3). They run the pipeline of ``POST /api/v1/claims`` (``submit_batch``, channel
``vss-portal``): duplicates, signatures, schemas and receipts behave the same, ``maGiaoDich`` is
the receipt id, readable at ``/api/v1/receipts/{id}``. The login is ``gateway.legacy``.

Decisions where the guide is silent:
- **HTTP status: always 200**, the outcome in ``maKetQua``. The guide defines outcomes only by
  ``maKetQua`` in the body, and hospital software written for it reads the body only when the
  HTTP status is a success (a refused login would otherwise look like a network failure).
  ``Retry-After`` is still sent with 429 and 503.
- **Bodies**: ``application/x-www-form-urlencoded`` as the guide says, and also the same fields
  as a JSON object, which some hospital software posts. Field names are matched without regard
  to case, as the portal's ASP.NET model binding matches them; a field sent twice with two
  values is refused.
- **A batch with some rejected visits** answers 200 (the transaction is received, its accepted
  visits stored; resending the same file would only return the same receipt) and lists every
  rejected ``MA_LK`` with its SPEC code in ``thongDiep`` ("kèm theo thông điệp lỗi nếu có"); a
  batch whose every visit is rejected answers the code of the first rejection.
- **maCSKCB** must be one of the partner's facility codes (403); the facility the signed
  document speaks for is checked by the pipeline, as for ``/api/v1/claims``.
- **Medical assessment (table 12)** is authenticated, decoded and recognized (root
  ``CHI_TIEU_GIAM_DINH_YKHOA``, I.4.4, p. 19) but not yet accepted: no XSD, no normalization and
  no record kind exist for it, so the answer is ``501`` and nothing is stored, rather than a
  ``200`` for a document nobody validated.

``MA_KET_QUA`` is the one table from SPEC error codes to ``maKetQua``. The guide's codes are HTTP
statuses ("200 – success, 401 unauthen, 403 – unauthoried…", I.2.3, p. 4), so each SPEC code
takes the HTTP status SPEC section 5 gives it, and ``thongDiep`` starts with the SPEC code.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import orjson
from anyio import CapacityLimiter
from fastapi import APIRouter, Request, Response

from gateway.api import work
from gateway.api.auth import source_address
from gateway.bootstrap import Gateway
from gateway.errors import (
    Forbidden,
    GatewayError,
    SchemaInvalid,
    Unauthorized,
    XmlMalformed,
    XmlTooLarge,
)
from gateway.legacy import LegacyLogin, TokenSigner
from gateway.partners import Partner, require_service
from gateway.pipeline.batches import Outcome, submit_batch
from gateway.pipeline.ports import BatchFormat
from gateway.receipts import ErrorInfo
from gateway.xml.parser import decode_base64, parse

log = logging.getLogger(__name__)

router = APIRouter(tags=["vss-portal"])

TOKEN_PATH = "/api/token/take"  # noqa: S105 (a URL path) -- CV 3190 I.1, p. 2
JSON = "application/json; charset=utf-8"
# The receiving portal's dates are Vietnam time (UTC+07:00, no daylight saving).
VIETNAM = timezone(timedelta(hours=7))

SUCCESS = "200"  # "200 – success" (I.2.3, p. 4)
NOT_YET_ACCEPTED = "501"  # table 12: recognized, not accepted (module docstring)
INTERNAL = "500"
# SPEC section 5 code → maKetQua (module docstring). Every GatewayError code is here (tested).
MA_KET_QUA: dict[str, str] = {
    "XML_MALFORMED": "400",
    "XML_FORBIDDEN_CONSTRUCT": "400",
    "SIGNATURE_MISSING": "400",
    "XML_TOO_LARGE": "413",
    "SIGNATURE_INVALID": "422",
    "CERT_UNTRUSTED": "422",
    "CERT_EXPIRED": "422",
    "CERT_REVOKED": "422",
    "SCHEMA_INVALID": "422",
    "RULE_VIOLATION": "422",
    "UNAUTHORIZED": "401",  # "401 unauthen"
    "FORBIDDEN": "403",  # "403 – unauthoried"
    "NOT_FOUND": "404",
    "CONFLICT": "409",
    "RATE_LIMITED": "429",
    "UNAVAILABLE": "503",
}

_TOKEN_BODY_LIMIT = 16 * 1024
_MAX_MESSAGE = 8000  # characters of thongDiep; a batch of many failing visits is cut there
_LOGIN_THREADS = 4  # concurrent scrypt checks (16 MiB each), so a login flood stays bounded


@dataclass(frozen=True)
class _Table:
    """One submission endpoint: its loaiHoSo and the format its fileHSBase64 holds."""

    path: str
    loai_ho_so: str
    summary: str
    root: str


# CV 3190 I.2 (p. 3–5), I.3 (p. 5–18), I.4 (p. 18–20): URL, "loaiHoSo: mặc định điền 0/130/12",
# and the root of the XML the fileHSBase64 field holds (I.2.4, I.3.4, I.4.4).
CHECKIN = _Table("/api/qd130/checkInKcbQd130", "0", "Check-in table", "CHI_TIEU_TRANG_THAI_KCB")
CLAIMS = _Table("/api/qd130/guiHoSoXmlQD130", "130", "QĐ 130 claim batch", "GIAMDINHHS")
ASSESSMENT = _Table(
    "/api/qd130/guiDuLieuGdykQd130", "12", "Medical assessment", "CHI_TIEU_GIAM_DINH_YKHOA"
)


class _PortalState:
    """What the portal keeps for the life of the app: the login and the check-in format."""

    def __init__(self, gateway: Gateway) -> None:
        self.login = LegacyLogin(gateway.partners, TokenSigner(gateway.pipeline.identity))
        self.login_threads = CapacityLimiter(_LOGIN_THREADS)
        # The claim format comes from the composition root; the check-in format is stateless.
        self.formats: dict[str, BatchFormat] = {"0": gateway.checkin, "130": gateway.claims}


def _state(request: Request) -> _PortalState:
    state: _PortalState | None = getattr(request.app.state, "vss_portal", None)
    if state is None:  # built on first use: nothing awaits in between, so built once
        state = request.app.state.vss_portal = _PortalState(request.app.state.gateway)
    return state


def _now(request: Request) -> datetime:
    gateway: Gateway = request.app.state.gateway
    return gateway.pipeline.clock.now()


# --- Answers: the one place a GatewayError becomes a portal answer ------------------------------


def _vietnam_time(at: datetime) -> str:
    """``thoiGianTiepNhan``: ``yyyyMMddHHmmss`` (I.2.3, p. 4) in Vietnam time."""
    return at.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def _describe(error: ErrorInfo) -> str:
    """``CODE: detail (where: what; …)``, the SPEC code first so that software can match it."""
    issues = [
        f"{i.get('path') or i.get('table') or ''}: {i.get('message', '')}" for i in error.issues
    ]
    more = f"; … {len(issues) - 5} more" if len(issues) > 5 else ""
    found = f" ({'; '.join(issues[:5])}{more})" if issues else ""
    return f"{error.code}: {error.detail}{found}"


def _submission_answer(
    ma_ket_qua: str, message: str, *, at: datetime, transaction: str = ""
) -> dict[str, str]:
    """The answer of I.2.3 / I.3.3 / I.4.3 (p. 4, 6, 18–19), field names and order verbatim."""
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return {
        "maKetQua": ma_ket_qua,
        "maGiaoDich": transaction,  # "Mã giao dịch (lưu lại để đối chiếu)": our receipt id
        "thoiGianTiepNhan": _vietnam_time(at),
        "thongDiep": message,
    }


def _token_failure(error: GatewayError, at: datetime) -> dict[str, Any]:
    """The token answer of I.1.3 (p. 2) without a key: nothing says why (gateway.legacy)."""
    return {"maKetQua": MA_KET_QUA.get(error.code, INTERNAL), "APIKey": None}


def _submission_failure(error: GatewayError, at: datetime) -> dict[str, Any]:
    return _submission_answer(
        MA_KET_QUA.get(error.code, INTERNAL),
        _describe(ErrorInfo.of(error)),
        at=at,
        transaction=error.receipt_id or "",
    )


def _respond(body: dict[str, Any], *, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(orjson.dumps(body), media_type=JSON, headers=headers)


Endpoint = Callable[[Request], Awaitable[Response]]


def _answering(
    failure: Callable[[GatewayError, datetime], dict[str, Any]],
) -> Callable[[Endpoint], Endpoint]:
    """Render every error of the endpoint as a portal answer (HTTP 200, module docstring)."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def answering(request: Request) -> Response:
            try:
                return await endpoint(request)
            except GatewayError as error:
                return _respond(failure(error, _now(request)), retry_after=error.retry_after)
            except Exception:
                log.exception("unexpected error on %s", request.url.path)
                internal = GatewayError("internal error")
                return _respond(failure(internal, _now(request)))

        return answering

    return decorate


# --- Requests ------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise XmlTooLarge(f"the body has {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise XmlTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_fields(request: Request, limit: int) -> dict[str, str]:
    """The body's fields by lower-cased name: form-urlencoded (the guide's ``Content-Type``,
    I.1.1, I.2.1, …) or a JSON object of strings (module docstring)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/x-www-form-urlencoded", "application/json", ""):
        raise XmlMalformed(
            f"content type {media_type!r}: send application/x-www-form-urlencoded (CV 3190)"
        )
    body = await _read_body(request, limit)
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


def _form_limit(max_document: int) -> int:
    """The largest form that can hold a document of ``max_document`` bytes: base64 (4/3), every
    character percent-encoded at worst (3), and room for the other fields."""
    return (max_document + 2) // 3 * 4 * 3 + 64 * 1024


# --- The token (CV 3190 I.1, p. 2–3) --------------------------------------------------------


@router.post(
    TOKEN_PATH,
    summary="VSS portal login: a token for the username and uppercase-MD5 password (CV 3190 I.1)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {
                            "username": {"type": "string"},
                            "password": {"type": "string", "description": "uppercase MD5 hex"},
                        },
                    }
                }
            },
        }
    },
)
@_answering(_token_failure)
async def take_token(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    state = _state(request)
    fields = await _read_fields(request, _TOKEN_BODY_LIMIT)
    # I.1.2 (p. 2): "username" (Tên tài khoản được cấp), "password" (MD5 uppercase).
    username, password = fields.get("username", ""), fields.get("password", "")
    if not username or not password:
        raise Unauthorized("username and password are required")
    address = source_address(request, gateway.settings.trusted_proxies)
    login = functools.partial(
        state.login.login, username, password, address=address, now=_now(request)
    )
    grant = await anyio.to_thread.run_sync(login, limiter=state.login_threads)
    # I.1.3 (p. 2–3): maKetQua, then APIKey (ResultObject) with access_token, id_token,
    # token_type, username and expires_in ("Datetime: thời gian hết hạn token (UTC)").
    return _respond(
        {
            "maKetQua": SUCCESS,
            "APIKey": {
                "access_token": grant.access_token,
                "id_token": grant.id_token,
                "token_type": grant.token_type,
                "username": grant.username,
                "expires_in": grant.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
    )


# --- The submissions (CV 3190 I.2, I.3, I.4) ----------------------------------------------------


async def _caller(request: Request, state: _PortalState) -> Partner:
    """The partner behind the headers of I.2.1 / I.3.1 / I.4.1 (p. 3, 5, 18): ``accessToken``,
    ``tokenId``, ``passwordHash``; then its source address and its grant, like every caller."""
    gateway: Gateway = request.app.state.gateway
    headers = [request.headers.get(name, "") for name in ("accessToken", "tokenId", "passwordHash")]
    if not all(headers):
        raise Unauthorized("the accessToken, tokenId and passwordHash headers are required")
    check = functools.partial(state.login.authenticate, *headers, now=_now(request))
    partner = await anyio.to_thread.run_sync(check, limiter=state.login_threads)
    if not partner.allows_address(source_address(request, gateway.settings.trusted_proxies)):
        raise Forbidden(f"requests for {partner.id} are not accepted from this address")
    require_service(partner, "claims.submit")
    return partner


def _document(fields: dict[str, str], partner: Partner, table: _Table, gateway: Gateway) -> bytes:
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


def _accepted_answer(outcome: Outcome) -> dict[str, str]:
    """``maKetQua`` 200 when at least one record is accepted, the rejections in ``thongDiep``."""
    receipt = outcome.receipt
    accepted = [r for r in receipt.results if r.status == "accepted"]
    rejected = [r for r in receipt.results if r.status == "rejected"]
    lines = []
    if outcome.duplicate:
        lines.append(
            "Hồ sơ đã được tiếp nhận trước đó (duplicate): this file was received before; "
            "maGiaoDich and the results are those of that submission."
        )
    lines.append(
        f"Tiếp nhận {len(accepted)}/{len(receipt.results)} hồ sơ "
        f"({len(accepted)} of {len(receipt.results)} records accepted)."
    )
    lines += [f"MA_LK {r.key or '?'} (#{r.index}): {_describe(r.errors[0])}" for r in rejected]
    first_error = rejected[0].errors[0].code if rejected and not accepted else None
    code = SUCCESS if first_error is None else MA_KET_QUA.get(first_error, INTERNAL)
    return _submission_answer(code, " ".join(lines), at=receipt.received_at, transaction=receipt.id)


async def _submit(request: Request, table: _Table) -> Response:
    gateway: Gateway = request.app.state.gateway
    state = _state(request)
    partner = await _caller(request, state)
    fields = await _read_fields(request, _form_limit(gateway.pipeline.limits.max_bytes))
    document = _document(fields, partner, table, gateway)
    fmt = state.formats.get(table.loai_ho_so)
    if fmt is None:
        root = parse(document, gateway.pipeline.limits)
        if root.tag != table.root:
            raise SchemaInvalid(f"fileHSBase64 holds {root.tag}, not {table.root} ({table.path})")
        message = (
            f"{table.summary} (loaiHoSo {table.loai_ho_so}) is recognized but not yet accepted "
            "by this gateway: nothing was stored; send it to VSS's own portal"
        )
        return _respond(_submission_answer(NOT_YET_ACCEPTED, message, at=_now(request)))
    outcome = await work.run(
        request,
        len(document),
        submit_batch,
        document,
        partner=partner,
        channel="vss-portal",
        fmt=fmt,
        deps=gateway.pipeline,
    )
    return _respond(_accepted_answer(outcome))


def _form_doc(table: _Table) -> dict[str, Any]:
    """OpenAPI of a submission: the guide's headers and form fields."""
    fields = {
        "username": "the account's username",
        "loaiHoSo": f"{table.loai_ho_so}",
        "maTinh": "province code of the facility",
        "maCSKCB": "facility code (one of the partner's)",
        "fileHSBase64": f"base64 of the signed {table.root} XML",
    }
    return {
        "parameters": [
            {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
            for name in ("accessToken", "tokenId", "passwordHash")
        ],
        "requestBody": {
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
        },
    }


@router.post(
    CHECKIN.path,
    summary="VSS portal: check-in table, loaiHoSo 0 (CV 3190 I.2)",
    openapi_extra=_form_doc(CHECKIN),
)
@_answering(_submission_failure)
async def check_in(request: Request) -> Response:
    return await _submit(request, CHECKIN)


@router.post(
    CLAIMS.path,
    summary="VSS portal: QĐ 130 claim batch GIAMDINHHS, loaiHoSo 130 (CV 3190 I.3)",
    openapi_extra=_form_doc(CLAIMS),
)
@_answering(_submission_failure)
async def send_claims(request: Request) -> Response:
    return await _submit(request, CLAIMS)


@router.post(
    ASSESSMENT.path,
    summary="VSS portal: medical assessment table 12, loaiHoSo 12 (CV 3190 I.4); not yet accepted",
    openapi_extra=_form_doc(ASSESSMENT),
)
@_answering(_submission_failure)
async def send_assessment(request: Request) -> Response:
    return await _submit(request, ASSESSMENT)
