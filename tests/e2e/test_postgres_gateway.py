"""The gateway on the PostgreSQL store, over HTTP: claims accepted, read back and deduplicated;
the database out of reach answers 503 with Retry-After and writes nothing; it reconnects."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.store import pg_schema
from tests.conftest import Served
from tests.support.postgres import Relay

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay()
    yield relay
    relay.close()


def _on_postgres(settings: Settings, url: str, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "store_url": url,
            "dossier_store_url": f"sqlite:///{tmp_path / 'dossiers.sqlite3'}",
        }
    )


@pytest.fixture
def pg_gateway(
    settings: Settings, postgres_url: str, relay: Relay, tmp_path: Path
) -> Iterator[Gateway]:
    pg_schema.upgrade(postgres_url)
    through_relay = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    gateway = build(_on_postgres(settings, through_relay, tmp_path))
    yield gateway
    gateway.close()


def test_claims_are_stored_in_postgres_and_read_back(
    pg_gateway: Gateway, batch: Callable[..., bytes]
) -> None:
    body = batch(2, seed=81)
    with Served(pg_gateway) as served, served.client() as http:
        receipt = http.post("/api/v1/claims", content=body, headers=XML).json()
        assert (receipt["status"], receipt["duplicate"]) == ("accepted", False)
        for result in receipt["results"]:
            record = http.get(f"/api/v1/claims/{result['record_id']}")
            assert record.status_code == 200
            assert record.json()["original"]["receipt_id"] == receipt["id"]
        again = http.post("/api/v1/claims", content=body, headers=XML).json()
        assert (again["id"], again["duplicate"]) == (receipt["id"], True)
        assert http.get("/readyz").status_code == 200


def test_postgres_out_of_reach_gives_503_with_retry_after_and_nothing_half_written(
    pg_gateway: Gateway, relay: Relay, batch: Callable[..., bytes]
) -> None:
    body = batch(2, seed=82)
    with Served(pg_gateway) as served, served.client() as http:
        assert http.get("/readyz").status_code == 200
        relay.cut()
        answer = http.post("/api/v1/claims", content=body, headers=XML)
        assert (answer.status_code, answer.json()["code"]) == (503, "UNAVAILABLE")
        assert int(answer.headers["retry-after"]) > 0
        ready = http.get("/readyz")
        assert (ready.status_code, ready.json()["code"]) == (503, "UNAVAILABLE")
        relay.restore()
        assert _ready_again(http)  # the pool reconnected by itself
        again = http.post("/api/v1/claims", content=body, headers=XML).json()
        # The failed attempt left no trace: the retry is a first acceptance, not a duplicate.
        assert (again["status"], again["duplicate"]) == ("accepted", False)


def _ready_again(http: httpx.Client, *, within: float = 20) -> bool:
    """Whether /readyz answers 200 within ``within`` seconds (the pool reconnects by itself)."""
    deadline = time.monotonic() + within
    while http.get("/readyz").status_code != 200:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_the_gateway_does_not_start_on_a_database_not_upgraded(
    settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="gateway db upgrade"):
        build(_on_postgres(settings, postgres_url, tmp_path))
