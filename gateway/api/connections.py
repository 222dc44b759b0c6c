"""The HTTP server's guard over connections, before a request reaches the app: the time a client
has to send a request's head, and how many connections one source address may hold.

uvicorn's h11 protocol takes every connection it is given and waits for a request's head without
a deadline: its keep-alive timeout runs only between two requests and stops at the first byte of
the next, and a new connection has none. One client sending a few header bytes now and then over
many connections (slowloris) could hold them all. What else bounds a slow client: asyncio gives a
TLS handshake 60 s; ``gateway.api.exchange`` gives each piece of a body the app reads
GATEWAY_BODY_READ_TIMEOUT; and here, the rest of a body the app did not read (an early 401) gets
the same deadline as a head, after which the connection is closed.

uvicorn's ``limit_concurrency`` is left unset: it answers 503 to *every* request once the
connections (slow ones included) reach it, so slow clients from many addresses would turn it into
a way to refuse everyone. Per source, with these deadlines, a slow client holds few connections
and not for long; the process's file-descriptor limit is the bound over all.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from gateway.api.tls import ClientCertH11Protocol, is_trusted_proxy
from gateway.config import Settings
from gateway.sources import source_key

log = logging.getLogger(__name__)

# Where the app's lifespan state holds the guard of the server serving it.
_STATE = "gateway.connection_guard"


class ConnectionGuard:
    """The connections one server (one worker process) holds, counted per source address."""

    def __init__(
        self, *, head_timeout: float, max_per_source: int, trusted_proxies: list[str]
    ) -> None:
        self.head_timeout = head_timeout
        self.max_per_source = max_per_source
        self.trusted_proxies = trusted_proxies
        self._open: Counter[str] = Counter()
        self._refusing: set[str] = set()  # sources refused since they last had room, logged once

    def enter(self, address: str | None) -> Callable[[], None] | None:
        """Count a new connection from ``address``: the function that uncounts it when it ends,
        or ``None`` when its source holds as many as it may. A trusted proxy, whose address all
        its clients share, is not counted: it limits them itself."""
        if address and is_trusted_proxy(address, self.trusted_proxies):
            return lambda: None
        source = source_key(address)
        if self._open[source] >= self.max_per_source:
            if source not in self._refusing:
                self._refusing.add(source)
                log.warning(
                    "%s holds %d connections, the most one source may (per worker): new ones "
                    "are closed until one ends",
                    source,
                    self.max_per_source,
                )
            return None
        self._open[source] += 1

        def leave() -> None:
            self._open[source] -= 1
            if not self._open[source]:
                del self._open[source]
            self._refusing.discard(source)

        return leave


def lifespan(
    settings: Settings,
) -> Callable[[Any], AbstractAsyncContextManager[Mapping[str, Any]]]:
    """The app's lifespan: each server that starts it (each worker process) gets a guard of its
    own, which ``GuardedH11Protocol`` reads from the lifespan state."""

    @asynccontextmanager
    async def serving(app: Any) -> AsyncIterator[Mapping[str, Any]]:
        yield {
            _STATE: ConnectionGuard(
                head_timeout=settings.header_read_timeout,
                max_per_source=settings.max_connections_per_source,
                trusted_proxies=settings.trusted_proxies,
            )
        }

    return serving


class GuardedH11Protocol(ClientCertH11Protocol):
    """uvicorn's h11 protocol (with client certificates) under the app's ``ConnectionGuard``.

    Invariant: while no request is in the app's hands (before the first, between two once the
    next one's first byte has come, after an answer whose request body is still coming), a
    deadline runs, and the connection is closed when it passes."""

    _leave: Callable[[], None] | None = None
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        guard = self.app_state.get(_STATE)
        if not isinstance(guard, ConnectionGuard):
            raise RuntimeError("GuardedH11Protocol serves the app of gateway.api.app.create_app")
        self._guard = guard
        self._leave = guard.enter(self.client[0] if self.client else None)
        if self._leave is None:
            transport.close()  # at once: a refused connection costs the server nothing more
            return
        self._wait_for_client()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is None or self.cycle.response_complete:
            self._wait_for_client()
        else:
            self._stop_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        if self._leave is not None:
            self._leave()
            self._leave = None
        super().connection_lost(exc)

    def _wait_for_client(self) -> None:
        # Started once, not again at each byte: the deadline is for the whole head.
        if self._deadline is None and not self.transport.is_closing():
            self._deadline = self.loop.call_later(self._guard.head_timeout, self._cut_off)

    def _stop_waiting(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _cut_off(self) -> None:
        self._deadline = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
