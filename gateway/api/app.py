"""The FastAPI application: routers, error rendering, the exchange middleware and the connection
guard's lifespan, over one Gateway."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.api import (
    claims,
    connections,
    exchange,
    heap,
    ops,
    problems,
    processes,
    signals,
    vss_portal,
    work,
)
from gateway.api.openapi import GatewayApi
from gateway.bootstrap import Gateway
from gateway.soap import routes as soap


def create_app(gateway: Gateway) -> FastAPI:
    """The ASGI app serving REST and SOAP for ``gateway``."""
    app = GatewayApi(
        title="VSS interoperability gateway",
        version="1.0",
        description="Signed claims, dossiers and lookups between VSS and its partners.",
        lifespan=heap.frozen_while_serving(
            processes.lifespan(gateway, connections.lifespan(gateway.settings))
        ),
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
    app.add_middleware(
        exchange.Exchange,
        metrics=gateway.metrics,
        body_timeout=gateway.settings.body_read_timeout,
    )
    return app
