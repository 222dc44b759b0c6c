"""The FastAPI application: routers, error rendering and request metrics over one Gateway."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import claims, ops, problems, signals, vss_portal, work
from gateway.api.openapi import GatewayApi
from gateway.bootstrap import Gateway
from gateway.metrics import Metrics
from gateway.soap import routes as soap


def create_app(gateway: Gateway) -> FastAPI:
    """The ASGI app serving REST and SOAP for ``gateway``."""
    app = GatewayApi(
        title="VSS interoperability gateway",
        version="1.0",
        description="Signed claims, dossiers and lookups between VSS and its partners.",
    )
    app.state.gateway = gateway
    routers = (ops.router, claims.router, signals.router, vss_portal.router, soap.router)
    for router in routers:
        app.include_router(router)
    problems.install(app, routes=[route for router in routers for route in router.routes])

    work.install(
        app,
        threads=gateway.settings.pipeline_threads,
        inline_bytes=gateway.settings.pipeline_inline_bytes,
    )
    app.add_middleware(RequestCounter, metrics=gateway.metrics)
    return app


class RequestCounter:
    """Counts requests by route template, method and status: a plain ASGI middleware, since
    ``@app.middleware("http")`` costs a third of a millisecond per request (bench/README.md)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = "500"

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(path, scope["method"], status).inc()
