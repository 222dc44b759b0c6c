"""Where pipeline work runs, seen over real HTTP: on the event loop only for a document of few
bytes and few tags, in a pipeline thread otherwise, the same for REST and SOAP (pipeline
processes: test_processes.py)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Any

import pytest

from gateway.api import work
from tests.conftest import HOSPITAL, Pki, Served
from tests.support.batches import batch_with
from tests.support.soap import post_soap, soap_envelope

PIPELINE_THREAD = "AnyIO worker thread"
XML = {"Content-Type": "application/xml"}


def threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads submissions run in, as they run."""
    names: list[str] = []
    real = work.submit_batch

    def recording(*args: Any, **kwargs: Any) -> Any:
        names.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(work, "submit_batch", recording)
    return names


def test_a_two_visit_batch_runs_on_the_event_loop(
    served: Served, batch: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = threads(monkeypatch)
    with served.client() as http:
        assert http.post("/api/v1/claims", content=batch(2), headers=XML).status_code == 200
    assert len(names) == 1 and names[0] != PIPELINE_THREAD


def test_a_small_batch_of_many_tags_runs_in_a_pipeline_thread(
    served: Served, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 12 KB, each of its 80 HOSO a rejection to write into the receipt: cheap is not small.
    document = batch_with(pki.hospital, [{"XML1": b"<TONG_HOP/>"}] * 80)
    assert len(document) < 16 * 1024
    names = threads(monkeypatch)
    with served.client() as http:
        assert http.post("/api/v1/claims", content=document, headers=XML).status_code == 200
    assert names == [PIPELINE_THREAD]


def test_a_soap_submission_runs_where_the_same_rest_one_would(
    served: Served, batch: Callable[..., bytes], pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = threads(monkeypatch)
    many_tags = batch_with(pki.hospital, [{"XML1": b"<TONG_HOP/>"}] * 80)
    for document in (batch(1), many_tags):
        envelope = soap_envelope("SubmitClaimBatch", "Batch", base64.b64encode(document).decode())
        assert post_soap(served, "SubmitClaimBatch", envelope, HOSPITAL).status_code == 200
    assert len(names) == 2 and names[0] != PIPELINE_THREAD and names[1] == PIPELINE_THREAD
