"""The machine's PostgreSQL for tests: a schema of its own per test, dropped afterwards, and a
loopback TCP relay in front of the server that a test can cut to take the database away."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest
from ulid import ULID

MACHINE_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
HOW_TO_GET_POSTGRES = (
    "the tests need a PostgreSQL at 127.0.0.1:5432 that lets user postgres in without a password "
    "from 127.0.0.1 (trust); .ci/run starts one"
)


def in_schema(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    return f"{url}?options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def fresh_schema(server: str = MACHINE_POSTGRES) -> Iterator[str]:
    """A URL of the machine's server whose connections work in a new, empty schema, dropped
    (with everything in it) when the block ends."""
    schema = f"gw_test_{str(ULID()).lower()}"
    try:
        admin = psycopg.connect(MACHINE_POSTGRES, autocommit=True, connect_timeout=2)
    except psycopg.OperationalError as exc:
        pytest.fail(f"{HOW_TO_GET_POSTGRES} ({exc})")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield in_schema(server, schema)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


class Relay:
    """A TCP relay on a loopback port to the machine's PostgreSQL. ``cut()`` closes the port and
    every connection through it (the server seems down); ``restore()`` listens again on the same
    port. The server itself, which other tests share, is never touched."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self._target = target
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _listen(self, port: int) -> socket.socket:
        listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return listener

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        # A bare close() does not wake the thread blocked in accept(), which would go on
        # accepting; shutdown() does (EINVAL on Linux).
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
            link.close()

    def restore(self) -> None:
        self._listener = self._listen(self.port)

    def close(self) -> None:
        self.cut()
