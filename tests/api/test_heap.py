"""The objects alive when an app starts serving are frozen out of the collector until it stops."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gateway.api import heap


@asynccontextmanager
async def inner(app: Any) -> AsyncIterator[dict[str, int]]:
    yield {"state": 1}


def test_startup_objects_are_frozen_while_serving_and_released_after() -> None:
    seen: dict[str, Any] = {}

    async def serve() -> None:
        async with heap.frozen_while_serving(inner)(None) as state:
            seen["state"] = state
            seen["frozen"] = gc.get_freeze_count()

    asyncio.run(serve())

    assert seen["state"] == {"state": 1}
    assert seen["frozen"] > 0
    assert gc.get_freeze_count() == 0
