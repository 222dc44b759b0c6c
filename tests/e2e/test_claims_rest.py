"""Whole flows over real HTTP: a signed batch in, receipts and common records out."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Served, counts

XML = {"Content-Type": "application/xml"}


def test_signed_batch_is_accepted_with_one_result_per_hoso(
    served: Served, batch: Callable[..., bytes]
) -> None:
    body = batch(3)
    with served.client() as http:
        answer = http.post("/api/v1/claims", content=body, headers=XML)
    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    assert receipt["status"] == "accepted"
    assert receipt["duplicate"] is False
    assert [r["status"] for r in receipt["results"]] == ["accepted"] * 3
    assert counts(served.gateway) == {"receipts": 1, "records": 3, "originals": 1}
