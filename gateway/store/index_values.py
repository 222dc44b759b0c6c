"""Index entries at rest (visit history, signals): each value a zstd frame with the entries'
dictionary and its checksum, naming its own dictionary and length.

An entry is one short JSON value appended to a list; a codec column per entry would cost as much
as compression saves, so the frame describes itself: zstd's magic number, which no JSON value
begins with, tells a packed value from one stored before compression (read as it is), and the
frame header names the dictionary and the length. Invariant: ``unpack_entry`` returns the
appended value or raises ``EntryCorrupt``, and never produces more than ``MAX_ENTRY`` bytes.
``python -m bench.dictionary --entries`` trains a new dictionary.
"""

from __future__ import annotations

from gateway.errors import EntryCorrupt
from gateway.store.packing import MAGIC, Undecodable, compress, expand_frame

# The dictionary new entries are compressed with, trained on the entries of generated batches of
# other hospitals: 736 bytes of entries per HOSO to 236 at level 3 (plain zstd: 539).
ENTRY_DICTIONARY: int | None = 1074525598
LEVEL = 3
# No entry the pipeline appends comes near this; a frame claiming more is corrupt.
MAX_ENTRY = 1 << 20


def pack_entry(value: bytes) -> bytes:
    """``value`` as a frame of the entries' dictionary, with its length and checksum."""
    return compress(value, dictionary=ENTRY_DICTIONARY, level=LEVEL, checksum=True).blob


def unpack_entry(stored: bytes, *, name: str) -> bytes:
    """The value an entry of list ``name`` holds."""
    if not stored.startswith(MAGIC):
        return stored  # appended before compression
    try:
        return expand_frame(stored, limit=MAX_ENTRY)
    except Undecodable as exc:
        raise EntryCorrupt(name) from exc
