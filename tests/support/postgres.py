"""The machine's PostgreSQL for tests: a schema of its own per test, dropped afterwards, and a
loopback TCP relay in front of the server that a test can cut to take the database away; and a
server of a test's own, made with the machine's binaries, that the test may stop and restart; and
a schema as it was before a migration, to write the rows of older releases."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from ulid import ULID

from gateway.store import pg_schema

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


class PrivateServer:
    """A PostgreSQL server of one test's own on ``port``: a throwaway cluster (trust auth, fsync
    and synchronous_commit on, as the store requires) made by the machine's newest
    ``/usr/lib/postgresql/*/bin``, run as user postgres when the tests run as root (the server
    refuses root), in a folder of its own under the system's temporary directory (pytest's
    ``tmp_path`` is closed to other users), stopped and removed when the block ends."""

    def __init__(self, port: int) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_version)
        if not found:
            pytest.fail(f"no PostgreSQL binaries under /usr/lib/postgresql; {HOW_TO_GET_POSTGRES}")
        self._bin = found[-1].parent
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-test-pg-"))
        self._data = self.folder / "data"
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self._as_owner = ["runuser", "-u", "postgres", "--"]

    def __enter__(self) -> PrivateServer:
        try:
            self._run(
                "initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if (self._data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        # Output to a file, not a pipe: a server that pg_ctl starts inherits it and keeps it open.
        argv = [*self._as_owner, str(self._bin / tool), *args]
        with (self.folder / "tools.log").open("ab") as out:
            done = subprocess.run(argv, stdout=out, stderr=out, timeout=120, check=False)
        if done.returncode != 0:
            logs = [self.folder / "tools.log", self.folder / "server.log"]
            tail = "".join(log.read_text(errors="replace")[-2000:] for log in logs if log.exists())
            raise RuntimeError(f"{argv} failed ({done.returncode}): {tail}")

    def _pg_ctl(self, action: str, *args: str) -> None:
        log = str(self.folder / "server.log")
        self._run("pg_ctl", action, "-D", str(self._data), "-w", "-l", log, *args)

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.folder}"
        )
        self._pg_ctl("start", "-o", options)

    def stop(self) -> None:
        """Stop it as an operator's restart does: sessions ended, transactions rolled back."""
        self._pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: stopped as ``stop`` does, started again at once."""
        self._pg_ctl("restart", "-m", "fast")


def _version(pg_ctl: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in pg_ctl.parent.parent.name.split(".") if part.isdigit())


@contextlib.contextmanager
def before_migration(url: str, name: str) -> Iterator[psycopg.Connection]:
    """A connection to ``url``'s schema migrated up to just before the migration ``name``, this
    month's partitions made, to write rows as they were stored then; the schema is migrated to
    the newest when the block ends."""
    (version,) = [m.version for m in pg_schema.migrations() if m.name == name]
    pg_schema.upgrade(url, target=version - 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT gw_month_partitions(now(), 1)")
        yield conn
    pg_schema.upgrade(url)
