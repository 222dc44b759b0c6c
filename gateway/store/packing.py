"""The codec scheme of bytes at rest: zstd frames with packaged dictionaries, codec and size.

Every store keeps a packed value as ``Packed``: its ``codec``, its ``size`` (the value's length)
and the ``blob``. Codecs:

    identity         the value itself (rows written before compression have this codec)
    zstd             a zstd frame, no dictionary
    zstd:{dict_id}   a zstd frame made with the dictionary ``dictionaries/{dict_id}.zdict``

Invariant: ``expand`` never produces more than ``size`` bytes (a frame that claims or yields
more is refused before its output is allocated) and raises ``Undecodable`` for anything it cannot
expand to exactly ``size`` bytes. What the bytes must then match (an original's SHA-256, a
record's frame checksum) is the caller's: ``gateway.store.originals``, ``.record_json``.
A dictionary, once blobs name it, stays in the package for as long as they are kept;
``python -m bench.dictionary`` trains new ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources

import zstandard

IDENTITY = "identity"
# The largest window a stored frame may ask for: frames of level 3 on values within the intake
# limit (64 MiB) need no more; a larger claim is a corrupt frame, not a bigger buffer.
_MAX_WINDOW = 1 << 27


@dataclass(frozen=True)
class Packed:
    """A value as stored: how it is encoded, how long it is, and the stored bytes."""

    codec: str
    size: int
    blob: bytes


def packed_row(codec: str, size: int | None, blob: bytes) -> Packed:
    """A stored row's value; rows of the identity codec written before sizes were kept have
    none: their length."""
    return Packed(codec, len(blob) if size is None else size, blob)


class Undecodable(ValueError):
    """A packed value that does not expand to its stored size: unknown codec or dictionary,
    a corrupt frame, a frame checksum that fails, or another length."""


def dictionary_path(dict_id: int) -> str:
    """The packaged file of dictionary ``dict_id``, relative to ``gateway.store``."""
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
        self.compressors: dict[tuple[int | None, int, bool], zstandard.ZstdCompressor] = {}
        self.decompressors: dict[int | None, zstandard.ZstdDecompressor] = {}


_coders = _Coders()


def compress(data: bytes, *, dictionary: int | None, level: int, checksum: bool = False) -> Packed:
    """``data`` as a zstd frame that records its length (and, if ``checksum``, its XXH64 check),
    made with the packaged ``dictionary`` (None: none)."""
    key = (dictionary, level, checksum)
    compressor = _coders.compressors.get(key)
    if compressor is None:
        dict_data = None if dictionary is None else _dictionary(dictionary)
        compressor = zstandard.ZstdCompressor(
            level=level, dict_data=dict_data, write_checksum=checksum
        )
        _coders.compressors[key] = compressor
    codec = "zstd" if dictionary is None else f"zstd:{dictionary}"
    return Packed(codec, len(data), compressor.compress(data))


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


def _dict_id(codec: str) -> int | None:
    """The dictionary a zstd codec names (None: none)."""
    if codec == "zstd":
        return None
    name, _, number = codec.partition(":")
    if name == "zstd" and number.isascii() and number.isdigit():
        return int(number)
    raise Undecodable(f"unknown codec {codec[:40]!r}")


MAGIC = b"\x28\xb5\x2f\xfd"  # how every zstd frame begins


def expand_frame(blob: bytes, *, limit: int) -> bytes:
    """The value of a zstd frame stored alone, which names its dictionary and length itself
    (a frame that does not say its length, or claims more than ``limit``, is ``Undecodable``)."""
    try:
        params = zstandard.get_frame_parameters(blob)
    except zstandard.ZstdError as exc:
        raise Undecodable(str(exc)) from exc
    size = params.content_size
    if size == zstandard.CONTENTSIZE_UNKNOWN or size > limit:
        raise Undecodable("a frame of unknown or excessive length")
    codec = f"zstd:{params.dict_id}" if params.dict_id else "zstd"
    return expand(Packed(codec, size, blob))


def expand(packed: Packed) -> bytes:
    """The value ``packed`` holds, exactly ``packed.size`` bytes long."""
    if packed.codec == IDENTITY:
        value = packed.blob
    else:
        dict_id = _dict_id(packed.codec)
        try:
            # The frame's own claim of its length is checked first, so a forged one cannot
            # make the decompressor allocate more than the stored size.
            if zstandard.frame_content_size(packed.blob) != packed.size:
                raise Undecodable("the frame claims another length")
            decompressor = _decompressor(dict_id)
            value = decompressor.decompress(packed.blob, max_output_size=packed.size)
        except (zstandard.ZstdError, KeyError) as exc:
            raise Undecodable(str(exc)) from exc
    if len(value) != packed.size:
        raise Undecodable("another length")
    return value
