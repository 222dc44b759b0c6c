"""VSS-portal bodies over real HTTP: a form or JSON body is bounded by the document limit and read
as it arrives (refused as soon as it is over, nothing stored), whatever its encoding; its fields
are the guide's, each once and within its bound; Content-Length lies change nothing."""

from __future__ import annotations

import base64
import binascii
import socket
import tracemalloc
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import orjson
import pytest

from gateway.api.vss_portal import forms, urlencoded
from gateway.bootstrap import build
from gateway.config import Settings
from tests.conftest import HOSPITAL, Pki, Served, counts
from tests.e2e.test_vss_portal import (
    NOTHING,
    MovableClock,
    claim_batch,
    legacy_partner_file,
    logged_in,
    visit,
)
from tests.support.vss_portal_client import SERVICES, VssPortalClient

LIMIT = 64 * 1024  # GATEWAY_MAX_BODY_BYTES of these gateways: over-limit bodies stay cheap
DEADLINE = 30.0  # seconds a raw client waits for an answer: a hang fails instead of blocking
CLAIMS = SERVICES["claims"][0]
FORM = "application/x-www-form-urlencoded"
Opener = Callable[[int], Served]


@pytest.fixture
def open_portal(settings: Settings, pki: Pki) -> Iterator[Opener]:
    """``open_portal(max_body_bytes)``: a portal gateway with that document limit."""
    path = legacy_partner_file(pki, settings.partners.with_name("partners-legacy.toml"))
    with ExitStack() as stack:

        def open_(max_body_bytes: int) -> Served:
            update = {"partners": path, "max_body_bytes": max_body_bytes}
            gateway = build(settings.model_copy(update=update), clock=MovableClock())
            stack.callback(gateway.close)
            return stack.enter_context(Served(gateway))

        yield open_


@pytest.fixture
def portal(open_portal: Opener) -> Served:
    return open_portal(LIMIT)


def percent_encoded(text: bytes) -> bytes:
    """Every byte as %XX, the longest form encoding there is."""
    return b"%" + binascii.hexlify(text, "%").upper()


def form_body(
    client: VssPortalClient, *, document: bytes = b"", file: bytes | None = None
) -> bytes:
    """The claims form of ``client``, ``fileHSBase64`` last: ``file`` as given (already
    encoded), else the base64 of ``document`` encoded as httpx encodes forms."""
    fields = client.form("claims", document)
    encoded = urllib.parse.urlencode(fields).encode("ascii")
    if file is None:
        return encoded
    return encoded.split(b"&fileHSBase64=")[0] + b"&fileHSBase64=" + file


def post(client: VssPortalClient, body: bytes, content_type: str = FORM) -> dict[str, Any]:
    headers = {**client.headers(), "Content-Type": content_type}
    answer = client.http.post(CLAIMS, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def original(served: Served, transaction: str) -> bytes:
    """The bytes stored for the (one-record) submission ``transaction``."""
    with served.client(HOSPITAL) as http:
        receipt = http.get(f"/api/v1/receipts/{transaction}").json()
        record_id = receipt["results"][0]["record_id"]
        return http.get(f"/api/v1/claims/{record_id}/original").content


def exactly(pki: Pki, size: int) -> bytes:
    """A signed one-visit batch of exactly ``size`` bytes: white space after its root element,
    which the signature does not cover; ``size`` not a multiple of 3, so its base64 is padded."""
    assert size % 3
    document = claim_batch(pki, [visit(61)])
    return document + b"\n" * (size - len(document))


# --- Raw HTTP, for what httpx will not send ------------------------------------------------------


def head(client: VssPortalClient, served: Served, framing: str) -> bytes:
    lines = [f"POST {CLAIMS} HTTP/1.1", f"Host: 127.0.0.1:{served.port}", framing]
    lines += [f"{name}: {value}" for name, value in client.headers().items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(piece: bytes) -> bytes:
    return f"{len(piece):x}\r\n".encode() + piece + b"\r\n"


def read_answer(connection: socket.socket) -> tuple[bytes, dict[str, Any]]:
    """The status line and JSON body of the first answer on ``connection``."""
    connection.settimeout(DEADLINE)
    data = b""
    while b"\r\n\r\n" not in data:
        received = connection.recv(65536)
        assert received, f"the connection closed without an answer: {data!r}"
        data += received
    head_bytes, body = data.split(b"\r\n\r\n", 1)
    status, *lines = head_bytes.decode("latin-1").split("\r\n")
    fields = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    while len(body) < int(fields["content-length"]):
        body += connection.recv(65536)
    return status.encode(), orjson.loads(body)


def connect(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), DEADLINE)


# --- Bounds --------------------------------------------------------------------------------------


def test_a_document_over_the_limit_is_refused_while_its_form_streams(
    portal: Served, pki: Pki
) -> None:
    # Plain base64 of LIMIT + 1 bytes, in 4 KiB chunks, the body never ended: the answer comes
    # once the document is over the limit, not once the body is all read.
    with logged_in(portal) as client, connect(portal) as connection:
        body = form_body(client, file=base64.b64encode(b"\x00" * (LIMIT + 1)))
        connection.sendall(head(client, portal, "Transfer-Encoding: chunked"))
        for start in range(0, len(body), 4096):
            connection.sendall(chunked(body[start : start + 4096]))
        status, answer = read_answer(connection)
    assert status == b"HTTP/1.1 200 OK"
    assert answer["maKetQua"] == "413"
    assert answer["thongDiep"].startswith("XML_TOO_LARGE"), answer
    assert counts(portal.gateway) == NOTHING


def test_a_document_of_the_limit_every_byte_percent_encoded_is_received_exactly(
    open_portal: Opener, pki: Pki
) -> None:
    document = exactly(pki, 40_001)
    served = open_portal(len(document))
    with logged_in(served) as client:
        body = form_body(client, file=percent_encoded(base64.b64encode(document)))
        bound = forms.SUBMISSION.body_limit(len(document), expansion=urlencoded.EXPANSION)
        assert len(body) <= bound  # the largest form the document makes is within the bound
        answer = post(client, body)
    assert answer["maKetQua"] == "200", answer
    assert original(served, answer["maGiaoDich"]) == document


def test_a_document_one_byte_over_the_limit_is_too_large(open_portal: Opener, pki: Pki) -> None:
    document = exactly(pki, 40_001)
    served = open_portal(len(document) - 1)
    with logged_in(served) as client:
        answer = post(client, form_body(client, document=document))
    assert answer["maKetQua"] == "413", answer
    assert counts(served.gateway) == NOTHING


def test_a_percent_encoded_form_costs_no_object_per_byte(open_portal: Opener) -> None:
    # parse_qsl made an object of every escape: 20 MiB of them took 1.9 GB. This document is no
    # XML, so that what is measured is the form and not the pipeline.
    document = b"\x00" * 3 * 349_525  # 1 MiB less a byte: base64 without padding
    served = open_portal(len(document))
    with logged_in(served) as client:
        body = form_body(client, file=percent_encoded(base64.b64encode(document)))
        tracemalloc.start()
        try:
            answer = post(client, body)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert answer["maKetQua"] == "400", answer
    assert peak < len(body), f"{peak} bytes at the peak for a body of {len(body)}"


def test_a_json_body_with_every_character_escaped_is_received_exactly(
    open_portal: Opener, pki: Pki
) -> None:
    document = exactly(pki, 40_001)
    served = open_portal(len(document))
    with logged_in(served) as client:
        fields = client.form("claims", document)
        escaped = "".join(f"\\u{ord(c):04x}" for c in fields.pop("fileHSBase64"))
        body = orjson.dumps(fields)[:-1] + b',"fileHSBase64":"' + escaped.encode() + b'"}'
        answer = post(client, body, "application/json")
    assert answer["maKetQua"] == "200", answer
    assert original(served, answer["maGiaoDich"]) == document


# --- Fields --------------------------------------------------------------------------------------


Fault = tuple[Callable[[bytes], bytes], str, str]  # the edit of a body, maKetQua, SPEC code
FORM_FAULTS: dict[str, Fault] = {
    "repeated": (lambda body: body + b"&username=01929_BV", "400", "XML_MALFORMED"),
    "repeated-other-case": (lambda body: body + b"&UserName=01929_BV", "400", "XML_MALFORMED"),
    "unknown": (lambda body: b"ghiChu=x&" + body, "400", "XML_MALFORMED"),
    "over-its-bound": (
        lambda body: body.replace(b"maTinh=01", b"maTinh=" + b"0" * 300),
        "413",
        "XML_TOO_LARGE",
    ),
    "bad-escape": (lambda body: body.replace(b"=", b"=%zz", 1), "400", "XML_MALFORMED"),
    "bad-escape-in-file": (lambda body: body + b"%4", "400", "XML_MALFORMED"),
    "too-many-pairs": (lambda body: body + b"&" * 40, "400", "XML_MALFORMED"),
}


@pytest.mark.parametrize("fault", FORM_FAULTS)
def test_a_form_field_repeated_unknown_or_over_its_bound_is_refused(
    portal: Served, pki: Pki, fault: str
) -> None:
    edit, ma_ket_qua, code = FORM_FAULTS[fault]
    with logged_in(portal) as client:
        answer = post(client, edit(form_body(client, document=claim_batch(pki, [visit(62)]))))
    assert (answer["maKetQua"], answer["thongDiep"].split(":")[0]) == (ma_ket_qua, code)
    assert counts(portal.gateway) == NOTHING


JSON_FAULTS: dict[str, Fault] = {
    "repeated": (lambda body: body[:-1] + b',"username":"01929_BV"}', "400", "XML_MALFORMED"),
    "unknown": (lambda body: b'{"ghiChu":"x",' + body[1:], "400", "XML_MALFORMED"),
    "not-a-string": (lambda body: b'{"maTinh":["01"],' + body[1:], "400", "XML_MALFORMED"),
    "over-its-bound": (
        lambda body: body.replace(b'"maTinh":"01"', b'"maTinh":"' + b"0" * 300 + b'"'),
        "413",
        "XML_TOO_LARGE",
    ),
    "trailing-data": (lambda body: body + b"{}", "400", "XML_MALFORMED"),
}


@pytest.mark.parametrize("fault", JSON_FAULTS)
def test_a_json_field_repeated_unknown_or_over_its_bound_is_refused(
    portal: Served, pki: Pki, fault: str
) -> None:
    edit, ma_ket_qua, code = JSON_FAULTS[fault]
    with logged_in(portal) as client:
        fields = client.form("claims", claim_batch(pki, [visit(63)]))
        answer = post(client, edit(orjson.dumps(fields)), "application/json")
    assert (answer["maKetQua"], answer["thongDiep"].split(":")[0]) == (ma_ket_qua, code)
    assert counts(portal.gateway) == NOTHING


# --- Content-Length lies -------------------------------------------------------------------------


def test_a_content_length_over_the_bound_is_refused_before_the_body(portal: Served) -> None:
    bound = forms.SUBMISSION.body_limit(LIMIT, expansion=urlencoded.EXPANSION)
    with logged_in(portal) as client, connect(portal) as connection:
        connection.sendall(head(client, portal, f"Content-Length: {bound + 1}"))
        status, answer = read_answer(connection)  # not a byte of the body sent
    assert (status, answer["maKetQua"]) == (b"HTTP/1.1 200 OK", "413")
    assert counts(portal.gateway) == NOTHING


def test_a_content_length_shorter_than_the_body_reads_only_what_it_declares(
    portal: Served, pki: Pki
) -> None:
    with logged_in(portal) as client, connect(portal) as connection:
        body = form_body(client, document=claim_batch(pki, [visit(64)]))
        connection.sendall(head(client, portal, f"Content-Length: {len(body) // 2}") + body)
        status, answer = read_answer(connection)
        connection.settimeout(DEADLINE)
        rest = connection.recv(65536)  # the other half is no request
    assert (status, answer["maKetQua"]) == (b"HTTP/1.1 200 OK", "400")
    assert rest == b"" or rest.startswith(b"HTTP/1.1 400 ")
    # The half read is a truncated document: refused with its rejection receipt, nothing else.
    assert counts(portal.gateway) | {"receipts": 0} == NOTHING


def test_a_body_shorter_than_its_content_length_stores_nothing(portal: Served, pki: Pki) -> None:
    with logged_in(portal) as client:
        body = form_body(client, document=claim_batch(pki, [visit(65)]))
        with connect(portal) as connection:
            connection.sendall(head(client, portal, f"Content-Length: {len(body) + 100}") + body)
            connection.shutdown(socket.SHUT_WR)  # the client gives up before the declared end
            connection.settimeout(DEADLINE)
            while connection.recv(65536):  # until the gateway closes the connection
                pass
        assert counts(portal.gateway) == NOTHING
        # The gateway still serves, and the same form, sent whole, is received.
        assert post(client, body)["maKetQua"] == "200"
