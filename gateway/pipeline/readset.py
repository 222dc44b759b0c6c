"""The read set of a judgement: which index lists it read, and how long they were then.

Judging a visit against the history (resent versions, overlapping stays) reads index lists before
the store writes the new records. Two workers judging two submissions about the same visit or
card at the same moment would each miss the other. So the judgement reads through a ``ReadSet``,
the submission carries what it read, and the store writes it only if none of those lists has
grown meanwhile (optimistic concurrency; the pipeline judges again when one has).
"""

from __future__ import annotations

from gateway.store.ports import IndexRead, IndexReader


class ReadSet:
    """An ``IndexReader`` that remembers, per list, the most it can have held for every read
    made through it to come out the same."""

    def __init__(self, reader: IndexReader) -> None:
        self._reader = reader
        self._bounds: dict[str, int] = {}

    def entries(self, name: str, *, start: int = 0, limit: int | None = None) -> list[bytes]:
        values = self._reader.entries(name, start=start, limit=limit)
        if limit is None or len(values) < limit:
            # The read reached the end of the list: one more value would change it. A full
            # page does not depend on what is appended later (lists only grow).
            bound = start + len(values)
            self._bounds[name] = min(bound, self._bounds.get(name, bound))
        return values

    def reads(self) -> tuple[IndexRead, ...]:
        return tuple(IndexRead(name, length) for name, length in self._bounds.items())
