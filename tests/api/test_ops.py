"""Operations endpoints: health, readiness, metrics, docs and the published record schema."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.partners import token_hash
from gateway.xml.contracts import Contracts, default_folder
from tests.conftest import HOSPITAL, TOKENS, Served

XML = {"Content-Type": "application/xml"}


def test_health_and_readiness(served: Served) -> None:
    with served.client(None) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz").json()
        assert ready == {
            "status": "ready",
            "database": {"kind": "sqlite", "reachable": True, "pool": None},
        }


def test_readiness_is_refused_while_a_format_lacks_its_contract(
    gateway: Gateway, tmp_path: Path
) -> None:
    # build() refuses such a gateway at startup (test_installed); readiness says it too, for a
    # probe that asks a gateway whose contracts are not all loaded.
    shutil.copytree(default_folder() / "xsd", tmp_path / "xsd")
    shutil.copytree(default_folder() / "wsdl", tmp_path / "wsdl")
    (tmp_path / "xsd/qd130/xml4.xsd").unlink()
    partial = dataclasses.replace(gateway, contracts=Contracts.load(tmp_path))
    with Served(partial) as served, served.client(None) as http:
        answer = http.get("/readyz")
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert answer.json()["code"] == "UNAVAILABLE"
    assert "xsd/qd130/xml4.xsd" in answer.json()["detail"]


def test_metrics_count_requests_results_and_step_latencies(
    served: Served, batch: Callable[..., bytes]
) -> None:
    with served.client() as http:
        http.post("/api/v1/claims", content=batch(2), headers=XML)
        http.post("/api/v1/claims", content=b"<GIAMDINHHS/>", headers=XML)  # not signed
        text = http.get("/metrics").text
    assert 'gateway_results_total{code="ACCEPTED"} 2.0' in text
    assert 'gateway_results_total{code="SIGNATURE_MISSING"} 1.0' in text
    assert 'gateway_requests_total{method="POST",route="/api/v1/claims",status="200"} 1.0' in text
    for step in ("parse", "verify", "validate", "normalize", "store", "receipt"):
        assert f'gateway_pipeline_step_seconds_count{{step="{step}"}}' in text


OPERATOR = "operator-token-" + "f" * 24


@pytest.fixture
def watched(settings: Settings) -> Iterator[Served]:
    """A gateway whose metrics are read from 127.0.0.1, or with the operator's token."""
    update = {"metrics_networks": ["127.0.0.1/32"], "metrics_token_hash": token_hash(OPERATOR)}
    gateway = build(settings.model_copy(update=update))
    with Served(gateway) as served:
        yield served
    gateway.close()


def test_metrics_are_read_from_the_configured_networks_or_with_the_operator_token(
    watched: Served,
) -> None:
    elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=watched.url, transport=elsewhere) as http:
        refused = http.get("/metrics")
        partner = http.get("/metrics", headers={"Authorization": f"Bearer {TOKENS[HOSPITAL]}"})
        operator = http.get("/metrics", headers={"Authorization": f"Bearer {OPERATOR}"})
    with watched.client(None) as http:
        listed = http.get("/metrics")
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    assert (partner.status_code, partner.json()["code"]) == (401, "UNAUTHORIZED")
    assert operator.status_code == 200 and "gateway_requests_total" in operator.text
    assert listed.status_code == 200 and "gateway_requests_total" in listed.text


def test_metrics_behind_a_trusted_proxy_are_for_the_address_it_saw(settings: Settings) -> None:
    # The default networks (loopback only), and a proxy on loopback: its clients are not local.
    proxied = build(settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32"]}))
    with Served(proxied) as served, served.client(None) as http:
        outside = http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        itself = http.get("/metrics")
    proxied.close()
    assert (outside.status_code, outside.json()["code"]) == (403, "FORBIDDEN")
    assert itself.status_code == 200


def test_docs_openapi_and_record_schema(served: Served) -> None:
    with served.client(None) as http:
        assert "swagger-ui" in http.get("/docs").text
        paths = http.get("/openapi.json").json()["paths"]
        assert {"/api/v1/claims", "/api/v1/receipts/{receipt_id}", "/soap/claims"} <= set(paths)
        schema = http.get("/api/v1/schemas/record").json()
        assert schema["properties"]["kind"]["enum"] == [
            "hi_claim",
            "hi_checkin",
            "hi_assessment",
            "dossier",
        ]
        assert {"id", "source", "signature", "original", "subject", "payload"} <= set(
            schema["required"]
        )


def test_unknown_route_is_a_problem(served: Served) -> None:
    with served.client(None) as http:
        answer = http.get("/api/v1/nothing-here")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "NOT_FOUND"
