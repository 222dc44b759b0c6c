"""A SQLite claims store file an older release wrote, opened by this one: the stores that read
it once upgraded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from gateway.store.ports import Submission
from gateway.store.sqlite import SqliteStore


@contextlib.contextmanager
def upgraded_readers(path: Path, new: Submission) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    """Two stores on ``path``: the first opens (and upgrades) it and saves ``new``, the second
    opens it upgraded; both closed when the block ends."""
    store, another = SqliteStore(path), SqliteStore(path)
    try:
        store.save_accepted(new)
        yield store, another
    finally:
        store.close()
        another.close()
