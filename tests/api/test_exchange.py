"""One HTTP exchange over real HTTP: every answer and log line names its request id, a client
that leaves mid-body is one INFO line (no error, no traceback), a body that stops coming is
answered 408, and an unexpected failure is logged once."""

from __future__ import annotations

import io
import logging
import re
import socket
import time
from collections.abc import Iterator

import pytest

from gateway import logs
from gateway.bootstrap import build
from gateway.config import Settings
from tests.conftest import HOSPITAL, TOKENS, Served

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
DEADLINE = 10.0  # seconds: generous, so that a broken server fails the test instead of hanging it
WAIT = 0.5  # the patient gateway's GATEWAY_BODY_READ_TIMEOUT


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the gateway's own log handler (format, masking, request id) writes, from INFO."""
    output = io.StringIO()
    handler = logs.handler(output)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield output
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def patient(settings: Settings) -> Iterator[Served]:
    """A gateway that waits WAIT seconds for the next piece of a request body."""
    gateway = build(settings.model_copy(update={"body_read_timeout": WAIT}))
    with Served(gateway) as served:
        yield served
    gateway.close()


def head(path: str, content_type: str, *, length: int, request_id: str = "") -> bytes:
    """The head of a POST whose body will be ``length`` bytes, as the hospital."""
    lines = [f"POST {path} HTTP/1.1", "Host: gateway", f"Content-Type: {content_type}",
             f"Content-Length: {length}", f"Authorization: Bearer {TOKENS[HOSPITAL]}"]  # fmt: skip
    if request_id:
        lines.append(f"X-Request-ID: {request_id}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# Every body reader: REST, SOAP, and the VSS portal's (whose _answering renders its errors).
READERS = {
    "rest": ("/api/v1/claims", "application/xml"),
    "soap": ("/soap/claims", "text/xml"),
    "portal": ("/api/token/take", "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_client_that_leaves_mid_body_is_one_info_line_with_its_request_id(
    served: Served, log_output: io.StringIO, reader: str
) -> None:
    request_id = f"left-mid-body-{reader}"
    with socket.create_connection(("127.0.0.1", served.port)) as client:
        client.sendall(head(*READERS[reader], length=10_000, request_id=request_id))
        client.sendall(b"<a>" * 500)
        time.sleep(0.2)  # the server reads what came, and waits for the rest
    served.wait_idle()
    lines = log_output.getvalue().splitlines()
    mine = [line for line in lines if request_id in line]
    assert len(mine) == 1, lines
    assert " INFO " in mine[0] and "left" in mine[0], mine
    assert not [line for line in lines if " ERROR " in line or "Traceback" in line], lines


def test_an_unexpected_failure_is_logged_once_with_its_request_id(
    served: Served, log_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> bytes:
        raise RuntimeError("a bug")

    monkeypatch.setattr(served.gateway.metrics, "exposition", broken)
    with served.client(None) as http:
        answer = http.get("/metrics", headers={"X-Request-ID": "the-bug"})
    served.wait_idle()
    assert answer.status_code == 500 and answer.headers["x-request-id"] == "the-bug"
    output = log_output.getvalue()
    assert output.count("Traceback") == 1, output
    assert re.search(r"ERROR .*\[the-bug\].*unexpected error on /metrics", output), output


def test_every_answer_names_its_request_id(served: Served, log_output: io.StringIO) -> None:
    with served.client(None) as http:
        made = http.get("/healthz")
        kept = http.get("/healthz", headers={"X-Request-ID": "probe-7.a_B"})
        problem = http.get("/api/v1/nothing", headers={"X-Request-ID": "probe-8"})
        refused = [
            http.get("/healthz", headers={"X-Request-ID": value}).headers["x-request-id"]
            for value in ("two words", "x" * 65, "079201012345", "a\\b")
        ]
    assert ULID.fullmatch(made.headers["x-request-id"])
    assert kept.headers["x-request-id"] == "probe-7.a_B"
    assert problem.status_code == 404 and problem.headers["x-request-id"] == "probe-8"
    # Not a short token of letters, digits, '.', '_', '-', or one holding a citizen ID: the
    # gateway makes its own rather than write it into its logs.
    assert all(ULID.fullmatch(value) for value in refused), refused
    served.wait_idle()
    # uvicorn's access log line is one of the request's lines: it carries the id too.
    assert re.search(r"\[probe-8\].*GET /api/v1/nothing", log_output.getvalue())


def test_a_body_that_stops_coming_is_answered_408_and_closed(patient: Served) -> None:
    with socket.create_connection(("127.0.0.1", patient.port), timeout=DEADLINE) as client:
        client.sendall(head(*READERS["rest"], length=10_000))
        client.sendall(b"<a>")
        answer = b""
        while chunk := client.recv(65536):  # until the server closes the connection
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in answer.lower() and b'"status":408' in answer


def test_a_body_that_keeps_coming_slowly_is_read_whole(patient: Served) -> None:
    # Every piece comes well within the wait, the whole body does not: the wait is per piece.
    body = b"<GIAMDINHHS>" + b" " * 150 + b"</GIAMDINHHS>"
    pieces = [body[i : i + 10] for i in range(0, len(body), 10)]
    gap = WAIT / 5
    assert len(pieces) * gap > 2 * WAIT

    def slowly() -> Iterator[bytes]:
        for piece in pieces:
            time.sleep(gap)
            yield piece

    with patient.client() as http:
        answer = http.post(
            "/api/v1/claims", content=slowly(), headers={"Content-Type": "application/xml"}
        )
    assert (answer.status_code, answer.json()["code"]) == (400, "SIGNATURE_MISSING"), answer.text
