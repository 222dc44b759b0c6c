"""The one place errors become RFC 9457 problem+json responses, and the one place the OpenAPI
description declares them: ``responses(...)`` gives an operation the problems it can answer."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, NotRequired, cast

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from 3.12

from gateway.errors import (
    Conflict,
    GatewayError,
    Internal,
    Issue,
    NotFound,
    RateLimited,
    Unavailable,
    XmlMalformed,
)

PROBLEM = "application/problem+json"
# The code of a problem that is none of the SPEC's (405, 408): RFC 9457's "about:blank".
HTTP_ERROR = "HTTP_ERROR"
_SCHEMAS = "#/components/schemas/"


class ProblemIssue(TypedDict):
    """One finding inside a problem: what is wrong and where."""

    message: str
    path: NotRequired[str]
    line: NotRequired[int]
    table: NotRequired[str]
    rule: NotRequired[str]


class Problem(TypedDict):
    """An RFC 9457 problem with the SPEC section 5 ``code``; a batch refused as a whole names
    the receipt of its rejection."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: NotRequired[str]
    issues: NotRequired[list[ProblemIssue]]
    receipt_id: NotRequired[str]
    receipt: NotRequired[str]
    allowed: NotRequired[list[str]]
    database: NotRequired[dict[str, Any]]


def problem_body(error: GatewayError, *, instance: str | None = None) -> Problem:
    body = Problem(
        type=f"urn:vss:gateway:problem:{error.code.lower()}",
        title=error.title,
        status=error.status,
        code=error.code,
        detail=error.detail,
    )
    if instance:
        body["instance"] = instance
    if error.issues:
        body["issues"] = [cast(ProblemIssue, i.as_dict()) for i in error.issues]
    if error.receipt_id:
        body["receipt_id"] = error.receipt_id
        body["receipt"] = f"/api/v1/receipts/{error.receipt_id}"
    if isinstance(error, Conflict):
        body["allowed"] = error.allowed
    if isinstance(error, Unavailable) and error.database is not None:
        body["database"] = error.database
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


def http_problem(
    status: int, detail: str, *, instance: str, headers: dict[str, str] | None = None
) -> Response:
    """A problem that is not one of the SPEC errors: RFC 9457's "about:blank", titled by the
    HTTP status."""
    body = Problem(
        type="about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        code=HTTP_ERROR,
        detail=detail,
        instance=instance,
    )
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI, *, routes: Iterable[BaseRoute]) -> None:
    """Register the handlers that turn errors into problem+json; ``routes`` are those of the
    app's routers, for the ``Allow`` header of a 405. What none of them answers, the exchange
    answers (``gateway.api.exchange``)."""
    # Starlette's 405 names the methods of the first route matching the path only: GET of
    # /soap/claims, not its POST. RFC 9110 wants every method of the resource.
    methods = [(r.path_regex, r.methods) for r in routes if isinstance(r, Route) and r.methods]

    def allowed(request: Request, named: str) -> str:
        path = request.url.path
        found = {m.strip() for m in named.split(",") if m.strip()}
        found.update(m for regex, accepted in methods if regex.match(path) for m in accepted)
        return ", ".join(sorted(found))

    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return problem_response(exc, instance=request.url.path)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return problem_response(NotFound("no such resource"), instance=request.url.path)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed(request, headers.get("Allow", ""))
        return http_problem(
            exc.status_code, str(exc.detail), instance=request.url.path, headers=headers
        )

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(malformed(exc), instance=request.url.path)

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


# Findings of one malformed request that a problem lists; the rest are counted.
MAX_VALIDATION_ISSUES = 20


def malformed(exc: RequestValidationError) -> XmlMalformed:
    """A request FastAPI could not read into its parameters, as XML_MALFORMED with an issue per
    finding (where, and what is wrong). Built from the findings, never from the exception's
    text, which names the route's source file and line and repeats the input as sent."""
    errors = exc.errors()
    issues = [
        Issue(
            message=str(error.get("msg", "not valid")),
            path=".".join(str(part) for part in error.get("loc", ())),
        )
        for error in errors[:MAX_VALIDATION_ISSUES]
    ]
    detail = "; ".join(f"{issue.path}: {issue.message}" for issue in issues)
    if len(errors) > len(issues):
        detail += f"; and {len(errors) - len(issues)} more"
    return XmlMalformed(f"the request is not well-formed: {detail}", issues=issues)


# --- The OpenAPI description -------------------------------------------------------------------

RETRY_AFTER = {
    "description": "seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 0},
}
# The errors that always carry ``retry_after`` (SPEC section 5: "with Retry-After").
_RETRYABLE = (RateLimited, Unavailable)


def _coded(error: type[GatewayError]) -> list[type[GatewayError]]:
    """The errors with a SPEC code that ``error`` stands for: itself, or, for a class without a
    code of its own (``CertificateError``), those below it."""
    if "code" in vars(error):
        return [error]
    return [coded for sub in error.__subclasses__() for coded in _coded(sub)]


def _content(status: int, codes: list[str]) -> dict[str, Any]:
    return {
        PROBLEM: {
            "schema": {
                "allOf": [{"$ref": f"{_SCHEMAS}Problem"}],
                "properties": {"status": {"const": status}, "code": {"enum": codes}},
            }
        }
    }


def _response(status: int, errors: list[type[GatewayError]]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "description": "; ".join(f"`{error.code}`: {error.title}" for error in errors),
        "content": _content(status, [error.code for error in errors]),
    }
    if any(issubclass(error, _RETRYABLE) for error in errors):
        entry["headers"] = {"Retry-After": {**RETRY_AFTER, "required": True}}
    return entry


def responses(*errors: type[GatewayError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for an operation that can answer ``errors``, and the internal error
    that any operation can answer: one problem+json entry per status, naming its SPEC codes."""
    by_status: dict[int, list[type[GatewayError]]] = {}
    for coded in [coded for error in errors for coded in _coded(error)] + [Internal]:
        found = by_status.setdefault(coded.status, [])
        if coded not in found:
            found.append(coded)
    return {status: _response(status, found) for status, found in sorted(by_status.items())}


def http_response(status: int, description: str) -> dict[str, Any]:
    """OpenAPI of an ``http_problem`` answer."""
    return {"description": description, "content": _content(status, [HTTP_ERROR])}


def _components() -> dict[str, Any]:
    schema = TypeAdapter(Problem).json_schema(ref_template=_SCHEMAS + "{model}")
    return {**schema.pop("$defs", {}), "Problem": schema}


_COMPONENTS = _components()


def describe(openapi: dict[str, Any]) -> dict[str, Any]:
    """Complete FastAPI's description: the schemas that ``responses`` refers to, and in place of
    FastAPI's own 422 answers the 400 XML_MALFORMED that ``validation_error`` gives instead."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(_COMPONENTS)
    fastapi_422 = {"$ref": f"{_SCHEMAS}HTTPValidationError"}
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.get("responses", {})
            content = answers.get("422", {}).get("content", {})
            if content.get("application/json", {}).get("schema") == fastapi_422:
                # Where FastAPI would answer 422, validation_error answers 400 XML_MALFORMED.
                del answers["422"]
                answers.setdefault("400", _response(400, [XmlMalformed]))
    return openapi
