"""Per-connection limits over real HTTP: a client gets a bounded time to send a request's head
(slowloris), and one source address a bounded number of connections, a trusted proxy excepted."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from gateway.bootstrap import build
from gateway.config import Settings
from tests.conftest import Served

DEADLINE = 10.0  # seconds: generous, so that a broken server fails the test instead of hanging it
CAP = 3
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"


@pytest.fixture
def guarded(settings: Settings) -> Iterator[Served]:
    """A gateway that gives a client 0.5 s for a request's head and CAP connections."""
    update = {"header_read_timeout": 0.5, "max_connections_per_source": CAP}
    gateway = build(settings.model_copy(update=update))
    with Served(gateway) as served:
        yield served
    gateway.close()


def connect(served: Served, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), DEADLINE, (source, 0))


def closed_by_server(client: socket.socket) -> bool:
    """True once the server has closed ``client`` (within DEADLINE), False if it stays open."""
    client.settimeout(DEADLINE)
    try:
        return client.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def answered(client: socket.socket) -> bytes:
    client.sendall(HEALTHZ)
    return client.recv(65536).split(b"\r\n")[0]


def test_a_client_that_sends_nothing_is_cut_off(guarded: Served) -> None:
    with connect(guarded) as client:
        assert closed_by_server(client)


def cut_off_while_sending(client: socket.socket, piece: bytes) -> bool:
    """Send ``piece`` every 0.1 s: True once the server has closed ``client`` (within
    DEADLINE), False if it keeps it open all that time."""
    client.settimeout(0.1)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            client.sendall(piece)
            if client.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return True
    return False


def test_a_head_sent_a_few_bytes_at_a_time_is_cut_off(guarded: Served) -> None:
    # Each line comes well within 0.5 s, the whole head never does: the time is for the head.
    with connect(guarded) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n")
        assert cut_off_while_sending(client, b"X-Slow: yes\r\n")


def test_a_body_trickled_after_the_answer_is_cut_off(guarded: Served) -> None:
    # Refused before its body is read (no credential), the client keeps sending that body:
    # nobody reads it, and the connection is not kept for it.
    with connect(guarded) as client:
        client.sendall(b"POST /api/v1/claims HTTP/1.1\r\nHost: gateway\r\n"
                       b"Content-Length: 100000\r\n\r\n<a>")  # fmt: skip
        assert client.recv(65536).startswith(b"HTTP/1.1 401 ")
        assert cut_off_while_sending(client, b"<b/>")


def test_connections_over_the_cap_from_one_source_are_refused_while_others_are_served(
    guarded: Served,
) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(connect(guarded)) for _ in range(CAP)]
        assert {answered(client) for client in held} == {b"HTTP/1.1 200 OK"}  # all counted
        with connect(guarded) as extra:
            assert closed_by_server(extra)
        with connect(guarded, "127.0.0.2") as other:
            assert answered(other) == b"HTTP/1.1 200 OK"
        held.pop().close()
        # A slot freed is a slot given again (once the server has seen the close).
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            with connect(guarded) as again:
                try:
                    if answered(again) == b"HTTP/1.1 200 OK":
                        break
                except ConnectionResetError:
                    pass
            time.sleep(0.05)
        else:
            pytest.fail("a closed connection still counts against its source")


def test_a_trusted_proxy_is_not_capped(settings: Settings) -> None:
    # All the proxy's clients share its address: the proxy limits them itself.
    update = {"max_connections_per_source": 1, "trusted_proxies": ["127.0.0.1/32"]}
    gateway = build(settings.model_copy(update=update))
    with Served(gateway) as served, ExitStack() as stack:
        clients = [stack.enter_context(httpx.Client(base_url=served.url)) for _ in range(3)]
        assert {client.get("/healthz").status_code for client in clients} == {200}
    gateway.close()
