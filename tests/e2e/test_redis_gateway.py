"""The gateway on a durable Redis store: accepts, survives Redis restarts, answers 503 when down,
and returns no personal data it could not audit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.errors import ConfigError
from tests.conftest import HOSPITAL, Served
from tests.support.redis_server import AOF_CONFIG, NO_AOF_CONFIG, RedisServer
from tests.support.soap import post_soap, soap_envelope

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis", *AOF_CONFIG) as server:
        yield server


@pytest.fixture
def redis_gateway(settings: Settings, redis_server: RedisServer) -> Iterator[Gateway]:
    gateway = build(settings.model_copy(update={"store_url": redis_server.url}))
    yield gateway
    gateway.close()


def test_batch_is_stored_in_redis_and_survives_a_redis_crash(
    redis_gateway: Gateway, redis_server: RedisServer, batch: Callable[..., bytes]
) -> None:
    with Served(redis_gateway) as served, served.client() as http:
        receipt = http.post("/api/v1/claims", content=batch(2), headers=XML).json()
        assert receipt["status"] == "accepted"
        redis_server.kill()  # SIGKILL: only what was fsynced to the AOF survives
        redis_server.start()
        for result in receipt["results"]:
            record = http.get(f"/api/v1/claims/{result['record_id']}")
            assert record.status_code == 200
            assert record.json()["original"]["receipt_id"] == receipt["id"]


def test_redis_down_gives_503_with_retry_after_and_nothing_half_written(
    redis_gateway: Gateway, redis_server: RedisServer, batch: Callable[..., bytes]
) -> None:
    body = batch(2, seed=77)
    with Served(redis_gateway) as served, served.client() as http:
        redis_server.kill()
        answer = http.post("/api/v1/claims", content=body, headers=XML)
        assert answer.status_code == 503
        assert answer.json()["code"] == "UNAVAILABLE"
        assert int(answer.headers["retry-after"]) > 0
        ready = http.get("/readyz")
        assert (ready.status_code, ready.json()["code"]) == (503, "UNAVAILABLE")
        redis_server.start()
        assert http.get("/readyz").status_code == 200
        again = http.post("/api/v1/claims", content=body, headers=XML).json()
        # The failed attempt left no trace: the retry is a first acceptance, not a duplicate.
        assert (again["status"], again["duplicate"]) == ("accepted", False)


def test_redis_without_fsync_on_every_write_is_refused_at_startup(
    settings: Settings, tmp_path: Path
) -> None:
    with (
        RedisServer(tmp_path / "volatile", *NO_AOF_CONFIG) as server,
        pytest.raises(ConfigError, match="appendfsync always"),
    ):
        build(settings.model_copy(update={"store_url": server.url}))


PROBLEM_MEMBERS = {"type", "title", "status", "code", "detail", "instance"}


def test_a_read_that_cannot_be_audited_answers_503_and_returns_no_data(
    redis_gateway: Gateway, redis_server: RedisServer, batch: Callable[..., bytes]
) -> None:
    with Served(redis_gateway) as served, served.client() as http:
        receipt = http.post("/api/v1/claims", content=batch(1, seed=78), headers=XML).json()
        record_id = receipt["results"][0]["record_id"]
        get_record = soap_envelope("GetClaimRecord", "RecordId", record_id)
        # Over maxmemory, Redis still answers reads but refuses every write: the record can be
        # read, its audit event cannot be written.
        admin = redis.Redis.from_url(redis_server.url)
        admin.config_set("maxmemory", 1)
        try:
            rest = http.get(f"/api/v1/claims/{record_id}")
            soap = post_soap(served, "GetClaimRecord", get_record, HOSPITAL)
        finally:
            admin.config_set("maxmemory", 0)
            admin.close()
        assert (rest.status_code, rest.json()["code"]) == (503, "UNAVAILABLE")
        assert int(rest.headers["retry-after"]) > 0
        assert set(rest.json()) <= PROBLEM_MEMBERS and "payload" not in rest.text
        assert soap.status_code == 500 and b"UNAVAILABLE" in soap.content
        assert record_id.encode() not in soap.content  # the record would carry its id
        assert redis_gateway.audit.log.verify().count == 0  # nothing half-written

        assert http.get(f"/api/v1/claims/{record_id}").status_code == 200
        report = redis_gateway.audit.log.verify()
        assert (report.ok, report.count) == (True, 1)

        redis_server.kill()
        down = http.get(f"/api/v1/claims/{record_id}")
        assert (down.status_code, down.json()["code"]) == (503, "UNAVAILABLE")
        assert set(down.json()) <= PROBLEM_MEMBERS
