"""The one place a GatewayError becomes an RFC 9457 problem+json response."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from gateway.errors import GatewayError, NotFound, XmlMalformed

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"


def problem_body(error: GatewayError, *, instance: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:vss:gateway:problem:{error.code.lower()}",
        "title": type(error).__doc__ or error.code,
        "status": error.status,
        "code": error.code,
        "detail": error.detail,
    }
    if instance:
        body["instance"] = instance
    if error.issues:
        body["issues"] = [i.as_dict() for i in error.issues]
    if error.receipt_id:
        body["receipt_id"] = error.receipt_id
        body["receipt"] = f"/api/v1/receipts/{error.receipt_id}"
    return body


def problem_response(error: GatewayError, *, instance: str | None = None) -> Response:
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(
        orjson.dumps(problem_body(error, instance=instance)),
        status_code=error.status,
        media_type=PROBLEM,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return problem_response(exc, instance=request.url.path)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return problem_response(NotFound("no such resource"), instance=request.url.path)
        error = GatewayError(str(exc.detail))
        body = {**problem_body(error), "status": exc.status_code, "code": "HTTP_ERROR"}
        return Response(orjson.dumps(body), status_code=exc.status_code, media_type=PROBLEM)

    async def validation_error(request: Request, exc: Exception) -> Response:
        return problem_response(XmlMalformed(f"the request is not well-formed: {exc}"))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        error = GatewayError("internal error; nothing was stored")
        return problem_response(error, instance=request.url.path)

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
