"""submit_batch when another worker stores a batch about the same card between the judgement of
this one and its write: judged again, or refused with 503 if that keeps happening."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from adapters.hospital import synth
from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.errors import Unavailable
from gateway.pipeline.batches import JUDGEMENTS, Outcome, PipelineDeps, submit_batch
from gateway.store.ports import StoredReceipt, Submission
from gateway.store.sqlite import SqliteStore
from tests.conftest import HOSPITAL, OTHER_HOSPITAL, Pki
from tests.support.batches import batch_with, same_card, visit


class Overtaken(SqliteStore):
    """The gateway's SQLite store, where another worker's batch lands just before each of this
    worker's first writes, as when the other process wins the race."""

    def __init__(self, path: Path, rivals: list[Callable[[], object]]) -> None:
        super().__init__(path)
        self.rivals = rivals

    def save_accepted(self, submission: Submission) -> StoredReceipt:
        if self.rivals:
            self.rivals.pop(0)()
        return super().save_accepted(submission)


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    built = build(settings)
    yield built
    built.close()


def overtaken(gateway: Gateway, rivals: list[Callable[[], object]]) -> PipelineDeps:
    path = Path(gateway.settings.store_url.removeprefix("sqlite:///"))
    return replace(gateway.pipeline, store=Overtaken(path, rivals))


def send(gateway: Gateway, pki: Pki, stay: synth.Visit, deps: PipelineDeps) -> Outcome:
    here = stay.ma_cskcb == "01929"
    body = batch_with(
        pki.hospital if here else pki.other_hospital, [synth.tables(stay)], facility=stay.ma_cskcb
    )
    partner = gateway.partners.get(HOSPITAL if here else OTHER_HOSPITAL)
    assert partner is not None
    return submit_batch(body, partner=partner, channel="rest", fmt=gateway.claims, deps=deps)


def judged_again(gateway: Gateway) -> float | None:
    return gateway.metrics.registry.get_sample_value("gateway_judged_again_total")


def rival_stays(here: synth.Visit, count: int) -> list[synth.Visit]:
    """Inpatient stays at 79001 of ``here``'s card that overlap ``here``."""
    found = []
    for seed in range(7000, 7500):
        stay = same_card(visit(seed, "79001", inpatient=True), here)
        if stay.ngay_vao < here.ngay_ra and here.ngay_vao < stay.ngay_ra:
            found.append(stay)
        if len(found) == count:
            return found
    raise AssertionError("no such stays")


def test_a_batch_overtaken_by_an_overlapping_stay_is_judged_again_and_flagged(
    gateway: Gateway, pki: Pki
) -> None:
    here = visit(6001, "01929", inpatient=True)
    [there] = rival_stays(here, 1)
    deps = overtaken(gateway, [partial(send, gateway, pki, there, gateway.pipeline)])

    [result] = send(gateway, pki, here, deps).receipt.results

    assert [signal.code for signal in result.signals] == ["OVERLAPPING_STAY"]
    assert judged_again(gateway) == 1


def test_a_batch_overtaken_at_every_judgement_is_refused_and_stores_nothing(
    gateway: Gateway, pki: Pki
) -> None:
    here = visit(6002, "01929", inpatient=True)
    rivals: list[Callable[[], object]] = [
        partial(send, gateway, pki, stay, gateway.pipeline)
        for stay in rival_stays(here, JUDGEMENTS)
    ]
    deps = overtaken(gateway, rivals)

    with pytest.raises(Unavailable) as refused:
        send(gateway, pki, here, deps)

    assert refused.value.retry_after == 1
    assert judged_again(gateway) == JUDGEMENTS
    assert len(gateway.pipeline.store.entries(f"visit-card:{here.ma_the_bhyt}")) == JUDGEMENTS
    assert gateway.pipeline.store.entries(f"visit-key:01929:{here.ma_lk}") == []
