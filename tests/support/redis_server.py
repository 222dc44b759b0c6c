"""Private redis-server processes for tests that restart, kill or need a durable Redis."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.conftest import HOW_TO_GET_REDIS, free_port


class RedisServer:
    """A private redis-server on a loopback port, with its data dir; can be killed and restarted.
    As a context manager: started on entry, killed on exit."""

    def __init__(self, data_dir: Path, *config: str) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail(f"redis-server is not on PATH; {HOW_TO_GET_REDIS}")
        self.dir = data_dir
        self.port = free_port()
        self.config = config
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.dir), "--daemonize", "no", *self.config]
        with (self.dir / "redis.log").open("ab") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if client.ping():  # also waits out loading the AOF (BusyLoadingError)
                        return
                except redis.exceptions.ConnectionError:
                    if self._proc.poll() is not None or time.monotonic() > deadline:
                        log_text = (self.dir / "redis.log").read_text(errors="replace")
                        pytest.fail(f"redis-server on port {self.port} did not start:\n{log_text}")
                    time.sleep(0.02)
        finally:
            client.close()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def kill(self) -> None:
        """``kill -9``: no shutdown, no final fsync, no chance to write anything more."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def ensure_running(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = None
            self.start()


AOF_CONFIG = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")
NO_AOF_CONFIG = ("--appendonly", "no", "--save", "")
StartRedis = Callable[..., RedisServer]
