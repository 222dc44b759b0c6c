"""Index entries at rest: each a zstd frame of the entries' dictionary that names itself, a
changed one refused, entries appended before compression still read."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import psycopg
import pytest
import redis
import zstandard

from gateway.errors import EntryCorrupt
from gateway.store import index_values
from gateway.store.index_values import MAX_ENTRY, pack_entry, unpack_entry
from gateway.store.packing import dictionary_path
from gateway.store.ports import IndexEntry
from gateway.store.postgres import PostgresStore
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SqliteStore
from tests.store.test_originals import flipped

if TYPE_CHECKING:
    from tests.store.conftest import ClaimXml, MakeSubmission

NAME = "visit-card:GD4797920123456"
VALUE = orjson.dumps({"record_id": "01JB", "facility": "01929", "from": "2024-05-01"})


def test_an_entry_is_a_frame_of_the_entries_dictionary_and_reads_back() -> None:
    stored = pack_entry(VALUE)

    params = zstandard.get_frame_parameters(stored)
    assert (params.dict_id, params.content_size) == (index_values.ENTRY_DICTIONARY, len(VALUE))
    assert len(stored) < len(VALUE)
    assert unpack_entry(stored, name=NAME) == VALUE


def test_the_entries_dictionary_is_packaged_under_its_own_id() -> None:
    assert index_values.ENTRY_DICTIONARY is not None
    path = Path(index_values.__file__).parent / dictionary_path(index_values.ENTRY_DICTIONARY)
    assert zstandard.ZstdCompressionDict(path.read_bytes()).dict_id() == (
        index_values.ENTRY_DICTIONARY
    )


@pytest.mark.parametrize("at", [5, 8, -6, -1])
def test_a_changed_entry_is_refused(at: int) -> None:
    stored = pack_entry(VALUE)

    with pytest.raises(EntryCorrupt):
        unpack_entry(flipped(stored, at % len(stored)), name=NAME)


def test_a_frame_claiming_more_than_the_limit_or_no_length_is_refused() -> None:
    bomb = zstandard.ZstdCompressor().compress(bytes(MAX_ENTRY + 1))
    unsized = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    streamed = unsized.compress(VALUE) + unsized.flush()

    for stored in (bomb, streamed, pack_entry(VALUE)[:12]):
        with pytest.raises(EntryCorrupt):
            unpack_entry(stored, name=NAME)


# -- in the stores -----------------------------------------------------------------------------


def test_a_changed_entry_is_refused_by_the_sqlite_store(
    sqlite_store: SqliteStore, tmp_path: Path, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    submission = make_submission(claim_xml())
    sqlite_store.save_accepted(replace(submission, index=(IndexEntry(NAME, VALUE),)))
    with sqlite3.connect(tmp_path / "gateway.sqlite3") as db:
        (stored,) = db.execute("SELECT value FROM entries").fetchone()
        assert stored == pack_entry(VALUE)
        db.execute("UPDATE entries SET value = ?", (flipped(stored, len(stored) // 2),))
    db.close()

    with pytest.raises(EntryCorrupt):
        sqlite_store.entries(NAME)


def test_redis_entries_appended_before_compression_still_read(
    redis_store: RedisStore, redis_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.rpush(f"gw:index:{NAME}", VALUE)
    client.close()
    new = orjson.dumps({"record_id": "01JC"})
    redis_store.save_accepted(replace(make_submission(claim_xml()), index=(IndexEntry(NAME, new),)))

    assert redis_store.entries(NAME) == [VALUE, new]


def test_postgres_entries_appended_before_compression_still_read(
    postgres_store: PostgresStore,
    postgres_url: str,
    make_submission: MakeSubmission,
    claim_xml: ClaimXml,
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO entries (name, value) VALUES (%s, %s)", (NAME, VALUE))
    new = orjson.dumps({"record_id": "01JC"})
    postgres_store.save_accepted(
        replace(make_submission(claim_xml()), index=(IndexEntry(NAME, new),))
    )

    assert postgres_store.entries(NAME) == [VALUE, new]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        stored = conn.execute("SELECT value FROM entries ORDER BY seq").fetchall()
    assert [bytes(row[0]) for row in stored] == [VALUE, pack_entry(new)]
