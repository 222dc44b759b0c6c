"""Large submissions in processes of their own, so that their work never stalls the server.

A thread keeps a large batch off the event loop but not off its interpreter: the full garbage
collections and the freeing of a 60 MB batch's millions of objects hold the GIL for hundreds of
milliseconds at a time, in whichever thread they run, and every other partner's request waits
(bench/README.md, bench.bodies). A document above ``GATEWAY_PIPELINE_PROCESS_BYTES`` is therefore
submitted in a pool process: a gateway built from the same settings (its own store connections
to the same store, its own compiled contracts), started on first use and stopped with the app.
The serving process only hands over the bytes and gets the stored receipt back, and the metrics
the pipeline measured there are counted here.

What crosses between the processes is kept from stalling the server in turn. Pickling a 64 MiB
body holds the GIL for some 65 ms, and unpickling a receipt of 3,000 results as pydantic objects
for 97 ms (one C call each): the body goes through an anonymous in-memory file (``memfd``,
written with the GIL released, read by the pool process through ``/proc``), and the answer comes
back as the stored receipt's bytes. What an injected clock is to the tests, the pool
process cannot share: a gateway on another clock keeps large documents in threads.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway import logs
from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.errors import GatewayError, Unavailable
from gateway.metrics import Recorded, RecordingMetrics
from gateway.partners import Partner
from gateway.pipeline.batches import Outcome, submit_batch
from gateway.pipeline.ports import BatchFormat
from gateway.receipts import Receipt
from gateway.records.model import Channel
from gateway.store.ports import StoredReceipt

S = TypeVar("S")

# The gateway of a pool process, built once by ``_start``.
_gateway: Gateway | None = None


def _start(settings: Settings) -> None:
    global _gateway  # noqa: PLW0603 - one gateway per pool process, built when it starts
    # Ctrl-C reaches the whole process group: the serving process stops this one in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs.configure()
    _gateway = build(settings)


# What a pool process answers: the stored receipt and whether it is a duplicate, or the error
# that refused the batch; and what it measured.
_Answer = tuple[tuple[StoredReceipt, bool] | GatewayError, Recorded]


def _submit(body: _Body, partner_id: str, channel: Channel, format_name: str) -> _Answer:
    """In a pool process: ``submit_batch`` as the serving process would run it."""
    assert _gateway is not None, "the pool process was not started by _start"
    partner = _gateway.partners.get(partner_id)
    fmt = _formats(_gateway)[format_name]
    metrics = RecordingMetrics()
    deps = _gateway.pipeline.with_metrics(metrics)
    result: tuple[StoredReceipt, bool] | GatewayError
    try:
        if partner is None:  # the partner file changed between the two processes' starts
            raise Unavailable("the partner is not known to the pipeline process yet")
        outcome = submit_batch(body.read(), partner=partner, channel=channel, fmt=fmt, deps=deps)
        result = (outcome.stored, outcome.duplicate)
    except GatewayError as error:
        result = error
    return result, metrics.recorded()


@dataclass(frozen=True)
class _Body:
    """A document on its way to a pool process: in an anonymous in-memory file of the serving
    process (``pid``, ``fd``), or, where there is no ``memfd`` (not Linux), the bytes."""

    pid: int = 0
    fd: int = -1
    data: bytes = b""

    def read(self) -> bytes:
        if self.fd < 0:
            return self.data
        with open(f"/proc/{self.pid}/fd/{self.fd}", "rb") as file:
            return file.read()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _formats(gateway: Gateway) -> dict[str, BatchFormat]:
    return {fmt.name: fmt for fmt in (gateway.claims, gateway.checkin, gateway.assessment)}


class PipelineProcesses:
    """A pool of ``workers`` processes running submissions for ``gateway``."""

    def __init__(self, gateway: Gateway, *, workers: int) -> None:
        self._gateway = gateway
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._workers,
                    # Not fork: a copy of a threaded, serving process is no clean start.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self._gateway.settings,),
                )
            return self._pool

    async def submit(
        self, body: bytes, *, partner: Partner, channel: Channel, fmt: BatchFormat
    ) -> Outcome:
        if not hasattr(os, "memfd_create"):
            return await self._run(_Body(data=body), partner, channel, fmt)
        fd = os.memfd_create("gateway-submission", os.MFD_CLOEXEC)
        try:
            await asyncio.to_thread(_write_all, fd, body)
            return await self._run(_Body(os.getpid(), fd), partner, channel, fmt)
        finally:
            os.close(fd)

    async def _run(
        self, body: _Body, partner: Partner, channel: Channel, fmt: BatchFormat
    ) -> Outcome:
        pool = self._executor()
        try:
            future = pool.submit(_submit, body, partner.id, channel, fmt.name)
            result, recorded = await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            with self._lock:  # a process died (memory?): the next submission starts a new pool
                if self._pool is pool:
                    self._pool = None
            raise Unavailable("the pipeline process stopped; nothing was stored") from exc
        self._gateway.metrics.replay(recorded)
        if isinstance(result, GatewayError):
            raise result
        stored, duplicate = result
        return Outcome(Receipt.model_validate_json(stored.json), stored, duplicate)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def lifespan(
    gateway: Gateway, inner: Callable[[Any], AbstractAsyncContextManager[S]]
) -> Callable[[Any], AbstractAsyncContextManager[S]]:
    """``inner``, with the app's pipeline processes (``app.state.pipeline_processes``) stopped
    when it ends; none for a gateway whose clock is not the system's."""

    @asynccontextmanager
    async def serving(app: Any) -> AsyncIterator[S]:
        processes = None
        if gateway.on_system_clock and gateway.settings.pipeline_process_bytes:
            processes = PipelineProcesses(gateway, workers=gateway.settings.pipeline_threads)
        app.state.pipeline_processes = processes
        try:
            async with inner(app) as state:
                yield state
        finally:
            app.state.pipeline_processes = None
            if processes is not None:
                await asyncio.to_thread(processes.close)

    return serving
