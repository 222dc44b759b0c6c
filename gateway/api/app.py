"""The FastAPI application: routers, error rendering and request metrics over one Gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from gateway.api import claims, ops, problems
from gateway.bootstrap import Gateway
from gateway.soap import routes as soap


def create_app(gateway: Gateway) -> FastAPI:
    """The ASGI app serving REST and SOAP for ``gateway``."""
    app = FastAPI(
        title="VSS interoperability gateway",
        version="1.0",
        description="Signed claims, dossiers and lookups between VSS and its partners.",
    )
    app.state.gateway = gateway
    problems.install(app)
    app.include_router(ops.router)
    app.include_router(claims.router)
    app.include_router(soap.router)

    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        gateway.metrics.requests.labels(path, request.method, str(response.status_code)).inc()
        return response

    return app
