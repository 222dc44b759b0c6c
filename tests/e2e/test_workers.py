"""Two gateway processes on one store answer as one gateway does, when the two batches that
collide reach them at the same moment: duplicates, resent visits, overlapping stays."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx

from adapters.hospital import synth
from gateway.config import Settings
from tests.conftest import HOSPITAL, OTHER_HOSPITAL, TOKENS, Pki
from tests.support.batches import batch_with, same_card, visit
from tests.support.process import ServerProcess

# Each collision is played this many times, with new visits each time: without the read set, the
# two workers both judged before either wrote in 14 rounds of 20 on a 2-core machine.
ROUNDS = 8
PARTNER_OF = {"01929": HOSPITAL, "79001": OTHER_HOSPITAL}
seeds = itertools.count(1000)


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


def test_the_same_batch_at_two_workers_is_stored_once(
    gateways: list[ServerProcess], pki: Pki, settings: Settings
) -> None:
    for round_ in range(ROUNDS):
        posted = batch(pki, "01929", visit(next(seeds), "01929", inpatient=False))
        first, second = at_once(gateways, [posted, posted], round_)
        assert first["id"] == second["id"]
        assert sorted([first["duplicate"], second["duplicate"]]) == [False, True]
        with sqlite3.connect(settings.store_url.removeprefix("sqlite:///")) as db:
            stored = db.execute(
                "SELECT count(*) FROM receipts WHERE sha256 = ?", (first["sha256"],)
            ).fetchone()
        assert stored == (1,)


def test_a_visit_resent_changed_to_another_worker_at_once_is_linked_as_its_next_version(
    gateways: list[ServerProcess], pki: Pki
) -> None:
    for round_ in range(ROUNDS):
        sent = visit(next(seeds), "01929", inpatient=False)
        changed = replace(sent, ghi_chu=f"{sent.ghi_chu} Tái khám sau 7 ngày.")
        answers = at_once(
            gateways, [batch(pki, "01929", sent), batch(pki, "01929", changed)], round_
        )
        (a,), (b,) = (receipt["results"] for receipt in answers)
        assert a["record_id"] != b["record_id"]
        [(later, earlier)] = [(x, y) for x, y in ((a, b), (b, a)) if codes(x) == ["RESENT_CHANGED"]]
        assert codes(earlier) == []
        history = record(gateways, later["record_id"])["payload"]["history"]
        assert history == {"version": 2, "previous_version": earlier["record_id"]}


def test_a_visit_repeated_unchanged_at_another_worker_at_once_is_one_record(
    gateways: list[ServerProcess], pki: Pki
) -> None:
    for round_ in range(ROUNDS):
        sent = visit(next(seeds), "01929", inpatient=False)
        other = visit(next(seeds), "01929", inpatient=False)
        answers = at_once(
            gateways, [batch(pki, "01929", sent), batch(pki, "01929", sent, other)], round_
        )
        repeats = [answers[0]["results"][0], answers[1]["results"][0]]
        assert len({result["record_id"] for result in repeats}) == 1
        assert sorted(result["duplicate"] for result in repeats) == [False, True]


def test_overlapping_stays_at_two_workers_at_once_are_flagged(
    gateways: list[ServerProcess], pki: Pki
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
        answers = at_once(gateways, [batch(pki, "01929", here), batch(pki, "79001", there)], round_)
        flags = [codes(receipt["results"][0]) for receipt in answers]
        assert sorted(flags) == [[], ["OVERLAPPING_STAY"]]
