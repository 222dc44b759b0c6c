"""The FastAPI application: routers, error rendering, the exchange middleware and the connection
guard's lifespan, over one Gateway."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI

from gateway.api import (
    claims,
    connections,
    dossiers,
    exchange,
    heap,
    ops,
    problems,
    processes,
    queues,
    si_records,
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
            processes.lifespan(
                gateway, _routing_reloads(gateway, connections.lifespan(gateway.settings))
            )
        ),
    )
    app.state.gateway = gateway
    routers = (
        ops.router,
        claims.router,
        dossiers.router,
        queues.router,
        signals.router,
        si_records.router,
        vss_portal.router,
        soap.router,
    )
    for router in routers:
        app.include_router(router)
    problems.install(app, routes=[route for router in routers for route in router.routes])

    work.install(
        app,
        threads=gateway.settings.pipeline_threads,
        inline_bytes=gateway.inline_bytes,
    )
    app.add_middleware(
        exchange.Exchange,
        metrics=gateway.metrics,
        body_timeout=gateway.settings.body_read_timeout,
    )
    return app


S = TypeVar("S")


def _routing_reloads(
    gateway: Gateway, inner: Callable[[Any], AbstractAsyncContextManager[S]]
) -> Callable[[Any], AbstractAsyncContextManager[S]]:
    """``inner``, with SIGHUP asking for the routing file to be read again while serving. A
    server whose loop cannot take signals (not in the main thread: tests) relies on the file's
    modification time alone."""

    @asynccontextmanager
    async def serving(app: Any) -> AsyncIterator[S]:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, gateway.dossiers.routing.request_reload)
            installed = True
        except (RuntimeError, ValueError, NotImplementedError):
            installed = False
        try:
            async with inner(app) as state:
                yield state
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGHUP)

    return serving
