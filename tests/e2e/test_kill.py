"""Nothing receipted is lost: SIGKILL the gateway process right after receipts were sent."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from tests.conftest import HOSPITAL, TOKENS, free_port

AUTH = {"Authorization": f"Bearer {TOKENS[HOSPITAL]}"}


class GatewayProcess:
    """``gateway serve`` in a child process, configured by GATEWAY_* variables."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "GATEWAY_ENVIRONMENT": settings.environment,
            "GATEWAY_STORE_URL": settings.store_url,
            "GATEWAY_PARTNERS": str(settings.partners),
            "GATEWAY_TRUST_STORE": str(settings.trust_store),
            "GATEWAY_SIGNING_KEY": str(settings.signing_key),
            "GATEWAY_SIGNING_CERT": str(settings.signing_cert),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the gateway process did not become ready")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def process(settings: Settings, tmp_path: Path) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(settings)
    yield gateway
    gateway.stop()


def test_every_receipted_record_survives_sigkill(
    process: GatewayProcess, batch: Callable[..., bytes]
) -> None:
    bodies = [batch(2, seed=seed) for seed in range(100, 124)]
    process.start()

    def send(body: bytes) -> dict[str, object] | None:
        try:
            answer = httpx.post(
                f"{process.url}/api/v1/claims",
                content=body,
                headers={**AUTH, "Content-Type": "application/xml"},
                timeout=30,
            )
        except httpx.TransportError:
            return None  # cut off by the kill: no receipt, so nothing was promised
        assert answer.status_code == 200, answer.text
        receipt: dict[str, object] = answer.json()
        return receipt

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(send, body) for body in bodies]
        # Kill as soon as a first few receipts are back, while the others are in flight.
        while sum(f.done() for f in futures) < 6:
            time.sleep(0.005)
        process.kill()
        receipts = [r for r in (f.result() for f in futures) if r is not None]
    assert len(receipts) >= 6

    process.start()
    with httpx.Client(base_url=process.url, headers=AUTH, timeout=30) as http:
        for receipt in receipts:
            stored = http.get(f"/api/v1/receipts/{receipt['id']}")
            assert stored.status_code == 200
            assert stored.json()["sha256"] == receipt["sha256"]
            for result in receipt["results"]:  # type: ignore[attr-defined]
                record = http.get(f"/api/v1/claims/{result['record_id']}")
                assert record.status_code == 200
                assert record.json()["original"]["receipt_id"] == receipt["id"]
        # A receipted batch sent again after the restart gets its original receipt back.
        by_digest = {hashlib.sha256(body).hexdigest(): body for body in bodies}
        first = receipts[0]
        again = http.post(
            "/api/v1/claims",
            content=by_digest[str(first["sha256"])],
            headers={"Content-Type": "application/xml"},
        )
        assert again.status_code == 200
        assert (again.json()["id"], again.json()["duplicate"]) == (first["id"], True)
