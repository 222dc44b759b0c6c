"""The garbage collector of a serving app: what startup built is kept out of its full passes.

A full (generation 2) pass visits every object the collector tracks, about 1 µs each on the
bench VM, and holds the GIL throughout, whichever thread it runs in: a pass in a pipeline thread
stalls the event loop as much as one on it. Startup leaves some 85,000 such objects (modules,
FastAPI and pydantic models, compiled schemas) that live as long as the process, so every full
pass paid 75 ms for them, several times during a large batch (bench/README.md, bench.bodies).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

S = TypeVar("S")


def frozen_while_serving(
    lifespan: Callable[[Any], AbstractAsyncContextManager[S]],
) -> Callable[[Any], AbstractAsyncContextManager[S]]:
    """``lifespan``, with the objects alive when serving starts frozen out of the collector's
    passes until it ends. Unfrozen then, so that a process that serves several apps one after
    the other (the tests) can still collect the first one's garbage."""

    @asynccontextmanager
    async def serving(app: Any) -> AsyncIterator[S]:
        gc.collect()  # garbage frozen now would never be collected
        gc.freeze()
        try:
            async with lifespan(app) as state:
                yield state
        finally:
            gc.unfreeze()

    return serving
