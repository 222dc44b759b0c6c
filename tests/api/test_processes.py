"""Large submissions in pipeline processes: the same answers as in a thread, errors and metrics
brought back, and no process for a gateway whose clock is not the system's."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from gateway.api import work
from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.errors import GatewayError, Issue, RateLimited, SchemaInvalid
from tests.conftest import Served, counts

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def processed(settings: Settings) -> Iterator[Served]:
    """A gateway that sends every document of more than one byte to a pipeline process."""
    gateway = build(settings.model_copy(update={"pipeline_process_bytes": 1}))
    with Served(gateway) as served:
        yield served
    gateway.close()


def _refuse_here(*args: object, **kwargs: object) -> object:
    raise AssertionError("the submission ran in the serving process")


def test_a_large_submission_is_judged_in_a_pipeline_process(
    processed: Served, batch: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(work, "submit_batch", _refuse_here)  # this process's pipeline
    body = batch(2, seed=61)
    with processed.client() as http:
        answer = http.post("/api/v1/claims", content=body, headers=XML)
        assert answer.status_code == 200, answer.text
        receipt = answer.json()
        assert receipt["status"] == "accepted" and len(receipt["results"]) == 2
        record = http.get(f"/api/v1/claims/{receipt['results'][0]['record_id']}")
        again = http.post("/api/v1/claims", content=body, headers=XML).json()
        metrics = http.get("/metrics").text
    assert record.status_code == 200 and record.json()["kind"] == "hi_claim"
    assert (again["duplicate"], again["id"]) == (True, receipt["id"])
    # What the pipeline measured over there is counted here.
    assert 'gateway_results_total{code="ACCEPTED"} 2.0' in metrics
    assert 'gateway_results_total{code="DUPLICATE"} 1.0' in metrics
    assert 'gateway_pipeline_step_seconds_count{step="verify"} 1.0' in metrics
    assert counts(processed.gateway) == {"receipts": 1, "records": 2, "originals": 1}


def test_a_refusal_in_a_pipeline_process_is_the_same_problem(
    processed: Served, batch: Callable[..., bytes]
) -> None:
    tampered = batch(1, seed=62).replace(b"<MACSKCB>01929<", b"<MACSKCB>01930<")
    with processed.client() as http:
        answer = http.post("/api/v1/claims", content=tampered, headers=XML)
    problem = answer.json()
    assert (answer.status_code, problem["code"]) == (422, "SIGNATURE_INVALID")
    assert problem["receipt_id"]  # set over there, brought back with the error
    assert counts(processed.gateway) == {"receipts": 1, "records": 0, "originals": 0}


def test_a_gateway_on_another_clock_keeps_large_documents_in_threads(
    settings: Settings, batch: Callable[..., bytes]
) -> None:
    class Fixed:
        def now(self) -> datetime:
            return datetime.now(UTC)

    gateway = build(settings.model_copy(update={"pipeline_process_bytes": 1}), clock=Fixed())
    with Served(gateway) as served, served.client() as http:
        answer = http.post("/api/v1/claims", content=batch(1, seed=63), headers=XML)
        assert answer.status_code == 200
        processes = served.app.state.pipeline_processes
    gateway.close()
    assert processes is None


@pytest.mark.parametrize(
    "error",
    [
        SchemaInvalid("bad", issues=[Issue(message="m", path="/a", table="XML1")]),
        RateLimited("slow down", retry_after=7),
        GatewayError("internal"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_cross_processes_whole(error: GatewayError) -> None:
    error.receipt_id = "01M8RECEIPT"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
    assert (copy.detail, copy.issues, copy.receipt_id, copy.retry_after) == (
        error.detail,
        error.issues,
        error.receipt_id,
        error.retry_after,
    )


def test_an_app_started_on_the_system_clock_has_pipeline_processes(gateway: Gateway) -> None:
    with Served(gateway) as served:
        assert served.app.state.pipeline_processes is not None
