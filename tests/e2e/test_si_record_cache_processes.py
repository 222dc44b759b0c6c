"""The lookup cache across two ``gateway serve`` processes on one store, with the cache shared in
Redis or kept by each process: a claim accepted at one process for a citizen whose record the
other has cached shows in the very next lookup at both."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import redis

from adapters.hospital import synth
from adapters.hospital.synth.sirecords import si_card, si_person
from gateway.api.citizens import ASSERTION_HEADER
from gateway.config import Settings
from gateway.store.sqlite_sirecords import SqliteSiRecordStore
from tests.conftest import HOSPITAL, MACHINE_REDIS_URL, TOKENS, Pki, free_port
from tests.support.process import ServerProcess, environment
from tests.support.vneid import VNEID_TOKEN, SimulatedProvider, with_vneid


def serve_two(settings: Settings, cwd: Path) -> Iterator[list[ServerProcess]]:
    servers = []
    for _ in range(2):
        port = free_port()
        argv = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        servers.append(ServerProcess(argv, url=url, env=environment(settings), cwd=cwd))
    with servers[0], servers[1]:
        yield servers


@pytest.fixture(params=["redis", "memory"])
def shared(request: pytest.FixtureRequest) -> bool:
    """Whether the cache is in the machine's Redis (db 15), or in each process's memory."""
    return bool(request.param == "redis")


@pytest.fixture
def gateways(
    request: pytest.FixtureRequest,
    shared: bool,
    settings: Settings,
    vneid_sim: SimulatedProvider,
    tmp_path: Path,
) -> Iterator[list[ServerProcess]]:
    """Two processes that take the simulator's tokens, the cache as ``shared`` says."""
    update = {"redis_url": request.getfixturevalue("redis_url")} if shared else {}
    yield from serve_two(with_vneid(settings, vneid_sim.jwks_url, **update), tmp_path)


def lookup(server: ServerProcess, citizen: str, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {VNEID_TOKEN}", ASSERTION_HEADER: token}
    answer = httpx.get(f"{server.url}/api/v1/si-records/{citizen}", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer


def hits(server: ServerProcess) -> float:
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    line = next(
        (
            x
            for x in metrics.splitlines()
            if x.startswith('gateway_si_record_lookups_total{cache="hit"}')
        ),
        None,
    )
    return 0.0 if line is None else float(line.split()[-1])


def test_a_claim_accepted_at_one_process_shows_in_the_next_lookup_at_both(
    gateways: list[ServerProcess],
    shared: bool,
    settings: Settings,
    vneid_sim: SimulatedProvider,
    pki: Pki,
) -> None:
    a, b = gateways
    body, [visit] = synth.make_batch(
        random.Random(7), pki.hospital, "01929", 1, created=date.today()
    )
    store = SqliteSiRecordStore(Path(settings.store_url.removeprefix("sqlite:///")))
    try:
        store.upsert(si_person(visit), cards=[si_card(visit)])
    finally:
        store.close()
    citizen, token = visit.so_cccd, vneid_sim.idp.mint(visit.so_cccd)

    before = [lookup(server, citizen, token) for server in (a, b, a, b)]
    assert {answer.content for answer in before} == {before[0].content}
    assert before[0].json()["treatments"] == []
    # a: miss, b: hit in Redis (a's answer) or miss, a: hit, b: hit.
    assert (hits(a), hits(b)) == ((1, 2) if shared else (1, 1))

    claimed = httpx.post(
        f"{b.url}/api/v1/claims",
        content=body,
        headers={"Authorization": f"Bearer {TOKENS[HOSPITAL]}", "Content-Type": "application/xml"},
        timeout=30,
    )
    assert claimed.status_code == 200 and claimed.json()["status"] == "accepted", claimed.text

    for server in (a, b):
        [treatment] = lookup(server, citizen, token).json()["treatments"]
        assert treatment["facility_code"] == "01929"
        assert treatment["diagnosis_code"] == visit.diagnosis.icd
    # a read the new version from the store; b did too, or found a's answer in Redis.
    assert (hits(a), hits(b)) == ((1, 3) if shared else (1, 1))
    again = lookup(a, citizen, token)
    assert hits(a) == 2 and again.json()["treatments"]
    for server in (a, b):
        assert "*" * 9 + citizen[-3:] in server.output()  # the lookups were logged, masked
        assert citizen not in server.output()
    if shared:
        assert_no_citizen_id_in_redis(MACHINE_REDIS_URL, citizen)


def assert_no_citizen_id_in_redis(url: str, citizen: str) -> None:
    """The cached answers are there, keyed by pseudonym and version; no key or answer holds the
    citizen's ID."""
    client = redis.Redis.from_url(url)
    try:
        keys = [key.decode() for key in client.scan_iter("gw:sirecord:*")]
        assert sorted(int(key.rsplit(":", 1)[1]) for key in keys) == [1, 2]  # both versions
        assert all(len(key.split(":")[2]) == 64 for key in keys)
        everything = [*client.scan_iter("*"), *client.mget(keys)]
        assert not [item for item in everything if item and citizen.encode() in item]
    finally:
        client.close()
