"""Operations routes: liveness, readiness, Prometheus metrics and published schemas."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gateway.api import operators, problems
from gateway.api.openapi import answer
from gateway.bootstrap import Gateway
from gateway.errors import Unavailable
from gateway.pipeline.ports import BatchFormat
from gateway.records.model import CommonRecord
from gateway.store.health import DatabaseState

router = APIRouter(tags=["operations"])

SCHEMA_JSON = "application/schema+json"
JSON_SCHEMA = {
    200: answer(SCHEMA_JSON, "a JSON Schema (draft 2020-12)", {"type": "object"}),
    **problems.responses(),
}


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    database: DatabaseState


@router.get(
    "/healthz",
    summary="Liveness: the process answers",
    response_model=Health,
    responses=problems.responses(),
)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: every contract is loaded and the store answers; the store's database "
    "and its connection pool (the 503 problem carries them too, as ``database``)",
    response_model=Readiness,
    responses=problems.responses(Unavailable),
)
async def readyz(request: Request) -> Readiness:
    gateway: Gateway = request.app.state.gateway
    missing = gateway.missing_contracts()
    if missing:
        raise Unavailable(f"contracts not loaded: {', '.join(missing)}")
    database = await run_in_threadpool(gateway.database_state)
    if not database.reachable:
        raise Unavailable("the store is unavailable", database=asdict(database))
    await run_in_threadpool(gateway.dossiers.store.ping)  # raises Unavailable → 503
    return Readiness(status="ready", database=database)


@router.get(
    "/metrics",
    summary="Prometheus metrics: from the operators' networks, or with the operator's token",
    response_class=Response,
    responses={
        200: answer(CONTENT_TYPE_LATEST, "Prometheus text format"),
        **problems.responses(*operators.ERRORS),
    },
    dependencies=[Depends(operators.operator)],
    openapi_extra=operators.SECURED,
)
def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    return Response(gateway.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/api/v1/schemas/claim-payload",
    summary="JSON Schema of a claim record's payload",
    response_class=Response,
    responses=JSON_SCHEMA,
)
async def claim_payload_schema(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    return Response(_schema_of(gateway.claims), media_type=SCHEMA_JSON)


@router.get(
    "/api/v1/schemas/record",
    summary="JSON Schema of the common record",
    response_class=Response,
    responses=JSON_SCHEMA,
)
async def record_schema() -> Response:
    return Response(_record_schema(), media_type=SCHEMA_JSON)


# Both are read without a credential, and building one costs milliseconds of CPU (28 ms for the
# claim payload): built once, served as bytes, on the event loop rather than in a thread.
_PAYLOAD_SCHEMAS: dict[str, bytes] = {}  # by format name


def _schema_of(fmt: BatchFormat) -> bytes:
    if fmt.name not in _PAYLOAD_SCHEMAS:
        _PAYLOAD_SCHEMAS[fmt.name] = orjson.dumps(fmt.payload_schema())
    return _PAYLOAD_SCHEMAS[fmt.name]


@functools.cache
def _record_schema() -> bytes:
    return orjson.dumps(CommonRecord.model_json_schema())
