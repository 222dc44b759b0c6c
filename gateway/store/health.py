"""What ``/readyz`` reports of the claims store's database: whether it answers, and its pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.errors import Unavailable


@dataclass(frozen=True)
class PoolState:
    """A process's connection pool: connections open (at most ``max_size``), lent out now, and
    requests queued for one (each waits ``POOL_WAIT`` seconds at most, then gets 503; psycopg's
    pool keeps those that gave up in its queue until a connection comes, so in an outage this
    counts the requests refused since it began)."""

    size: int
    max_size: int
    in_use: int
    waiting: int


@dataclass(frozen=True)
class DatabaseState:
    """Whether the database answered a query just now, and its pool (None: a store without a
    pool of its own to show)."""

    kind: str  # postgresql, sqlite or redis
    reachable: bool
    pool: PoolState | None = None


class Pingable(Protocol):
    def ping(self) -> None:
        """Raise ``Unavailable`` unless the store answers."""


def reachable(store: Pingable) -> bool:
    """Whether ``store`` answers its ping now."""
    try:
        store.ping()
    except Unavailable:
        return False
    return True
