"""Qd130Format.items over a batch: each HOSO judged in order, against the earlier ones."""

from __future__ import annotations

from gateway.bootstrap import Gateway
from gateway.pipeline.batches import submit_batch
from tests.conftest import HOSPITAL, Pki
from tests.support.batches import batch_with, visit_tables


def test_a_visit_repeated_in_a_batch_is_refused_naming_its_first_hoso(
    gateway: Gateway, pki: Pki
) -> None:
    first, second, third = (visit_tables(seed) for seed in (8101, 8102, 8103))
    body = batch_with(pki.hospital, [first, second, first, third, second, first])
    partner = gateway.partners.get(HOSPITAL)
    assert partner is not None

    receipt = submit_batch(
        body, partner=partner, channel="rest", fmt=gateway.claims, deps=gateway.pipeline
    ).receipt

    statuses = [(result.index, result.status) for result in receipt.results]
    assert statuses == [
        (1, "accepted"),
        (2, "accepted"),
        (3, "rejected"),
        (4, "accepted"),
        (5, "rejected"),
        (6, "rejected"),
    ]
    repeated = {
        result.index: issue["message"]
        for result in receipt.results
        for error in result.errors
        for issue in error.issues
    }
    keys = {index: receipt.results[index - 1].key for index in (1, 2)}
    assert repeated == {
        3: f"MA_LK {keys[1]} is already HOSO 1 of this batch: one HOSO a visit",
        5: f"MA_LK {keys[2]} is already HOSO 2 of this batch: one HOSO a visit",
        6: f"MA_LK {keys[1]} is already HOSO 1 of this batch: one HOSO a visit",
    }
