"""Where pipeline work runs: on the event loop for ordinary documents, in a bounded pool of
worker threads for large ones.

Verification is CPU-bound and holds the GIL most of the time, so a worker thread buys no
parallelism for it, only contention with the event loop: handing a 20 KB batch to a thread cost
0.85 ms of CPU per request, 40 % of the request (bench/README.md). A large document still goes
to a thread, so that one 50 MB batch cannot stall every other connection for seconds; the
capacity limiter keeps those threads from contending with each other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import FastAPI, Request

P = ParamSpec("P")
T = TypeVar("T")


def install(app: FastAPI, *, threads: int, inline_bytes: int) -> None:
    app.state.pipeline_limiter = CapacityLimiter(threads)
    app.state.pipeline_inline_bytes = inline_bytes


async def run(
    request: Request, size: int, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``func`` for a document of ``size`` bytes: inline when small, else in a thread."""
    if size <= request.app.state.pipeline_inline_bytes:
        return func(*args, **kwargs)
    limiter: CapacityLimiter = request.app.state.pipeline_limiter
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=limiter)
