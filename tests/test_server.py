"""``gateway serve --workers N``: each worker listens on its own socket and takes a share of the
connections; TLS and client certificates work in every worker; Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from gateway.trust.devpki import pem, write_identity
from tests.conftest import Pki, free_port
from tests.support.process import ServerProcess, environment

WORKERS = 2


def serve(port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", "serve", "--workers", str(WORKERS),
            "--port", str(port), *options]  # fmt: skip


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def sockets_of(pids: set[int], port: int, state: str) -> Counter[int]:
    """TCP sockets on local ``port`` in ``state`` (/proc/net/tcp: 0A listening, 01 established),
    counted by the process that holds them."""
    owner = {}
    for pid in pids:
        try:
            targets = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except FileNotFoundError:
            continue  # the process ended, or closed a file, meanwhile
        for target in targets:
            if target.startswith("socket:["):
                owner[target[8:-1]] = pid
    counts: Counter[int] = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, inode = int(fields[1].split(":")[1], 16), fields[9]
        if local_port == port and fields[3] == state and inode in owner:
            counts[owner[inode]] += 1
    return counts


def listening_workers(server: ServerProcess, port: int) -> set[int]:
    """The workers, once every one of them listens (readiness of one is not readiness of all)."""
    assert server.process is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = children(server.process.pid)
        listening = sockets_of(workers, port, "0A")
        if len(listening) == WORKERS:
            return set(listening)
        time.sleep(0.1)
    raise AssertionError(f"{WORKERS} workers did not all listen: {server.output()}")


@pytest.fixture
def port() -> int:
    return free_port()


def test_every_worker_listens_and_takes_a_share_of_the_connections(
    settings: Settings, tmp_path: Path, port: int
) -> None:
    url = f"http://127.0.0.1:{port}"
    # 64 connections from one address: more than one source may hold by default (32 a worker).
    env = environment(settings.model_copy(update={"max_connections_per_source": 64}))
    with ServerProcess(serve(port), url=url, env=env, cwd=tmp_path) as server:
        workers = listening_workers(server, port)
        with ExitStack() as stack:
            connections = [stack.enter_context(socket.socket()) for _ in range(64)]
            # Connected in one burst, as gateway ingest's event loop opens its connections: on
            # a socket shared by the workers, the first to wake took most or all of them.
            for connection in connections:
                connection.setblocking(False)
                connection.connect_ex(("127.0.0.1", port))
            for connection in connections:
                connection.setblocking(True)
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
            assert {c.recv(65536).split(b"\r\n")[0] for c in connections} == {b"HTTP/1.1 200 OK"}
            served = sockets_of(workers, port, "01")
        # Hashed over 2 sockets, fewer than 12 of 64 for one worker happens once in 10**7 runs.
        assert served.total() == 64 and min(served[worker] for worker in workers) >= 12
        assert server.process is not None
        server.stop()
        assert server.process.returncode == 0
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_a_worker_that_dies_is_replaced(settings: Settings, tmp_path: Path, port: int) -> None:
    url = f"http://127.0.0.1:{port}"
    with ServerProcess(serve(port), url=url, env=environment(settings), cwd=tmp_path) as server:
        first = listening_workers(server, port)
        dead = min(first)
        os.kill(dead, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while dead in (now := listening_workers(server, port)):  # not yet gone
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        assert len(now - first) == 1  # the survivor, and a new worker in place of the dead one
        assert httpx.get(f"{url}/readyz").status_code == 200


@pytest.fixture
def tls_files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    """The server's certificate and key (any issued pair will do), the partners' CA bundle and
    the hospital's client certificate and key."""
    server_key, server_cert = pki.key_files("gateway")
    bundle = tmp_path / "partners-ca.pem"
    bundle.write_bytes(pem(pki.root.certificate) + pem(pki.issuing.certificate))
    client_key, client_cert = tmp_path / "hospital.key.pem", tmp_path / "hospital.cert.pem"
    write_identity(pki.hospital, client_key, client_cert)
    return {"cert": server_cert, "key": server_key, "bundle": bundle,
           "client_cert": client_cert, "client_key": client_key}  # fmt: skip


def test_workers_terminate_tls_and_read_client_certificates(
    settings: Settings, tmp_path: Path, port: int, tls_files: dict[str, Path]
) -> None:
    options = ("--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"]),
               "--tls-client-ca", str(tls_files["bundle"]))  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    # The test checks the server's side of TLS; the client does not check the server's name.
    anyone = ssl.create_default_context()
    anyone.check_hostname, anyone.verify_mode = False, ssl.CERT_NONE
    hospital = ssl.create_default_context()
    hospital.check_hostname, hospital.verify_mode = False, ssl.CERT_NONE
    hospital.load_cert_chain(tls_files["client_cert"], tls_files["client_key"])
    with ServerProcess(
        serve(port, *options), url=url, env=environment(settings), cwd=tmp_path, verify=anyone
    ) as server:
        listening_workers(server, port)
        unknown = "/api/v1/receipts/01J00000000000000000000000"
        # 16 new connections: all on one worker would happen once in 2**15 runs.
        for _ in range(8):
            with httpx.Client(base_url=url, verify=hospital) as http:
                assert http.get(unknown).status_code == 404  # authenticated by the certificate
            with httpx.Client(base_url=url, verify=anyone) as http:
                assert http.get(unknown).status_code == 401
