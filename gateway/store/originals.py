"""Original bytes at rest: zstd-compressed (with a packaged dictionary) and verified on read.

Every store keeps an original as ``Packed``: its ``codec``, its ``size`` (the original's length)
and the ``blob``. Codecs:

    identity         the original itself (rows written before compression have this codec)
    zstd             a zstd frame, no dictionary
    zstd:{dict_id}   a zstd frame made with the dictionary ``dictionaries/{dict_id}.zdict``

Invariant: ``unpack`` returns the original or raises ``OriginalCorrupt``; it never hands back
bytes whose SHA-256 is not the stored one, and never produces more than ``size`` bytes (a frame
that claims or yields more is refused before its output is allocated). A dictionary, once blobs
name it, stays in the package for as long as they are kept; ``python -m bench.dictionary`` trains
a new one from generated batches and ``WRITE_DICTIONARY`` names the one new blobs use.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources

import zstandard

from gateway.errors import OriginalCorrupt

IDENTITY = "identity"
# The dictionary new originals are compressed with (None: plain zstd). 0 would be "no dictionary"
# to zstd itself, so ids are positive.
WRITE_DICTIONARY: int | None = 564617407
# Level 3 (zstd's default): with the dictionary, 1.7 KB per HOSO at ~60 µs a batch; level 9
# saves 0.2 KB more for four times the time (bench.dictionary prints both).
LEVEL = 3
# The largest window a stored frame may ask for: frames of level 3 on originals within the
# intake limit (64 MiB) need no more; a larger claim is a corrupt frame, not a bigger buffer.
_MAX_WINDOW = 1 << 27


@dataclass(frozen=True)
class Packed:
    """An original as stored: how it is encoded, how long it is, and the stored bytes."""

    codec: str
    size: int
    blob: bytes


def dictionary_path(dict_id: int) -> str:
    """The packaged file of dictionary ``dict_id``, relative to this package."""
    return f"dictionaries/{dict_id}.zdict"


@cache
def _dictionary(dict_id: int) -> zstandard.ZstdCompressionDict:
    """The packaged dictionary ``dict_id`` (KeyError if this gateway does not ship it)."""
    try:
        data = resources.files("gateway.store").joinpath(dictionary_path(dict_id)).read_bytes()
    except FileNotFoundError as exc:
        raise KeyError(dict_id) from exc
    dictionary = zstandard.ZstdCompressionDict(data)
    if dictionary.dict_id() != dict_id:
        raise KeyError(dict_id)
    return dictionary


# Compressor and decompressor objects may not be shared by threads at once: one per thread.
class _Coders(threading.local):
    def __init__(self) -> None:
        self.compressor: zstandard.ZstdCompressor | None = None
        self.decompressors: dict[int | None, zstandard.ZstdDecompressor] = {}


_coders = _Coders()


def _compressor() -> zstandard.ZstdCompressor:
    if _coders.compressor is None:
        if WRITE_DICTIONARY is None:
            _coders.compressor = zstandard.ZstdCompressor(level=LEVEL)
        else:
            dictionary = _dictionary(WRITE_DICTIONARY)
            _coders.compressor = zstandard.ZstdCompressor(level=LEVEL, dict_data=dictionary)
    return _coders.compressor


def _decompressor(dict_id: int | None) -> zstandard.ZstdDecompressor:
    decompressor = _coders.decompressors.get(dict_id)
    if decompressor is None:
        if dict_id is None:
            decompressor = zstandard.ZstdDecompressor(max_window_size=_MAX_WINDOW)
        else:
            decompressor = zstandard.ZstdDecompressor(
                dict_data=_dictionary(dict_id), max_window_size=_MAX_WINDOW
            )
        _coders.decompressors[dict_id] = decompressor
    return decompressor


def pack(original: bytes) -> Packed:
    """The original compressed with the current dictionary; its frame records its length."""
    codec = "zstd" if WRITE_DICTIONARY is None else f"zstd:{WRITE_DICTIONARY}"
    return Packed(codec, len(original), _compressor().compress(original))


def _dict_id(codec: str, sha256: str) -> int | None:
    """The dictionary a zstd codec names (None: none); an unknown codec is corrupt data."""
    if codec == "zstd":
        return None
    name, _, number = codec.partition(":")
    if name == "zstd" and number.isascii() and number.isdigit():
        return int(number)
    raise OriginalCorrupt(sha256)


def unpack(packed: Packed, *, sha256: str) -> bytes:
    """The original bytes of ``packed``, whose SHA-256 (hex) must be ``sha256``."""
    if packed.codec == IDENTITY:
        original = packed.blob
    else:
        dict_id = _dict_id(packed.codec, sha256)
        try:
            # The frame's own claim of its length is checked first, so a forged one cannot
            # make the decompressor allocate more than the stored size.
            if zstandard.frame_content_size(packed.blob) != packed.size:
                raise OriginalCorrupt(sha256)
            decompressor = _decompressor(dict_id)
            original = decompressor.decompress(packed.blob, max_output_size=packed.size)
        except (zstandard.ZstdError, KeyError) as exc:
            raise OriginalCorrupt(sha256) from exc
    if len(original) != packed.size or hashlib.sha256(original).hexdigest() != sha256:
        raise OriginalCorrupt(sha256)
    return original
