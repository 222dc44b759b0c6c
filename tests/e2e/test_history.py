"""A visit across batches: resent versions, unchanged repeats, overlapping stays, many
outpatient facilities a day, and the signals per facility and per card."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.hospital import synth
from gateway.bootstrap import build
from gateway.config import Settings
from tests.conftest import OTHER_HOSPITAL, Pki, Served, counts
from tests.support.batches import batch_with, same_card, visit
from tests.support.redis_server import AOF_CONFIG, RedisServer

XML = {"Content-Type": "application/xml"}


def send(served: Served, pki: Pki, visits: list[synth.Visit], partner: str, facility: str) -> Any:
    identity = pki.hospital if facility == "01929" else pki.other_hospital
    body = batch_with(identity, [synth.tables(v) for v in visits], facility=facility)
    with served.client(partner) as http:
        answer = http.post("/api/v1/claims", content=body, headers=XML)
    assert answer.status_code == 200, answer.text
    return answer.json()


def record(served: Served, record_id: str, partner: str = "hospital-01929") -> Any:
    with served.client(partner) as http:
        return http.get(f"/api/v1/claims/{record_id}").json()


def signals(served: Served, **query: str) -> Any:
    with served.client("inspector") as http:
        answer = http.get("/api/v1/signals", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_visit_resent_with_other_content_is_a_new_linked_version(
    served: Served, pki: Pki
) -> None:
    first = visit(1, "01929", inpatient=False)
    original = send(served, pki, [first], "hospital-01929", "01929")["results"][0]
    changed = replace(first, ghi_chu=first.ghi_chu + " Tái khám sau 7 ngày.")
    again = send(served, pki, [changed], "hospital-01929", "01929")["results"][0]
    assert again["status"] == "accepted" and again["record_id"] != original["record_id"]
    assert [s["code"] for s in again["signals"]] == ["RESENT_CHANGED"]
    history = record(served, again["record_id"])["payload"]["history"]
    assert history == {"version": 2, "previous_version": original["record_id"]}
    flagged = signals(served, facility="01929")
    assert [(s["code"], s["record_id"]) for s in flagged] == [
        ("RESENT_CHANGED", again["record_id"])
    ]


def test_a_visit_repeated_unchanged_in_another_batch_is_the_same_record(
    served: Served, pki: Pki
) -> None:
    first = visit(2, "01929", inpatient=False)
    original = send(served, pki, [first], "hospital-01929", "01929")["results"][0]
    before = counts(served.gateway)
    receipt = send(
        served, pki, [first, visit(3, "01929", inpatient=False)], "hospital-01929", "01929"
    )
    repeated, new = receipt["results"]
    assert repeated["duplicate"] is True and repeated["record_id"] == original["record_id"]
    assert repeated["signals"] == []
    assert new["duplicate"] is False
    assert counts(served.gateway)["records"] == before["records"] + 1


def test_overlapping_inpatient_stays_at_two_facilities_are_flagged(
    served: Served, pki: Pki
) -> None:
    here = visit(4, "01929", inpatient=True)
    there = same_card(visit(5, "79001", inpatient=True), here)
    send(served, pki, [here], "hospital-01929", "01929")
    result = send(served, pki, [there], OTHER_HOSPITAL, "79001")["results"][0]
    assert result["status"] == "accepted"
    [flag] = result["signals"]
    assert flag["code"] == "OVERLAPPING_STAY" and "01929" in flag["reason"]
    by_card = signals(served, card=here.ma_the_bhyt)
    assert [(s["code"], s["facility"]) for s in by_card] == [("OVERLAPPING_STAY", "79001")]


def test_an_inpatient_stay_and_an_outpatient_visit_do_not_overlap(served: Served, pki: Pki) -> None:
    here = visit(6, "01929", inpatient=True)
    send(served, pki, [here], "hospital-01929", "01929")
    there = same_card(visit(7, "79001", inpatient=False), here)
    assert send(served, pki, [there], OTHER_HOSPITAL, "79001")["results"][0]["signals"] == []


@pytest.fixture
def strict(settings: Settings) -> Iterator[Served]:
    gateway = build(settings.model_copy(update={"max_outpatient_facilities_per_day": 1}))
    with Served(gateway) as served:
        yield served
    gateway.close()


def test_one_card_at_more_outpatient_facilities_a_day_than_the_limit_is_flagged(
    strict: Served, pki: Pki
) -> None:
    here = visit(8, "01929", inpatient=False)
    assert send(strict, pki, [here], "hospital-01929", "01929")["results"][0]["signals"] == []
    there = same_card(visit(9, "79001", inpatient=False), here)
    [flag] = send(strict, pki, [there], OTHER_HOSPITAL, "79001")["results"][0]["signals"]
    assert flag["code"] == "OUTPATIENT_FACILITIES"
    assert "2 facilities" in flag["reason"] and "limit is 1" in flag["reason"]


def test_a_hospital_reads_only_its_own_facility_signals(served: Served) -> None:
    with served.client("hospital-01929") as http:
        own = http.get("/api/v1/signals", params={"facility": "01929"})
        other = http.get("/api/v1/signals", params={"facility": "79001"})
        card = http.get("/api/v1/signals", params={"card": "GD4797920123456"})
    assert (own.status_code, own.json()) == (200, [])
    assert (other.status_code, other.json()["code"]) == (403, "FORBIDDEN")
    assert (card.status_code, card.json()["code"]) == (403, "FORBIDDEN")
    with served.client("inspector") as http:
        both = http.get("/api/v1/signals", params={"facility": "01929", "card": "X"})
    assert both.status_code == 400


def test_signals_are_listed_by_pages(served: Served, pki: Pki) -> None:
    first = visit(30, "01929", inpatient=False)
    send(served, pki, [first], "hospital-01929", "01929")
    for round_ in range(3):  # three changed resends: three RESENT_CHANGED signals
        changed = replace(first, ghi_chu=f"{first.ghi_chu} ({round_})")
        send(served, pki, [changed], "hospital-01929", "01929")
    with served.client("inspector") as http:
        page = http.get("/api/v1/signals", params={"facility": "01929", "limit": 2})
        assert len(page.json()) == 2
        following = page.headers["link"].split(";")[0].strip("<>")
        rest = http.get(following)
    assert "offset=2" in following
    assert len(rest.json()) == 1 and "link" not in rest.headers
    assert [s["code"] for s in page.json() + rest.json()] == ["RESENT_CHANGED"] * 3


@pytest.fixture
def on_redis(settings: Settings, tmp_path: Path) -> Iterator[Served]:
    with RedisServer(tmp_path / "redis", *AOF_CONFIG) as server:
        gateway = build(settings.model_copy(update={"store_url": server.url}))
        try:
            with Served(gateway) as served:
                yield served
        finally:
            gateway.close()


def test_the_visit_history_works_the_same_on_redis(on_redis: Served, pki: Pki) -> None:
    here = visit(40, "01929", inpatient=True)
    send(on_redis, pki, [here], "hospital-01929", "01929")
    there = same_card(visit(41, "79001", inpatient=True), here)
    [flag] = send(on_redis, pki, [there], OTHER_HOSPITAL, "79001")["results"][0]["signals"]
    assert flag["code"] == "OVERLAPPING_STAY"
    # In a new batch (with another visit), the unchanged visit is its first record again.
    extra = visit(42, "01929", inpatient=False)
    repeated, new = send(on_redis, pki, [here, extra], "hospital-01929", "01929")["results"]
    assert repeated["duplicate"] is True and new["duplicate"] is False
    assert [s["code"] for s in signals(on_redis, card=here.ma_the_bhyt)] == ["OVERLAPPING_STAY"]
