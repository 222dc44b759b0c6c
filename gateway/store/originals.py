"""Original bytes at rest: zstd-compressed (with a packaged dictionary) and verified on read.

Originals are packed by the scheme of ``gateway.store.packing`` (codec, size, blob).
Invariant: ``unpack`` returns the original or raises ``OriginalCorrupt``; it never hands back
bytes whose SHA-256 is not the stored one, and never produces more than ``size`` bytes.
``python -m bench.dictionary`` trains a new dictionary from generated batches and
``WRITE_DICTIONARY`` names the one new blobs use.
"""

from __future__ import annotations

import hashlib

from gateway.errors import OriginalCorrupt
from gateway.store.packing import IDENTITY, Packed, Undecodable, compress, dictionary_path, expand

__all__ = ["IDENTITY", "LEVEL", "WRITE_DICTIONARY", "Packed", "dictionary_path", "pack", "unpack"]

# The dictionary new originals are compressed with (None: plain zstd). 0 would be "no dictionary"
# to zstd itself, so ids are positive.
WRITE_DICTIONARY: int | None = 564617407
# Level 3 (zstd's default): with the dictionary, 1.7 KB per HOSO at ~60 µs a batch; level 9
# saves 0.2 KB more for four times the time (bench.dictionary prints both).
LEVEL = 3


def pack(original: bytes) -> Packed:
    """The original compressed with the current dictionary; its frame records its length."""
    return compress(original, dictionary=WRITE_DICTIONARY, level=LEVEL)


def unpack(packed: Packed, *, sha256: str) -> bytes:
    """The original bytes of ``packed``, whose SHA-256 (hex) must be ``sha256``."""
    try:
        original = expand(packed)
    except Undecodable as exc:
        raise OriginalCorrupt(sha256) from exc
    if hashlib.sha256(original).hexdigest() != sha256:
        raise OriginalCorrupt(sha256)
    return original
