"""Records' JSON at rest: zstd with a packaged dictionary, each frame carrying its checksum.

A record is packed by the scheme of ``gateway.store.packing`` (codec, size, blob). Nothing signed
names a record's bytes as a SHA-256 names an original's, so its frame carries zstd's XXH64
checksum of the content instead: a changed blob fails it, or fails to expand to its stored size.
Invariant: ``unpack_record`` returns the stored JSON or raises ``RecordCorrupt``, and never
produces more than the stored size. Rows stored before compression (codec ``identity``) read
as they are. ``python -m bench.dictionary --records`` trains a new dictionary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.errors import RecordCorrupt
from gateway.store.packing import Packed, Undecodable, compress, expand, packed_row
from gateway.store.ports import StoredRecord

# The dictionary new records are compressed with, trained on generated records of other
# hospitals than the bench's: 11 KB of JSON per HOSO to 0.7 KB at level 3 (plain zstd: 2.6 KB).
RECORD_DICTIONARY: int | None = 2101826625
LEVEL = 3


def pack_record(json: bytes) -> Packed:
    """A record's JSON compressed with the records' dictionary, with its length and checksum."""
    return compress(json, dictionary=RECORD_DICTIONARY, level=LEVEL, checksum=True)


def unpack_record(packed: Packed, *, record_id: str) -> bytes:
    """The JSON of record ``record_id`` that ``packed`` holds."""
    try:
        return expand(packed)
    except Undecodable as exc:
        raise RecordCorrupt(record_id) from exc


# The columns a SQL store reads a record back from, in ``record_of``'s order.
RECORD_COLUMNS = "receipt_id, partner_id, codec, size, json"


def record_of(record_id: str, row: Sequence[Any] | None) -> StoredRecord | None:
    """Record ``record_id`` from a row of ``RECORD_COLUMNS``, if one was found."""
    if row is None:
        return None
    receipt_id, partner_id, codec, size, blob = row
    json = unpack_record(packed_row(codec, size, bytes(blob)), record_id=record_id)
    return StoredRecord(record_id, receipt_id, partner_id, json)
