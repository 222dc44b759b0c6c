"""One HTTP exchange, seen from the ASGI app's edge: its request id, the time its body may take,
a client that leaves before its answer, a failure nothing else answered, and its count in the
metrics.

A client that goes away mid-body makes starlette's ``request.stream()`` raise
``ClientDisconnect``. Left alone it reached the app's catch-all (an ERROR with a traceback) and
then uvicorn, which logged it again: two tracebacks for a client's choice. Here it is one INFO
line. A body that stops coming is the same case: after ``body_timeout`` seconds without a piece
of it, the readers are told the client is gone, and the client, if still there, is answered 408.
The routes that render their own errors (SOAP Faults, VSS-portal answers) let
``ClientDisconnect`` through to here.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import anyio
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from ulid import ULID

from gateway import logs
from gateway.api import problems
from gateway.errors import Internal
from gateway.metrics import Metrics

log = logging.getLogger(__name__)

REQUEST_ID = "X-Request-ID"
# A caller's own id is kept if it is a short token: it is written into every log line.
_CALLER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# nginx's status for a request whose client closed the connection before the answer: nothing is
# sent; the metrics count it apart from the gateway's own failures.
CLIENT_CLOSED = 499
_DISCONNECT: Message = {"type": "http.disconnect"}


def request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` if it is a short token holding no personal identifier,
    else a new ULID."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _CALLER_ID.fullmatch(given) and logs.mask(given) == given:
                return given
            break
    return str(ULID())


class Exchange:
    """The app's one middleware; a plain ASGI one, since ``@app.middleware("http")`` costs a
    third of a millisecond per request (bench/README.md)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, body_timeout: float) -> None:
        self.app = app
        self.metrics = metrics
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        # Not reset on the way out: what uvicorn logs about this request after the app returns
        # (its access log line) runs in this request's task and names the id too.
        logs.request_id.set(rid)
        answered: int | None = None  # the status of the answer, once it has started
        body_read = stalled = False

        async def receive_in_time() -> Message:
            nonlocal body_read, stalled
            if stalled:
                return _DISCONNECT
            if body_read:  # what comes now is the client leaving, whenever it does
                return await receive()
            with anyio.move_on_after(self.body_timeout):
                message = await receive()
                body_read = not message.get("more_body", False)
                return message
            stalled = True
            return _DISCONNECT

        async def send_marked(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_marked)
        except ClientDisconnect:
            if stalled and answered is None:
                log.info(
                    "no piece of the request body for %g s: %s %s; answered 408",
                    self.body_timeout,
                    scope["method"],
                    scope["path"],
                )
                await self._too_slow(scope, receive_in_time, send_marked)
            else:
                log.info("the client left before its answer: %s %s", scope["method"], scope["path"])
                answered = answered or CLIENT_CLOSED
        except Exception:
            log.exception("unexpected error on %s", scope["path"])
            if answered is None:
                internal = problems.problem_response(Internal(), instance=scope["path"])
                await internal(scope, receive_in_time, send_marked)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            status = 500 if answered is None else answered
            self.metrics.requests.labels(path, scope["method"], str(status)).inc()

    async def _too_slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Connection: close, since the rest of the body may still come: nobody will read it.
        answer = problems.http_problem(
            408,
            f"no part of the request body came for {self.body_timeout:g} seconds",
            instance=scope["path"],
            headers={"Connection": "close"},
        )
        await answer(scope, receive, send)


def describe(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add to the OpenAPI description what every exchange may answer: the request id on every
    answer, and 408 to every operation that reads a body."""
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            if "requestBody" in operation:
                answers.setdefault(
                    "408",
                    problems.http_response(
                        408, "the request body stopped coming (GATEWAY_BODY_READ_TIMEOUT)"
                    ),
                )
            for status, answer in answers.items():
                # A new mapping: FastAPI shares the routes' own ``headers`` dicts with this one.
                answers[status] = {**answer, "headers": {**answer.get("headers", {}), **_HEADER}}
    return openapi


_HEADER = {
    REQUEST_ID: {
        "description": "the request's id, in every log line of it: the caller's X-Request-ID "
        "if it is 1 to 64 letters, digits, '.', '_' or '-' and holds no personal identifier, "
        "else a ULID",
        "required": True,
        "schema": {"type": "string", "pattern": f"^{_CALLER_ID.pattern}$"},
    }
}
