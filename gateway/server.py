"""Serving with uvicorn: in this process, or in several worker processes that each listen on a
socket of their own (``SO_REUSEPORT``), so that the kernel spreads connections over them; and a
partner simulator in a thread (``ServerThread``).

uvicorn's own ``--workers`` shares one listening socket. When connections arrive together, the
first worker to wake accepts all it finds queued (asyncio accepts until the queue is empty), and
keep-alive connections stay where they were accepted: the 8 connections of a ``gateway ingest``
all went to one worker in one run of three, while the other idled (bench/README.md, "Workers").
With a socket per worker, the kernel picks the socket of each new connection by a hash of its
addresses, and a worker that dies takes its socket out of the choice.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from gateway import logs

log = logging.getLogger(__name__)

_spawn = multiprocessing.get_context("spawn")


def run(app: Any, *, host: str, port: int, workers: int = 1, **options: Any) -> None:
    """Serve ``app`` like ``uvicorn.run(app, host=, port=, **options)``; with several workers,
    ``app`` is an import string (each worker imports it) and ``port`` a fixed port."""
    if workers <= 1:
        uvicorn.run(app, host=host, port=port, **options)
        return
    if not isinstance(app, str) or port == 0:
        raise ValueError("several workers need the application as an import string and a port")
    # Only sockets that all set SO_REUSEPORT share a port: this refuses a port where another
    # server (another gateway too) already listens, instead of sharing its connections.
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    _Supervisor(app, host, port, options).run(workers)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _Worker(uvicorn.Server):
    """A uvicorn server that tells its supervisor when it has started serving."""

    def __init__(self, config: uvicorn.Config, started: Event) -> None:
        super().__init__(config)
        self._started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._started.set()


def _work(app: str, host: str, port: int, options: dict[str, Any], started: Event) -> None:
    """One worker process: its own socket, its own event loop, its own gateway."""
    logs.configure()
    worker = _Worker(uvicorn.Config(app, host=host, port=port, **options), started)
    worker.run(sockets=[_listening_socket(host, port)])


class _Supervisor:
    """Starts the workers, replaces one that dies, and stops them all on SIGINT or SIGTERM."""

    def __init__(self, app: str, host: str, port: int, options: dict[str, Any]) -> None:
        self._args = (app, host, port, options)
        self._stop = threading.Event()

    def _start(self) -> tuple[SpawnProcess, Event]:
        started = _spawn.Event()
        process = _spawn.Process(target=_work, args=(*self._args, started), name="gateway-worker")
        process.start()
        return process, started

    def run(self, count: int) -> None:
        handlers = {
            sig: signal.signal(sig, lambda *_: self._stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        workers = [self._start() for _ in range(count)]
        try:
            while not self._stop.wait(0.5):
                for n, (process, started) in enumerate(workers):
                    if process.is_alive():
                        continue
                    if not started.is_set():
                        log.error("worker %s failed to start; stopping", process.pid)
                        raise SystemExit(STARTUP_FAILURE)
                    log.warning(
                        "worker %s exited (%s); starting another", process.pid, process.exitcode
                    )
                    workers[n] = self._start()
        finally:
            for process, _ in workers:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn finishes the requests in progress
            for process, _ in workers:
                process.join()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


class ServerThread:
    """An ASGI app served by uvicorn in a thread on a loopback port (``port=0``: a free one), for
    partner simulators in tests and the demo; ``start`` and ``stop`` may alternate, on the same
    port, to take the partner down and up."""

    def __init__(
        self, app: Any, *, name: str = "server", host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.app = app
        self.name = name
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_config=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive():  # uvicorn logged why: the port is taken, mostly
                raise OSError(f"the {self.name} could not listen on {self.host}:{self.port}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} did not start")
            time.sleep(0.01)
        if self.port == 0:
            self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
