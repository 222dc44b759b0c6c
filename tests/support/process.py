"""Gateway commands run as child processes: one that serves HTTP (started, awaited until ready)
or one that does not (watched through what it prints), stopped or killed, with their output kept
for the assertion that needs it; and bounded waits on a condition."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx
import orjson

from gateway.config import Settings


def environment(settings: Settings) -> dict[str, str]:
    """This process's environment with ``settings`` as the GATEWAY_* variables that a
    ``gateway serve`` child reads."""
    chosen = settings.model_dump(mode="json", exclude_defaults=True)
    variables = {
        f"GATEWAY_{name.upper()}": value if isinstance(value, str) else orjson.dumps(value).decode()
        for name, value in chosen.items()
    }
    return {**os.environ, **variables}


class _ChildProcess:
    """``argv`` run as a child process, its output kept in a file beside ``cwd``'s other files."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: str) -> None:
        self.argv, self.env, self.cwd = list(argv), dict(env), cwd
        self.log = cwd / f"{log}-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )
        return self.process

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.running():
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


class ServerProcess(_ChildProcess):
    """``argv`` (a ``gateway serve`` or ``gateway demo``) serving ``url``, ready when
    ``/readyz`` answers 200."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        url: str,
        env: Mapping[str, str],
        cwd: Path,
        verify: ssl.SSLContext | bool = True,  # how to check the server's certificate (https)
    ) -> None:
        super().__init__(argv, env=env, cwd=cwd, log="server")
        self.url, self.verify = url, verify

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, timeout: float = 60) -> None:
        process = self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{self.argv} exited: {self.output()}")
            try:
                ready = httpx.get(f"{self.url}/readyz", timeout=1, verify=self.verify)
                if ready.status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.argv} did not become ready: {self.output()}")

    def stop(self) -> None:
        """Interrupt it as Ctrl-C does, and wait for it to end."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


class CommandProcess(_ChildProcess):
    """``argv`` (a ``gateway worker``, a queue consumer) that serves nothing: started, watched
    through what it prints, stopped by a signal."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> None:
        super().__init__(argv, env=env, cwd=cwd, log="command")

    def __enter__(self) -> CommandProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def start(self) -> None:
        self._spawn()

    def lines(self) -> list[str]:
        """What it printed, whole lines only (the last may still be being written)."""
        text = self.output()
        return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]

    def send(self, number: signal.Signals, *, timeout: float = 30) -> int:
        """Send it ``number`` and wait for its end: its exit status (negative: the signal)."""
        assert self.process is not None
        self.process.send_signal(number)
        return self.process.wait(timeout=timeout)


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = 60) -> None:
    """Return as soon as ``condition()`` holds; fail naming ``what`` if it does not within
    ``timeout`` seconds (a bound on a wait, not a measure of speed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)
