"""Operations routes: liveness, readiness, Prometheus metrics and published schemas."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from gateway.bootstrap import Gateway
from gateway.errors import Unavailable
from gateway.records.model import CommonRecord

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: every contract is loaded and the store answers")
async def readyz(request: Request) -> dict[str, str]:
    gateway: Gateway = request.app.state.gateway
    missing = gateway.missing_contracts()
    if missing:
        raise Unavailable(f"contracts not loaded: {', '.join(missing)}")
    await run_in_threadpool(gateway.pipeline.store.ping)  # raises Unavailable → 503
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    return Response(gateway.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/schemas/claim-payload", summary="JSON Schema of a claim record's payload")
def claim_payload_schema(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    return Response(
        orjson.dumps(gateway.claims.payload_schema()), media_type="application/schema+json"
    )


@router.get("/api/v1/schemas/record", summary="JSON Schema of the common record")
def record_schema() -> Response:
    return Response(
        orjson.dumps(CommonRecord.model_json_schema()), media_type="application/schema+json"
    )
