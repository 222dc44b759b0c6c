"""The portal's answers (CV 3190 I.1.3, I.2.3, I.3.3, I.4.3): ``MA_KET_QUA``, the one table from
SPEC error codes to ``maKetQua``, and the answer bodies built from errors and receipts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Literal

import orjson
from fastapi import Response
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from 3.12

from gateway.api import problems
from gateway.errors import GatewayError
from gateway.pipeline.batches import Outcome
from gateway.receipts import ErrorInfo

JSON = "application/json; charset=utf-8"
# The receiving portal's dates are Vietnam time (UTC+07:00, no daylight saving).
VIETNAM = timezone(timedelta(hours=7))

# The guide's HTTP-like outcome codes (package docstring).
MaKetQua = Literal["200", "400", "401", "403", "404", "409", "413", "422", "429", "500", "503"]
SUCCESS: MaKetQua = "200"  # "200 – success" (I.2.3, p. 4)
INTERNAL: MaKetQua = "500"
# SPEC section 5 code → maKetQua (package docstring). Every GatewayError code is here (tested).
MA_KET_QUA: dict[str, MaKetQua] = {
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

_MAX_MESSAGE = 8000  # characters of thongDiep; a batch of many failing visits is cut there


class SubmissionAnswer(TypedDict):
    """The answer of a submission (I.2.3, I.3.3, I.4.3), always with HTTP 200."""

    maKetQua: MaKetQua
    maGiaoDich: str
    thoiGianTiepNhan: str
    thongDiep: str


class ApiKey(TypedDict):
    """The token of I.1.3 (p. 2–3); ``expires_in`` is the UTC expiry time."""

    access_token: str
    id_token: str
    token_type: str
    username: str
    expires_in: str


class TokenAnswer(TypedDict):
    """The answer of the login (I.1.3), always with HTTP 200; ``APIKey`` is null on a refusal."""

    maKetQua: MaKetQua
    APIKey: ApiKey | None


# OpenAPI of the header that ``respond`` adds to a 429 or 503 outcome.
RETRY_AFTER = {
    "Retry-After": {**problems.RETRY_AFTER, "description": "with maKetQua 429 or 503: seconds"}
}


def vietnam_time(at: datetime) -> str:
    """``thoiGianTiepNhan``: ``yyyyMMddHHmmss`` (I.2.3, p. 4) in Vietnam time."""
    return at.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def describe(error: ErrorInfo) -> str:
    """``CODE: detail (where: what; …)``, the SPEC code first so that software can match it."""
    issues = [
        f"{i.get('path') or i.get('table') or ''}: {i.get('message', '')}" for i in error.issues
    ]
    more = f"; … {len(issues) - 5} more" if len(issues) > 5 else ""
    found = f" ({'; '.join(issues[:5])}{more})" if issues else ""
    return f"{error.code}: {error.detail}{found}"


def submission_answer(
    ma_ket_qua: MaKetQua, message: str, *, at: datetime, transaction: str = ""
) -> SubmissionAnswer:
    """The answer of I.2.3 / I.3.3 / I.4.3 (p. 4, 6, 18–19), field names and order verbatim."""
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return SubmissionAnswer(
        maKetQua=ma_ket_qua,
        maGiaoDich=transaction,  # "Mã giao dịch (lưu lại để đối chiếu)": our receipt id
        thoiGianTiepNhan=vietnam_time(at),
        thongDiep=message,
    )


def token_failure(error: GatewayError, at: datetime) -> TokenAnswer:
    """The token answer of I.1.3 (p. 2) without a key: nothing says why (gateway.legacy)."""
    return TokenAnswer(maKetQua=MA_KET_QUA.get(error.code, INTERNAL), APIKey=None)


def submission_failure(error: GatewayError, at: datetime) -> SubmissionAnswer:
    """The answer of a submission refused as a whole."""
    return submission_answer(
        MA_KET_QUA.get(error.code, INTERNAL),
        describe(ErrorInfo.of(error)),
        at=at,
        transaction=error.receipt_id or "",
    )


def accepted_answer(outcome: Outcome, *, key: str = "MA_LK") -> SubmissionAnswer:
    """``maKetQua`` 200 when at least one record is accepted, the rejections in ``thongDiep``,
    each named by ``key`` (what the records' keys are) and its value."""
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
    lines += [f"{key} {r.key or '?'} (#{r.index}): {describe(r.errors[0])}" for r in rejected]
    first_error = rejected[0].errors[0].code if rejected and not accepted else None
    code = SUCCESS if first_error is None else MA_KET_QUA.get(first_error, INTERNAL)
    return submission_answer(code, " ".join(lines), at=receipt.received_at, transaction=receipt.id)


def respond(body: Mapping[str, object], *, retry_after: int | None = None) -> Response:
    """An answer as the portal sends it: JSON, HTTP 200 (package docstring)."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(orjson.dumps(body), media_type=JSON, headers=headers)
