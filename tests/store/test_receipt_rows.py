"""Receipts at rest: their JSON and signed XML packed by zstd with the receipts' dictionary, the
XML handed back byte for byte, a changed blob refused by every store, and rows stored
uncompressed still read."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
import redis
import zstandard

from gateway.bootstrap import Gateway
from gateway.errors import ReceiptCorrupt
from gateway.pipeline.batches import submit_batch
from gateway.store import receipt_rows
from gateway.store.packing import dictionary_path
from gateway.store.pg_partitions import received_at
from gateway.store.ports import StoredReceipt
from gateway.store.postgres import PostgresStore
from gateway.store.receipt_rows import receipt_of, receipt_values
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SqliteStore
from tests.conftest import HOSPITAL as GATEWAY_PARTNER
from tests.store.conftest import HOSPITAL
from tests.store.test_originals import flipped
from tests.support.postgres import before_migration
from tests.support.upgraded import upgraded_readers

if TYPE_CHECKING:
    from tests.store.conftest import ClaimXml, MakeSubmission

CODEC = f"zstd:{receipt_rows.RECEIPT_DICTIONARY}"


def test_a_gateways_signed_receipt_is_stored_compressed_and_reads_back_byte_for_byte(
    gateway: Gateway, batch: Callable[..., bytes]
) -> None:
    partner = gateway.partners.get(GATEWAY_PARTNER)
    assert partner is not None
    outcome = submit_batch(
        batch(3), partner=partner, channel="rest", fmt=gateway.claims, deps=gateway.pipeline
    )
    path = Path(gateway.settings.store_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        codec, json_size, json, xml_size, xml = db.execute(
            "SELECT codec, json_size, json, xml_size, xml FROM receipts WHERE id = ?",
            (outcome.receipt.id,),
        ).fetchone()
    db.close()

    signed = outcome.stored.xml  # the bytes signed when the batch was received
    assert (codec, json_size, xml_size) == (CODEC, len(outcome.stored.json), len(signed))
    # The dictionary pays: a real receipt to well under what plain zstd keeps.
    plain = zstandard.ZstdCompressor(level=3)
    assert len(json) + len(xml) < 0.75 * (
        len(plain.compress(outcome.stored.json)) + len(plain.compress(signed))
    )
    assert gateway.pipeline.store.get_receipt(outcome.receipt.id) == outcome.stored


def test_the_receipts_dictionary_is_packaged_under_its_own_id() -> None:
    assert receipt_rows.RECEIPT_DICTIONARY is not None
    path = Path(receipt_rows.__file__).parent / dictionary_path(receipt_rows.RECEIPT_DICTIONARY)
    dictionary = zstandard.ZstdCompressionDict(path.read_bytes())
    assert dictionary.dict_id() == receipt_rows.RECEIPT_DICTIONARY


RECEIPT = StoredReceipt("01JB", HOSPITAL, "ab" * 32, True, b'{"status": "accepted"}' * 9, b"<R/>")


@pytest.mark.parametrize("blob", [6, 8], ids=["json", "xml"])
@pytest.mark.parametrize("at", [0, 5, -6, -1])
def test_a_changed_blob_is_refused(blob: int, at: int) -> None:
    row = list(receipt_values(RECEIPT))
    row[blob] = flipped(row[blob], at % len(row[blob]))

    with pytest.raises(ReceiptCorrupt):
        receipt_of(tuple(row))


@pytest.mark.parametrize("column,value", [(4, "zstd:12345"), (4, "gzip"), (5, 1), (7, 99)])
def test_an_unknown_codec_or_another_size_is_refused(column: int, value: object) -> None:
    row = list(receipt_values(RECEIPT))
    row[column] = value

    with pytest.raises(ReceiptCorrupt):
        receipt_of(tuple(row))


def test_a_frame_claiming_more_than_the_stored_size_is_refused() -> None:
    bomb = zstandard.ZstdCompressor().compress(bytes(64 << 20))
    row = (*receipt_values(RECEIPT)[:4], "zstd", 100, bomb, 4, b"<R/>")

    with pytest.raises(ReceiptCorrupt):
        receipt_of(row)


# -- in the stores -----------------------------------------------------------------------------


def test_a_tampered_receipt_is_refused_by_the_sqlite_store(
    sqlite_store: SqliteStore, tmp_path: Path, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    changed, kept = make_submission(claim_xml()), make_submission(claim_xml())
    sqlite_store.save_accepted(changed)
    sqlite_store.save_accepted(kept)
    with sqlite3.connect(tmp_path / "gateway.sqlite3") as db:
        codec, xml = db.execute(
            "SELECT codec, xml FROM receipts WHERE id = ?", (changed.receipt.id,)
        ).fetchone()
        assert codec == CODEC
        db.execute(
            "UPDATE receipts SET xml = ? WHERE id = ?",
            (flipped(xml, len(xml) // 2), changed.receipt.id),
        )
    db.close()

    with pytest.raises(ReceiptCorrupt):
        sqlite_store.get_receipt(changed.receipt.id)
    with pytest.raises(ReceiptCorrupt):
        sqlite_store.find_accepted(HOSPITAL, changed.receipt.sha256)
    assert sqlite_store.get_receipt(kept.receipt.id) == kept.receipt


def test_a_tampered_receipt_is_refused_by_the_redis_store(
    redis_store: RedisStore, redis_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    submission = make_submission(claim_xml())
    redis_store.save_accepted(submission)
    client = redis.Redis.from_url(redis_url)
    key = f"gw:receipt:{submission.receipt.id}"
    blob = client.hget(key, "json")
    assert isinstance(blob, bytes)
    assert client.hget(key, "codec") == CODEC.encode()
    client.hset(key, "json", flipped(blob, len(blob) // 2))
    client.close()

    with pytest.raises(ReceiptCorrupt):
        redis_store.get_receipt(submission.receipt.id)


def test_a_tampered_receipt_is_refused_by_the_postgres_store(
    postgres_store: PostgresStore,
    postgres_url: str,
    make_submission: MakeSubmission,
    claim_xml: ClaimXml,
) -> None:
    changed, kept = make_submission(claim_xml()), make_submission(claim_xml())
    postgres_store.save_accepted(changed)
    postgres_store.save_accepted(kept)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        codecs = conn.execute("SELECT DISTINCT codec FROM receipts").fetchall()
        assert codecs == [(CODEC,)]
        conn.execute(
            "UPDATE receipts SET json_size = json_size + 1 WHERE id = %s", (changed.receipt.id,)
        )

    with pytest.raises(ReceiptCorrupt):
        postgres_store.get_receipt(changed.receipt.id)
    assert postgres_store.get_receipt(kept.receipt.id) == kept.receipt


def test_sqlite_receipts_stored_uncompressed_still_read(
    tmp_path: Path, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    path = tmp_path / "gateway.sqlite3"
    old = make_submission(claim_xml()).receipt
    with sqlite3.connect(path) as db:  # the receipts table as a gateway before compression made it
        db.execute(
            "CREATE TABLE receipts (id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, "
            "sha256 TEXT NOT NULL, accepted INTEGER NOT NULL, json BLOB NOT NULL, "
            "xml BLOB NOT NULL)"
        )
        db.execute(
            "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)",
            (old.id, old.partner_id, old.sha256, 1, old.json, old.xml),
        )
    db.close()

    new = make_submission(claim_xml())
    with upgraded_readers(path, new) as readers:
        for reader in readers:
            assert reader.get_receipt(old.id) == old
            assert reader.find_accepted(HOSPITAL, old.sha256) == old
            assert reader.get_receipt(new.receipt.id) == new.receipt


def test_redis_receipts_stored_uncompressed_still_read(
    redis_store: RedisStore, redis_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    old = make_submission(claim_xml()).receipt
    client = redis.Redis.from_url(redis_url)
    client.hset(
        f"gw:receipt:{old.id}",
        mapping={
            "partner_id": old.partner_id,
            "sha256": old.sha256,
            "accepted": "1",
            "json": old.json,
            "xml": old.xml,
        },
    )
    client.close()

    assert redis_store.get_receipt(old.id) == old


def test_postgres_receipts_stored_before_migration_7_still_read(
    postgres_url: str, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    old = make_submission(claim_xml()).receipt
    with before_migration(postgres_url, "receipt_codecs") as conn:
        conn.execute(
            "INSERT INTO receipts (received_at, id, partner_id, sha256, accepted, json, xml) "
            "VALUES (%s, %s, %s, %s, true, %s, %s)",
            (received_at(old.id), old.id, old.partner_id, old.sha256, old.json, old.xml),
        )

    store = PostgresStore(postgres_url)
    try:
        assert store.get_receipt(old.id) == old
        new = make_submission(claim_xml())
        store.save_accepted(new)
        assert store.get_receipt(new.receipt.id) == new.receipt
    finally:
        store.close()
