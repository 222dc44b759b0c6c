"""Records' JSON at rest: packed by zstd with the records' dictionary, refused when the stored
blob was changed or claims more than its size, and rows stored uncompressed still read."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import psycopg
import pytest
import redis
import zstandard

from gateway.bootstrap import Gateway
from gateway.errors import OriginalCorrupt, RecordCorrupt
from gateway.pipeline.batches import submit_batch
from gateway.store import originals, record_json
from gateway.store.packing import IDENTITY, Packed, dictionary_path
from gateway.store.pg_partitions import received_at
from gateway.store.postgres import PostgresStore
from gateway.store.record_json import pack_record, unpack_record
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SqliteStore
from tests.conftest import HOSPITAL
from tests.store.test_originals import flipped
from tests.support.postgres import before_migration
from tests.support.upgraded import upgraded_readers

if TYPE_CHECKING:
    from tests.store.conftest import ClaimXml, MakeSubmission


def stored_record(gateway: Gateway, data: bytes) -> tuple[str, bytes]:
    """A record the gateway made of ``data``: its id and its JSON as the store reads it back."""
    partner = gateway.partners.get(HOSPITAL)
    assert partner is not None
    outcome = submit_batch(
        data, partner=partner, channel="rest", fmt=gateway.claims, deps=gateway.pipeline
    )
    record_id = outcome.receipt.results[0].record_id
    assert record_id is not None
    record = gateway.pipeline.store.get_record(record_id)
    assert record is not None
    return record_id, record.json


# -- pack and unpack ---------------------------------------------------------------------------


def test_a_records_json_is_stored_compressed_with_the_dictionary_and_reads_back(
    gateway: Gateway, batch: Callable[..., bytes]
) -> None:
    record_id, json = stored_record(gateway, batch(1))
    path = Path(gateway.settings.store_url.removeprefix("sqlite:///"))

    with sqlite3.connect(path) as db:
        codec, size, blob = db.execute(
            "SELECT codec, size, json FROM records WHERE id = ?", (record_id,)
        ).fetchone()
    db.close()

    assert orjson.loads(json)["id"] == record_id
    assert (codec, size) == (f"zstd:{record_json.RECORD_DICTIONARY}", len(json))
    # The dictionary pays: a real record to well under a third of what plain zstd keeps.
    assert len(blob) < len(zstandard.ZstdCompressor(level=3).compress(json)) / 3
    assert unpack_record(Packed(codec, size, blob), record_id=record_id) == json


def test_the_records_dictionary_is_packaged_under_its_own_id() -> None:
    assert record_json.RECORD_DICTIONARY is not None
    path = Path(record_json.__file__).parent / dictionary_path(record_json.RECORD_DICTIONARY)
    dictionary = zstandard.ZstdCompressionDict(path.read_bytes())
    assert dictionary.dict_id() == record_json.RECORD_DICTIONARY


RECORD = orjson.dumps({"id": "01JB", "subject": {"ho_ten": "Nguyễn Văn An"}, "lines": [1] * 40})


@pytest.mark.parametrize("at", [0, 5, 12, -6, -1])
def test_a_changed_blob_is_refused(at: int) -> None:
    packed = pack_record(RECORD)

    with pytest.raises(RecordCorrupt):
        unpack_record(
            replace(packed, blob=flipped(packed.blob, at % len(packed.blob))), record_id="r"
        )


def test_a_frame_claiming_more_than_the_stored_size_is_refused() -> None:
    bomb = zstandard.ZstdCompressor().compress(bytes(64 << 20))

    with pytest.raises(RecordCorrupt):
        unpack_record(Packed("zstd", 100, bomb), record_id="r")


@pytest.mark.parametrize("codec", ["zstd:12345", "zstd:x", "gzip", "zstd:"])
def test_an_unknown_codec_or_dictionary_is_refused(codec: str) -> None:
    packed = pack_record(RECORD)

    with pytest.raises(RecordCorrupt):
        unpack_record(replace(packed, codec=codec), record_id="r")


def test_another_size_is_refused() -> None:
    packed = pack_record(RECORD)

    for size in (packed.size - 1, packed.size + 1):
        with pytest.raises(RecordCorrupt):
            unpack_record(replace(packed, size=size), record_id="r")
    with pytest.raises(RecordCorrupt):
        unpack_record(Packed(IDENTITY, len(RECORD) + 1, RECORD), record_id="r")


# -- in the stores -----------------------------------------------------------------------------


def _tamper_sqlite(path: Path, record_id: str) -> None:
    with sqlite3.connect(path) as db:
        (blob,) = db.execute("SELECT json FROM records WHERE id = ?", (record_id,)).fetchone()
        db.execute(
            "UPDATE records SET json = ? WHERE id = ?", (flipped(blob, len(blob) // 2), record_id)
        )
    db.close()


def test_a_tampered_record_is_refused_by_the_sqlite_store(
    sqlite_store: SqliteStore, tmp_path: Path, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    submission = make_submission(claim_xml())
    sqlite_store.save_accepted(submission)
    changed, kept = submission.records
    _tamper_sqlite(tmp_path / "gateway.sqlite3", changed.id)

    with pytest.raises(RecordCorrupt):
        sqlite_store.get_record(changed.id)
    assert sqlite_store.get_record(kept.id) == kept


def test_a_tampered_record_is_refused_by_the_redis_store(
    redis_store: RedisStore, redis_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    submission = make_submission(claim_xml())
    redis_store.save_accepted(submission)
    changed = submission.records[0]
    client = redis.Redis.from_url(redis_url)
    key = f"gw:record:{changed.id}"
    blob = client.hget(key, "json")
    assert isinstance(blob, bytes)
    assert client.hget(key, "codec") == f"zstd:{record_json.RECORD_DICTIONARY}".encode()
    client.hset(key, "json", flipped(blob, len(blob) // 2))
    client.close()

    with pytest.raises(RecordCorrupt):
        redis_store.get_record(changed.id)


def test_a_tampered_record_or_original_is_refused_by_the_postgres_store(
    postgres_store: PostgresStore,
    postgres_url: str,
    make_submission: MakeSubmission,
    claim_xml: ClaimXml,
) -> None:
    submission = make_submission(claim_xml())
    postgres_store.save_accepted(submission)
    changed = submission.records[0]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        codecs = conn.execute(
            "SELECT DISTINCT codec FROM records UNION SELECT codec FROM originals"
        )
        assert {row[0] for row in codecs} == {
            f"zstd:{record_json.RECORD_DICTIONARY}",
            f"zstd:{originals.WRITE_DICTIONARY}",
        }
        conn.execute(
            "UPDATE records SET json = overlay(json placing '\\x00'::bytea from 12) WHERE id = %s",
            (changed.id,),
        )
        conn.execute("UPDATE originals SET size = size + 1")

    with pytest.raises(RecordCorrupt):
        postgres_store.get_record(changed.id)
    with pytest.raises(OriginalCorrupt):
        postgres_store.get_original(submission.receipt.sha256)
    assert postgres_store.get_record(submission.records[1].id) == submission.records[1]


def test_sqlite_records_stored_uncompressed_still_read(
    tmp_path: Path, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    path = tmp_path / "gateway.sqlite3"
    old = make_submission(claim_xml()).records[0]
    with sqlite3.connect(path) as db:  # the records table as a gateway before compression made it
        db.execute(
            "CREATE TABLE records (id TEXT PRIMARY KEY, receipt_id TEXT NOT NULL, "
            "partner_id TEXT NOT NULL, json BLOB NOT NULL)"
        )
        db.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?)",
            (old.id, old.receipt_id, old.partner_id, old.json),
        )
    db.close()

    new = make_submission(claim_xml())
    with upgraded_readers(path, new) as readers:
        for reader in readers:
            assert reader.get_record(old.id) == old
            assert reader.get_record(new.records[0].id) == new.records[0]


def test_redis_records_stored_uncompressed_still_read(
    redis_store: RedisStore, redis_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    old = make_submission(claim_xml()).records[0]
    client = redis.Redis.from_url(redis_url)
    client.hset(
        f"gw:record:{old.id}",
        mapping={"receipt_id": old.receipt_id, "partner_id": old.partner_id, "json": old.json},
    )
    client.close()

    assert redis_store.get_record(old.id) == old


def test_postgres_rows_stored_before_migration_5_still_read(
    postgres_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    old = make_submission(claim_xml())
    with before_migration(postgres_url, "codecs") as conn:
        record = old.records[0]
        conn.execute(
            "INSERT INTO records (id, received_at, receipt_id, partner_id, json) "
            "VALUES (%s, %s, %s, %s, %s)",
            (record.id, received_at(record.id), record.receipt_id, record.partner_id, record.json),
        )
        conn.execute(
            "INSERT INTO originals (sha256, received_at, body) VALUES (%s, now(), %s)",
            (old.receipt.sha256, old.original),
        )

    store = PostgresStore(postgres_url)
    try:
        assert store.get_record(record.id) == record
        assert store.get_original(old.receipt.sha256) == old.original
    finally:
        store.close()
