"""Two gateway processes on one store answer as one gateway does, when the two batches that
collide reach them at the same moment: duplicates, resent visits, overlapping stays, outpatient
visits at too many facilities, and the signal lists. On SQLite the two share a file; on
PostgreSQL they are two hosts: separate working directories, sharing only the database and Redis.
"""

from __future__ import annotations

import itertools
import sqlite3
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from adapters.hospital import synth
from gateway.config import Settings
from gateway.store import pg_schema
from tests.conftest import HOSPITAL, OTHER_HOSPITAL, TOKENS, Pki, free_port
from tests.support.batches import batch_with, same_card, visit
from tests.support.process import ServerProcess, environment

# Each collision is played this many times, with new visits each time: without the read set, the
# two workers both judged before either wrote in 14 rounds of 20 on a 2-core machine.
ROUNDS = 12
PARTNER_OF = {"01929": HOSPITAL, "79001": OTHER_HOSPITAL}
seeds = itertools.count(1000)


@dataclass(frozen=True)
class Workers:
    """Two gateway processes on one store, and that store's settings."""

    servers: list[ServerProcess]
    settings: Settings

    def receipts_of(self, sha256: str) -> int:
        """How many receipts the store holds of the bytes with this SHA-256."""
        url = self.settings.store_url
        if url.startswith("sqlite:///"):
            with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
                query = "SELECT count(*) FROM receipts WHERE sha256 = ?"
                (count,) = db.execute(query, (sha256,)).fetchone()
        else:
            with psycopg.connect(url) as db:
                query = "SELECT count(*) FROM receipts WHERE sha256 = %s"
                row = db.execute(query, (sha256,)).fetchone()
                assert row is not None
                (count,) = row
        return int(count)


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """``settings`` on the store of the test's parameter (PostgreSQL: with Redis), flagging
    outpatient visits of one card at two facilities on one day (no other test here has two)."""
    settings = settings.model_copy(update={"max_outpatient_facilities_per_day": 1})
    if request.param == "sqlite":
        return settings
    url: str = request.getfixturevalue("postgres_url")
    pg_schema.upgrade(url)
    redis_url: str = request.getfixturevalue("redis_url")
    return settings.model_copy(update={"store_url": url, "redis_url": redis_url})


@pytest.fixture
def workers(store_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    """Two ``gateway serve`` processes: on SQLite, in one folder, sharing its file; on
    PostgreSQL, each in a folder of its own (its own dossier file), like two hosts."""
    servers = []
    separate = not store_settings.store_url.startswith("sqlite:///")
    for host in ("a", "b"):
        folder = tmp_path / f"host-{host}" if separate else tmp_path
        folder.mkdir(exist_ok=True)
        port = free_port()
        argv = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
        servers.append(
            ServerProcess(
                argv,
                url=f"http://127.0.0.1:{port}",
                env=environment(store_settings),
                cwd=folder,
            )
        )
    with servers[0], servers[1]:
        yield Workers(servers, store_settings)


def at_once(
    gateways: list[ServerProcess], posts: list[tuple[str, bytes]], round_: int
) -> list[dict[str, Any]]:
    """POST each (partner, batch) to its own worker at the same moment (the pairing alternates
    by round); the receipts, in the order of ``posts``."""
    start = threading.Barrier(len(posts))
    targets = gateways if round_ % 2 == 0 else gateways[::-1]

    def post(worker: ServerProcess, partner: str, body: bytes) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {TOKENS[partner]}"}
        with httpx.Client(base_url=worker.url, headers=headers, timeout=30) as http:
            http.get("/healthz")  # connected before the barrier: only the POSTs race
            start.wait()
            answer = http.post(
                "/api/v1/claims", content=body, headers={"Content-Type": "application/xml"}
            )
        assert answer.status_code == 200, answer.text
        receipt: dict[str, Any] = answer.json()
        return receipt

    with ThreadPoolExecutor(len(posts)) as pool:
        futures = [
            pool.submit(post, worker, partner, body)
            for worker, (partner, body) in zip(targets, posts, strict=True)
        ]
        return [future.result() for future in futures]


def batch(pki: Pki, facility: str, *visits: synth.Visit) -> tuple[str, bytes]:
    identity = pki.hospital if facility == "01929" else pki.other_hospital
    body = batch_with(identity, [synth.tables(v) for v in visits], facility=facility)
    return PARTNER_OF[facility], body


def codes(result: dict[str, Any]) -> list[str]:
    return [signal["code"] for signal in result["signals"]]


def record(gateways: list[ServerProcess], record_id: str) -> Any:
    headers = {"Authorization": f"Bearer {TOKENS[HOSPITAL]}"}
    return httpx.get(f"{gateways[0].url}/api/v1/claims/{record_id}", headers=headers).json()


def signals_of_card(workers: Workers, card: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {TOKENS['inspector']}"}
    answer = httpx.get(
        f"{workers.servers[1].url}/api/v1/signals", params={"card": card}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_the_same_batch_at_two_workers_is_stored_once(workers: Workers, pki: Pki) -> None:
    for round_ in range(ROUNDS):
        posted = batch(pki, "01929", visit(next(seeds), "01929", inpatient=False))
        first, second = at_once(workers.servers, [posted, posted], round_)
        assert first["id"] == second["id"]
        assert sorted([first["duplicate"], second["duplicate"]]) == [False, True]
        assert workers.receipts_of(first["sha256"]) == 1


def test_a_visit_resent_changed_to_another_worker_at_once_is_linked_as_its_next_version(
    workers: Workers, pki: Pki
) -> None:
    for round_ in range(ROUNDS):
        sent = visit(next(seeds), "01929", inpatient=False)
        changed = replace(sent, ghi_chu=f"{sent.ghi_chu} Tái khám sau 7 ngày.")
        answers = at_once(
            workers.servers, [batch(pki, "01929", sent), batch(pki, "01929", changed)], round_
        )
        (a,), (b,) = (receipt["results"] for receipt in answers)
        assert a["record_id"] != b["record_id"]
        [(later, earlier)] = [(x, y) for x, y in ((a, b), (b, a)) if codes(x) == ["RESENT_CHANGED"]]
        assert codes(earlier) == []
        history = record(workers.servers, later["record_id"])["payload"]["history"]
        assert history == {"version": 2, "previous_version": earlier["record_id"]}


def test_a_visit_repeated_unchanged_at_another_worker_at_once_is_one_record(
    workers: Workers, pki: Pki
) -> None:
    for round_ in range(ROUNDS):
        sent = visit(next(seeds), "01929", inpatient=False)
        other = visit(next(seeds), "01929", inpatient=False)
        answers = at_once(
            workers.servers, [batch(pki, "01929", sent), batch(pki, "01929", sent, other)], round_
        )
        repeats = [answers[0]["results"][0], answers[1]["results"][0]]
        assert len({result["record_id"] for result in repeats}) == 1
        assert sorted(result["duplicate"] for result in repeats) == [False, True]


def test_overlapping_stays_at_two_workers_at_once_are_flagged_once(
    workers: Workers, pki: Pki
) -> None:
    for round_ in range(ROUNDS):
        here = visit(next(seeds), "01929", inpatient=True)
        there = next(
            stay
            for stay in (
                same_card(visit(next(seeds), "79001", inpatient=True), here) for _ in range(50)
            )
            if stay.ngay_vao < here.ngay_ra and here.ngay_vao < stay.ngay_ra
        )
        posts = [batch(pki, "01929", here), batch(pki, "79001", there)]
        results = [receipt["results"][0] for receipt in at_once(workers.servers, posts, round_)]
        assert sorted(codes(result) for result in results) == [[], ["OVERLAPPING_STAY"]]
        # The card's signal list holds it once, naming the flagged record.
        [flagged] = [result for result in results if codes(result)]
        listed = signals_of_card(workers, here.ma_the_bhyt)
        assert [(s["code"], s["record_id"]) for s in listed] == [
            ("OVERLAPPING_STAY", flagged["record_id"])
        ]


def test_outpatient_visits_at_two_facilities_at_once_are_flagged_once(
    workers: Workers, pki: Pki
) -> None:
    # The module's limit is one facility a day (store_settings): the second is flagged.
    for round_ in range(ROUNDS):
        here = visit(next(seeds), "01929", inpatient=False)
        there = same_card(visit(next(seeds), "79001", inpatient=False), here)
        posts = [batch(pki, "01929", here), batch(pki, "79001", there)]
        results = [receipt["results"][0] for receipt in at_once(workers.servers, posts, round_)]
        assert sorted(codes(result) for result in results) == [[], ["OUTPATIENT_FACILITIES"]]
        [flagged] = [result for result in results if codes(result)]
        listed = signals_of_card(workers, here.ma_the_bhyt)
        assert [(s["code"], s["record_id"]) for s in listed] == [
            ("OUTPATIENT_FACILITIES", flagged["record_id"])
        ]
