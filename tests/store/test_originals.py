"""Originals at rest: packed by zstd with the packaged dictionary, refused when they no longer
match their SHA-256, and rows written uncompressed by an older gateway still read."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
import zstandard

from gateway.errors import OriginalCorrupt
from gateway.store import originals
from gateway.store.originals import IDENTITY, Packed, pack, unpack
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SqliteStore
from gateway.store.sqlite_dossiers import SqliteDossierStore
from tests.support.dossiers import new_dossier
from tests.support.upgraded import upgraded_readers

if TYPE_CHECKING:
    from tests.store.conftest import ClaimXml, MakeSubmission


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def flipped(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]


# -- pack and unpack ---------------------------------------------------------------------------


def test_a_signed_batch_round_trips_compressed_with_the_dictionary(
    batch: Callable[..., bytes],
) -> None:
    data = batch(2)

    packed = pack(data)

    assert packed.codec == f"zstd:{originals.WRITE_DICTIONARY}"
    assert packed.size == len(data)
    # The dictionary pays: well under plain zstd, which itself keeps about a quarter.
    assert len(packed.blob) < len(zstandard.ZstdCompressor(level=3).compress(data)) / 2
    assert unpack(packed, sha256=digest(data)) == data


def test_packaged_dictionary_is_named_by_its_own_id() -> None:
    assert originals.WRITE_DICTIONARY is not None
    path = Path(originals.__file__).parent / originals.dictionary_path(originals.WRITE_DICTIONARY)
    assert zstandard.ZstdCompressionDict(path.read_bytes()).dict_id() == originals.WRITE_DICTIONARY


def test_plain_zstd_and_identity_blobs_read() -> None:
    data = "<GIAMDINHHS>Nguyễn Văn An</GIAMDINHHS>".encode() * 50
    plain = Packed("zstd", len(data), zstandard.ZstdCompressor().compress(data))

    assert unpack(plain, sha256=digest(data)) == data
    assert unpack(Packed(IDENTITY, len(data), data), sha256=digest(data)) == data


@pytest.mark.parametrize("at", [0, 5, -20, -1])
def test_a_tampered_blob_is_refused(batch: Callable[..., bytes], at: int) -> None:
    data = batch(1)
    packed = pack(data)

    with pytest.raises(OriginalCorrupt):
        unpack(
            replace(packed, blob=flipped(packed.blob, at % len(packed.blob))), sha256=digest(data)
        )


def test_bytes_that_are_not_the_original_are_refused_under_every_codec() -> None:
    data, other = b"<a>original</a>", b"<a>another</a>"

    for packed in (pack(other), Packed(IDENTITY, len(other), other)):
        with pytest.raises(OriginalCorrupt):
            unpack(packed, sha256=digest(data))


def test_a_frame_claiming_more_than_the_stored_size_is_refused_before_it_is_decompressed() -> None:
    # A bomb: 64 MiB of zeros in a few KB; the stored size says 100 bytes.
    bomb = zstandard.ZstdCompressor().compress(bytes(64 << 20))

    with pytest.raises(OriginalCorrupt):
        unpack(Packed("zstd", 100, bomb), sha256="0" * 64)


def test_a_frame_without_its_length_is_refused() -> None:
    data = b"<a>original</a>" * 10
    unsized = zstandard.ZstdCompressor(write_content_size=False).compress(data)

    with pytest.raises(OriginalCorrupt):
        unpack(Packed("zstd", len(data), unsized), sha256=digest(data))


@pytest.mark.parametrize("codec", ["zstd:12345", "zstd:x", "gzip", "zstd:"])
def test_an_unknown_codec_or_dictionary_is_refused(codec: str) -> None:
    data = b"<a>original</a>"
    packed = pack(data)

    with pytest.raises(OriginalCorrupt):
        unpack(replace(packed, codec=codec), sha256=digest(data))


# -- in the stores -----------------------------------------------------------------------------


def test_sqlite_stores_originals_compressed(
    tmp_path: Path, make_submission: MakeSubmission, batch: Callable[..., bytes]
) -> None:
    submission = make_submission(batch(2))
    store = SqliteStore(tmp_path / "gateway.sqlite3")
    try:
        store.save_accepted(submission)
    finally:
        store.close()

    with sqlite3.connect(tmp_path / "gateway.sqlite3") as db:
        codec, size, body = db.execute("SELECT codec, size, body FROM originals").fetchone()
    assert (codec, size) == (f"zstd:{originals.WRITE_DICTIONARY}", len(submission.original))
    assert len(body) < len(submission.original) / 4


def test_a_tampered_original_is_refused_by_the_sqlite_store(
    sqlite_store: SqliteStore,
    tmp_path: Path,
    make_submission: MakeSubmission,
    claim_xml: ClaimXml,
) -> None:
    submission = make_submission(claim_xml())
    sha256 = submission.receipt.sha256
    sqlite_store.save_accepted(submission)

    with sqlite3.connect(tmp_path / "gateway.sqlite3") as db:
        (body,) = db.execute("SELECT body FROM originals").fetchone()
        db.execute("UPDATE originals SET body = ?", (flipped(body, len(body) // 2),))

    with pytest.raises(OriginalCorrupt):
        sqlite_store.get_original(sha256)


def test_a_tampered_original_is_refused_by_the_redis_store(
    redis_store: RedisStore, redis_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    submission = make_submission(claim_xml())
    sha256 = submission.receipt.sha256
    redis_store.save_accepted(submission)
    client = redis.Redis.from_url(redis_url)
    key = f"gw:original:{sha256}"
    body = client.hget(key, "body")
    assert isinstance(body, bytes)
    client.hset(key, "body", flipped(body, len(body) // 2))
    client.close()

    with pytest.raises(OriginalCorrupt):
        redis_store.get_original(sha256)


def test_a_tampered_dossier_original_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dossiers.sqlite3"
    new = new_dossier()
    store = SqliteDossierStore(path)
    try:
        store.create(new)
        with sqlite3.connect(path) as db:
            db.execute("UPDATE dossier_originals SET size = size + 1")

        with pytest.raises(OriginalCorrupt):
            store.get_original(new.receipt.sha256)
    finally:
        store.close()


def _old_originals(path: Path, table: str, originals_: list[bytes]) -> None:
    """A file as a gateway before compression left it: ``table`` of (sha256, body)."""
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE {table} (sha256 TEXT PRIMARY KEY, body BLOB NOT NULL)")
        db.executemany(
            f"INSERT INTO {table} (sha256, body) VALUES (?, ?)",
            [(digest(o), o) for o in originals_],
        )
    db.close()


def test_sqlite_rows_stored_uncompressed_still_read(
    tmp_path: Path, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    path = tmp_path / "gateway.sqlite3"
    old, tampered = claim_xml(), claim_xml()
    _old_originals(path, "originals", [old])
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO originals VALUES (?, ?)", (digest(tampered), tampered + b" "))
    db.close()

    new = make_submission(claim_xml())
    with upgraded_readers(path, new) as readers:
        for reader in readers:
            assert reader.get_original(digest(old)) == old
            assert reader.get_original(new.receipt.sha256) == new.original
            with pytest.raises(OriginalCorrupt):
                reader.get_original(digest(tampered))


def test_sqlite_dossier_rows_stored_uncompressed_still_read(tmp_path: Path) -> None:
    path = tmp_path / "dossiers.sqlite3"
    old = "<HoSo>Trần Thị Bình</HoSo>".encode()
    _old_originals(path, "dossier_originals", [old])

    store = SqliteDossierStore(path)
    try:
        new = new_dossier()
        store.create(new)

        assert store.get_original(digest(old)) == old
        assert store.get_original(new.receipt.sha256) == new.original
    finally:
        store.close()


def test_redis_originals_stored_as_strings_still_read(
    redis_store: RedisStore, redis_url: str
) -> None:
    old = "<GIAMDINHHS>Nguyễn Văn An</GIAMDINHHS>".encode()
    client = redis.Redis.from_url(redis_url)
    client.set(f"gw:original:{digest(old)}", old)
    client.set(f"gw:original:{digest(b'other')}", b"not other")
    client.close()

    assert redis_store.get_original(digest(old)) == old
    with pytest.raises(OriginalCorrupt):
        redis_store.get_original(digest(b"other"))
