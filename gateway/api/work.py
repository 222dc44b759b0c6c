"""Where pipeline work runs: on the event loop for documents that are cheap to process, in a
bounded pool of worker threads for the others, and in pipeline processes for large submissions
(gateway/api/processes.py).

Verification is CPU-bound and holds the GIL most of the time, so a worker thread buys no
parallelism for it, only contention with the event loop: handing a 20 KB batch to a thread cost
0.85 ms of CPU per request, 40 % of the request (bench/README.md). A costly document still goes
to a thread, so that one 50 MB batch cannot stall every other connection for seconds; the
capacity limiter keeps those threads from contending with each other.

Cheap is not small: the pipeline pays per byte (parsing, digests, base64) and per element (each
HOSO, table, receipt entry). 376 KiB of 2,759 empty HOSO took 0.9 s, where 512 KiB of real visits
took 0.1 s; so a document runs inline only when both its bytes and its tags are few.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import FastAPI, Request

from gateway.bootstrap import Gateway
from gateway.partners import Partner
from gateway.pipeline.batches import Outcome, submit_batch
from gateway.pipeline.ports import BatchFormat
from gateway.records.model import Channel

P = ParamSpec("P")
T = TypeVar("T")

# Tags ("<") of a document run inline at most: about 35 µs of pipeline each at worst (HOSO of an
# empty table, each a rejection in the receipt), so 20 ms; a two-visit batch has about 100.
INLINE_TAGS = 512


def install(app: FastAPI, *, threads: int, inline_bytes: int) -> None:
    app.state.pipeline_limiter = CapacityLimiter(threads)
    app.state.pipeline_inline_bytes = inline_bytes


def cheap(document: bytes, *, inline_bytes: int) -> bool:
    """Whether the pipeline's work on ``document`` is bounded small enough to run inline."""
    return len(document) <= inline_bytes and document.count(b"<") <= INLINE_TAGS


async def run(
    request: Request, document: bytes, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``func``, the pipeline's work on ``document``: inline when cheap, else in a thread."""
    if cheap(document, inline_bytes=request.app.state.pipeline_inline_bytes):
        return func(*args, **kwargs)
    return await offload(request, func, *args, **kwargs)


async def submit(
    request: Request, document: bytes, *, partner: Partner, channel: Channel, fmt: BatchFormat
) -> Outcome:
    """``submit_batch`` of ``document`` where its size says: inline, in a pipeline thread, or,
    over ``GATEWAY_PIPELINE_PROCESS_BYTES``, in a pipeline process (one at a time per thread)."""
    gateway: Gateway = request.app.state.gateway
    processes = getattr(request.app.state, "pipeline_processes", None)
    if processes is not None and len(document) > gateway.settings.pipeline_process_bytes:
        limiter: CapacityLimiter = request.app.state.pipeline_limiter
        async with limiter:
            outcome: Outcome = await processes.submit(
                document, partner=partner, channel=channel, fmt=fmt
            )
            return outcome
    return await run(
        request,
        document,
        submit_batch,
        document,
        partner=partner,
        channel=channel,
        fmt=fmt,
        deps=gateway.pipeline,
    )


async def offload(request: Request, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``func`` in a pipeline thread: for work whose cost is not known before it starts."""
    limiter: CapacityLimiter = request.app.state.pipeline_limiter
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=limiter)
