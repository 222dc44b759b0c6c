"""The gateway on a PostgreSQL server that an operator restarts under load: requests during the
outage get 503 UNAVAILABLE with Retry-After, nothing receipted is lost, and the gateway answers
again by itself; /readyz shows the database and the connection pool throughout."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.store import pg_schema
from gateway.store.pg_database import POOL_SIZE
from tests.conftest import Served, free_port
from tests.support.postgres import PrivateServer
from tests.support.process import wait_until

XML = {"Content-Type": "application/xml"}
SENDERS = 4  # batches in flight at once


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    with PrivateServer(free_port()) as server:
        yield server


@pytest.fixture
def pg_gateway(
    settings: Settings, private_postgres: PrivateServer, tmp_path: Path
) -> Iterator[Gateway]:
    pg_schema.upgrade(private_postgres.url)
    gateway = build(
        settings.model_copy(
            update={
                "store_url": private_postgres.url,
                "dossier_store_url": f"sqlite:///{tmp_path / 'dossiers.sqlite3'}",
            }
        )
    )
    yield gateway
    gateway.close()


@dataclass
class Load:
    """Batches sent by ``SENDERS`` threads, each a new one, until ``stop``; every answer kept."""

    make: Callable[[int], bytes]
    served: Served
    answers: list[tuple[bytes, httpx.Response]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _seeds: Iterator[int] = field(default_factory=lambda: itertools.count(500))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self) -> None:
        with self.served.client() as http:
            while not self.stopping.is_set():
                with self._lock:
                    seed = next(self._seeds)
                body = self.make(seed)
                answer = http.post("/api/v1/claims", content=body, headers=XML, timeout=30)
                with self._lock:
                    self.answers.append((body, answer))

    def count(self, status: int) -> int:
        with self._lock:
            return sum(answer.status_code == status for _, answer in self.answers)

    def more(self, status: int, *, than: int, what: str) -> None:
        """Wait until more than ``than`` answers of ``status`` have come."""
        wait_until(lambda: self.count(status) > than, what=what)


def test_a_restart_of_postgres_under_load_loses_nothing_receipted(
    pg_gateway: Gateway, private_postgres: PrivateServer, batch: Callable[..., bytes]
) -> None:
    with Served(pg_gateway) as served, served.client() as http:
        load = Load(lambda seed: batch(2, seed=seed), served)
        with ThreadPoolExecutor(SENDERS) as pool:
            senders = [pool.submit(load.send) for _ in range(SENDERS)]
            try:
                load.more(200, than=4, what="batches accepted before the restart")
                private_postgres.restart()  # pg_ctl restart -m fast, batches in flight
                load.more(200, than=load.count(200) + 4, what="batches accepted after it")
                # An outage long enough to be seen: stopped until a batch gets 503.
                private_postgres.stop()
                load.more(503, than=load.count(503), what="a batch answered 503 in the outage")
                down = http.get("/readyz")
                private_postgres.start()
                load.more(200, than=load.count(200) + 4, what="batches accepted again")
            finally:
                load.stopping.set()
            for sender in senders:
                sender.result()
        up = http.get("/readyz")

        assert (down.status_code, down.json()["code"]) == (503, "UNAVAILABLE")
        assert down.json()["database"]["reachable"] is False
        assert int(down.headers["retry-after"]) > 0
        assert (up.status_code, up.json()["database"]["reachable"]) == (200, True)
        pool = up.json()["database"]["pool"]
        assert pool["max_size"] == POOL_SIZE and 1 <= pool["size"] <= POOL_SIZE

        accepted, refused = [], []
        for body, answer in load.answers:
            if answer.status_code == 200:
                accepted.append(answer.json())
                continue
            # Nothing but an outage: 503 UNAVAILABLE, with when to try again.
            assert (answer.status_code, answer.json()["code"]) == (503, "UNAVAILABLE"), answer.text
            assert int(answer.headers["retry-after"]) > 0
            refused.append(body)
        assert refused and all(receipt["status"] == "accepted" for receipt in accepted)
        for receipt in accepted:  # every receipt handed out names what the store holds
            assert http.get(f"/api/v1/receipts/{receipt['id']}").status_code == 200
            for result in receipt["results"]:
                assert http.get(f"/api/v1/claims/{result['record_id']}").status_code == 200
        for body in refused:  # the partner sends it again: taken now (or found, if it was)
            again: dict[str, Any] = http.post("/api/v1/claims", content=body, headers=XML).json()
            assert again["status"] == "accepted"
