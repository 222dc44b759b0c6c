"""Limits shared by two ``gateway serve`` processes through one Redis: a partner's requests count
at both, refused with 429 RATE_LIMITED and Retry-After; Redis down, each process counts on its
own; a legacy login locked at one process is locked at the other, and refused (503) while Redis
is down."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from tests.conftest import HOSPITAL, OTHER_HOSPITAL, TOKENS, Pki, free_port
from tests.e2e.test_vss_portal import ACCOUNTS, legacy_partner_file
from tests.support.process import ServerProcess, environment
from tests.support.redis_server import NO_AOF_CONFIG, RedisServer
from tests.support.vss_portal_client import md5_upper

MISSING = "/api/v1/claims/01J00000000000000000000000"  # an authenticated read of nothing: 404
Gateways = Callable[..., list[ServerProcess]]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own, to be killed."""
    with RedisServer(tmp_path / "redis", *NO_AOF_CONFIG) as server:
        yield server


@pytest.fixture
def gateways(settings: Settings, redis_server: RedisServer, tmp_path: Path) -> Iterator[Gateways]:
    """``gateways(**settings)``: two ``gateway serve`` processes on one store and one Redis."""
    with ExitStack() as stack:

        def start(**update: Any) -> list[ServerProcess]:
            chosen = settings.model_copy(update={"redis_url": redis_server.url, **update})
            servers = []
            for _ in range(2):
                port = free_port()
                argv = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
                url = f"http://127.0.0.1:{port}"
                server = ServerProcess(argv, url=url, env=environment(chosen), cwd=tmp_path)
                servers.append(stack.enter_context(server))
            return servers

        yield start


def read(server: ServerProcess, partner: str = HOSPITAL) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKENS[partner]}"}
    return httpx.get(f"{server.url}{MISSING}", headers=headers, timeout=30)


def refused(answer: httpx.Response, *, at_most: int) -> bool:
    """Whether ``answer`` is 429 RATE_LIMITED with a Retry-After of 1 to ``at_most`` seconds."""
    if answer.status_code != 429:
        return False
    assert answer.json()["code"] == "RATE_LIMITED"
    return 1 <= int(answer.headers["retry-after"]) <= at_most


def test_a_partners_requests_count_at_every_process(gateways: Gateways) -> None:
    a, b = gateways(partner_rate_limit="3/min")
    assert [read(server).status_code for server in (a, b, a)] == [404, 404, 404]
    assert refused(read(b), at_most=20)
    assert refused(read(a), at_most=20)
    assert read(b, OTHER_HOSPITAL).status_code == 404  # each partner has its own allowance
    soap = httpx.post(
        f"{a.url}/soap/claims",
        content=b"<not-read/>",
        headers={"Authorization": f"Bearer {TOKENS[HOSPITAL]}", "Content-Type": "text/xml"},
    )
    assert soap.status_code == 500 and b"RATE_LIMITED" in soap.content


def test_redis_down_each_process_counts_its_partners_on_its_own(
    gateways: Gateways, redis_server: RedisServer
) -> None:
    a, b = gateways(partner_rate_limit="3/min")
    assert read(a).status_code == 404
    redis_server.kill()
    for server in (a, b):
        assert [read(server).status_code for _ in range(3)] == [404, 404, 404]
        assert refused(read(server), at_most=20)
    assert "Redis does not answer" in a.output()


def take_token(server: ServerProcess, password: str, *, source: str) -> httpx.Response:
    """A ``token/take`` of the hospital's legacy login from ``source`` (through the trusted
    proxy that 127.0.0.1 is here)."""
    username, _ = ACCOUNTS[HOSPITAL]
    return httpx.post(
        f"{server.url}/api/token/take",
        data={"username": username, "password": md5_upper(password)},
        headers={"X-Forwarded-For": source},
        timeout=60,
    )


def test_a_login_locked_at_one_process_is_locked_at_the_other(
    gateways: Gateways, pki: Pki, settings: Settings, redis_server: RedisServer
) -> None:
    _, password = ACCOUNTS[HOSPITAL]
    assert password is not None
    partners = legacy_partner_file(pki, settings.partners.with_name("partners-legacy.toml"))
    a, b = gateways(partners=partners, trusted_proxies=["127.0.0.1/32"], legacy_login_failures=2)
    attacker, hospital = "198.51.100.66", "192.0.2.10"
    assert take_token(a, "wrong", source=attacker).json()["maKetQua"] == "401"
    assert take_token(b, "wrong", source=attacker).json()["maKetQua"] == "401"
    locked = take_token(a, password, source=attacker)
    assert locked.json()["maKetQua"] == "429"
    assert 1 <= int(locked.headers["retry-after"]) <= 300
    assert take_token(b, password, source=hospital).json()["maKetQua"] == "200"
    redis_server.kill()
    down = take_token(b, password, source=hospital)  # uncounted, a login would be unbounded
    assert down.json()["maKetQua"] == "503"
    assert int(down.headers["retry-after"]) >= 1
