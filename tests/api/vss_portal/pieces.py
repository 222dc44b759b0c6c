"""A body fed to a streaming reader of the portal in pieces cut at chosen offsets, as a network
delivers it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Protocol

from gateway.api.vss_portal.fields import Body, Fields, FieldSet


class Reader(Protocol):
    def feed(self, data: bytes) -> None: ...

    def finish(self) -> None: ...


def read_in_pieces(
    reader: Callable[[Fields], Reader], fields: FieldSet, body: bytes, cuts: list[int]
) -> Body:
    """What ``reader`` makes of ``body`` cut at ``cuts`` (a 10,000-byte document limit)."""
    found = Fields(fields, document_limit=10_000)
    parts = reader(found)
    for start, end in itertools.pairwise([0, *sorted(cuts), len(body)]):
        parts.feed(body[start:end])
    parts.finish()
    return found.body()
