"""A department queue shared by worker processes through two gateway processes on one store (a
SQLite file, or PostgreSQL): a worker killed (SIGKILL) while holding a dossier loses it, after its
visibility timeout, to another worker, once; every other dossier goes to exactly one worker."""

from __future__ import annotations

import signal
import sqlite3
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from gateway.config import Settings
from gateway.store import pg_schema
from tests.conftest import TOKENS, Pki
from tests.support.edossiers import citizen, signed_dossier, submitted
from tests.support.process import CommandProcess, ServerProcess, wait_until

DOSSIERS = 8
HOLD = 2.0  # the killed worker's visibility timeout, seconds
ROOT = Path(__file__).resolve().parents[2]  # where ``tests`` is a package


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The gateways' settings on the store of the test's parameter: one SQLite file, or
    PostgreSQL (claims, dossiers and their queue in one schema)."""
    if request.param == "sqlite":
        return settings
    url: str = request.getfixturevalue("postgres_url")
    pg_schema.upgrade(url)
    return settings.model_copy(update={"store_url": url})


def consumer(gateway: ServerProcess, name: str, tmp_path: Path, *hold: str) -> CommandProcess:
    """A worker of the benefits department claiming through ``gateway``, started by ``with``."""
    argv = [sys.executable, "-m", "tests.support.queue_consumer", gateway.url, "benefits", name]
    env = {**gateway.env, "CONSUMER_TOKEN": TOKENS["benefits"], "PYTHONPATH": str(ROOT)}
    return CommandProcess([*argv, *hold], env=env, cwd=tmp_path)


def dossiers_in(settings: Settings) -> int:
    """How many dossiers the database of ``GATEWAY_STORE_URL`` holds (where the queue is)."""
    url = settings.store_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            (count,) = db.execute("SELECT count(*) FROM dossier_dossiers").fetchone()
        return int(count)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM dossier_dossiers").fetchone()
    assert row is not None
    return int(row[0])


def events(worker: CommandProcess) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in worker.lines() if line.startswith("{")]


def test_a_dossier_held_by_a_killed_worker_goes_to_another_once_and_every_other_once(
    gateways: list[ServerProcess], pki: Pki, settings: Settings, tmp_path: Path
) -> None:
    identity = citizen(pki)
    portal = {"Authorization": f"Bearer {TOKENS['portal']}"}
    with httpx.Client(base_url=gateways[0].url, headers=portal, timeout=30) as http:
        ids = {
            submitted(http, signed_dossier(identity, number=n)) for n in range(100, 100 + DOSSIERS)
        }
    assert dossiers_in(settings) == DOSSIERS

    with consumer(gateways[0], "victim", tmp_path, "--hold", str(HOLD)) as victim:
        wait_until(lambda: bool(events(victim)), what="the first worker holds a dossier")
        [held] = events(victim)
        assert held["dossier"] in ids and held["deliveries"] == 1
        victim.kill()
    assert victim.process is not None and victim.process.returncode == -signal.SIGKILL

    with ExitStack() as stack:
        survivors = [  # on both gateways
            stack.enter_context(consumer(gateways[n % 2], f"w{n}", tmp_path)) for n in range(3)
        ]

        def acked() -> set[str]:
            return {e["dossier"] for w in survivors for e in events(w) if e["event"] == "acked"}

        wait_until(lambda: acked() == ids, what="every dossier worked and acknowledged")
        codes = [w.send(signal.SIGTERM) for w in survivors]
    assert codes == [0, 0, 0], [w.output() for w in survivors]

    claims = [e for w in survivors for e in events(w) if e["event"] == "claimed"]
    handed = Counter(e["dossier"] for e in claims)
    assert handed == Counter(ids)  # each dossier once across the workers, the held one too
    deliveries = {e["dossier"]: e["deliveries"] for e in claims}
    assert deliveries.pop(held["dossier"]) == 2  # the killed worker's, handed out again
    assert set(deliveries.values()) == {1}
    department = {"Authorization": f"Bearer {TOKENS['benefits']}"}
    for gateway in gateways:
        with httpx.Client(base_url=gateway.url, headers=department, timeout=30) as http:
            assert http.get("/api/v1/queues/benefits").json()["items"] == []
            assert http.post("/api/v1/queues/benefits/claims").status_code == 204
            states = {http.get(f"/api/v1/dossiers/{i}").json()["state"] for i in ids}
            assert states == {"refused"}
