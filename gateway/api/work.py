"""Where pipeline work runs: worker threads bounded by a capacity limiter per application.

Verification is CPU-bound and holds the GIL most of the time; more threads than the pipeline
can use only add contention (bench/README.md). The store's fsync releases the GIL, so a second
thread overlaps one request's commit with the next one's verification.
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


def install(app: FastAPI, threads: int) -> None:
    app.state.pipeline_limiter = CapacityLimiter(threads)


async def run(request: Request, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``func`` in a pipeline worker thread of ``request``'s application."""
    limiter: CapacityLimiter = request.app.state.pipeline_limiter
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=limiter)
