"""Bytes stored per HOSO, everything included, on each store, for the generated stream of claims.

    python -m bench.storage [--batches 300] [--redis redis://127.0.0.1:6379/14]

Submits ``--batches`` generated QĐ 130 batches of 1-3 HOSO (``bench.records``' stream: signed,
distinct visits) through ``submit_batch``, as the REST route does, into:

- SQLite: a fresh gateway folder; every SQLite file in it (store, audit log, dossiers) is
  checkpointed and VACUUMed, then its size divided by the HOSO stored; the store's own pages are
  split by table and index (``dbstat``). The originals are then re-stored uncompressed and as
  plain zstd in a copy, VACUUMed, to show what compression and the dictionary each save.
- Redis (if ``--redis`` names an empty database): the sum of ``MEMORY USAGE`` of every key the
  store wrote, by kind of key (the audit log stays in SQLite there and is not counted). The
  database is emptied afterwards.

Finally what the records' JSON would take compressed (not done by the store), per HOSO.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import redis
import zstandard

from bench.corpus import PARTNER_ID, make_world
from bench.records import Batch, small_batches, submit
from gateway.bootstrap import Gateway, build
from gateway.store import originals
from gateway.store.redis import RedisStore

# The stream of bench.records, from seeds of its own: distinct from bench.dictionary's training.
FIRST_SEED = 7_000_000


def _run(gateway: Gateway, batches: list[Batch]) -> int:
    """Submit every batch; the HOSO stored."""
    partner = gateway.partners.get(PARTNER_ID)
    assert partner is not None
    return sum(submit(batch.data, gateway, partner).records for batch in batches)


def _vacuumed(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
    db.close()
    return path.stat().st_size


def _pages(path: Path) -> tuple[Counter[str], Counter[str]]:
    """Bytes of pages, and of the data in them, by table or index (dbstat)."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT name, sum(pgsize), sum(payload) FROM dbstat GROUP BY name"
        ).fetchall()
    db.close()
    return Counter({r[0]: r[1] for r in rows}), Counter({r[0]: r[2] for r in rows})


def _repacked(path: Path, folder: Path, codec: str) -> int:
    """The store file's size with its originals stored under ``codec`` (identity or zstd)."""
    copy = folder / f"{codec}.sqlite3"
    shutil.copy(path, copy)
    compressor = zstandard.ZstdCompressor(level=3)
    with sqlite3.connect(copy) as db:
        for sha256, blob, dict_codec in db.execute(
            "SELECT sha256, body, codec FROM originals"
        ).fetchall():
            dict_id = int(dict_codec.partition(":")[2])
            original = zstandard.ZstdDecompressor(
                dict_data=zstandard.ZstdCompressionDict(_dictionary_bytes(dict_id))
            ).decompress(blob)
            body = original if codec == "identity" else compressor.compress(original)
            db.execute("UPDATE originals SET body = ? WHERE sha256 = ?", (body, sha256))
    db.close()
    size = _vacuumed(copy)
    copy.unlink()
    return size


def _dictionary_bytes(dict_id: int) -> bytes:
    return (Path(originals.__file__).parent / originals.dictionary_path(dict_id)).read_bytes()


def sqlite_figures(gateway: Gateway, folder: Path, batches: list[Batch]) -> list[bytes]:
    """Print SQLite's bytes per HOSO; the records' JSON stored, for the last figure."""
    hoso = _run(gateway, batches)
    gateway.close()
    files = sorted(folder.glob("*.sqlite3"))
    sizes = {f.name: _vacuumed(f) for f in files}
    total = sum(sizes.values())
    store = folder / "gateway.sqlite3"
    pages, payload = _pages(store)
    print(
        f"SQLite: {hoso} HOSO in {len(batches)} batches: {total / hoso:,.0f} bytes per HOSO, "
        "everything included, after VACUUM ("
        + ", ".join(f"{name} {size / hoso:,.0f}" for name, size in sizes.items())
        + ")"
    )
    print(
        "  gateway.sqlite3 by table and index, bytes of pages per HOSO (of data in them): "
        + ", ".join(
            f"{name} {size / hoso:,.0f} ({payload[name] / hoso:,.0f})"
            for name, size in pages.most_common()
            if size / hoso >= 20  # not the empty tables' page each
        )
    )
    plain, identity = _repacked(store, folder, "zstd"), _repacked(store, folder, "identity")
    print(
        f"  gateway.sqlite3 alone: {sizes['gateway.sqlite3'] / hoso:,.0f} bytes per HOSO; with "
        f"originals as plain zstd {plain / hoso:,.0f}, uncompressed {identity / hoso:,.0f}"
    )
    with sqlite3.connect(store) as db:
        records = [bytes(row[0]) for row in db.execute("SELECT json FROM records")]
    db.close()
    return records


def redis_figures(gateway: Gateway, url: str, batches: list[Batch]) -> None:
    client = redis.Redis.from_url(url)
    try:
        if client.dbsize():
            print(f"Redis: {url} is not empty; not measured")
            return
        store = RedisStore(url, require_durable=False)
        redis_gateway = replace(gateway, pipeline=replace(gateway.pipeline, store=store))
        try:
            hoso = _run(redis_gateway, batches)
            kinds: Counter[str] = Counter()
            for key in client.scan_iter(count=1000):
                kind = key.decode().split(":")[1]
                kinds[kind] += int(client.memory_usage(key, samples=0) or 0)  # type: ignore[arg-type]
        finally:
            store.close()
            client.flushdb()
        print(
            f"Redis: {hoso} HOSO: {kinds.total() / hoso:,.0f} bytes of memory per HOSO "
            "(MEMORY USAGE, audit log not in Redis): "
            + ", ".join(f"{kind} {size / hoso:,.0f}" for kind, size in kinds.most_common())
        )
    finally:
        client.close()


def records_figures(records: list[bytes], hoso: int) -> None:
    raw = sum(map(len, records))
    plain = zstandard.ZstdCompressor(level=3)
    half = len(records) // 2
    dictionary = zstandard.train_dictionary(65_536, records[:half])
    with_dict = zstandard.ZstdCompressor(level=3, dict_data=dictionary)
    tail = records[half:]
    tail_hoso = len(tail) / len(records) * hoso
    one_by_one = sum(len(plain.compress(r)) for r in tail) / tail_hoso
    trained = sum(len(with_dict.compress(r)) for r in tail) / tail_hoso
    print(
        f"records' JSON (not compressed by the store): {raw / hoso:,.0f} bytes per HOSO; "
        f"zstd one by one {one_by_one:,.0f}, with a dictionary trained on the other half "
        f"{trained:,.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__)
    parser.add_argument("--batches", type=int, default=300, help="batches of 1-3 HOSO (300)")
    parser.add_argument("--redis", default=None, help="an empty Redis database to measure too")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        folder = Path(tmp)
        world = make_world(folder / "pki")
        batches = small_batches(world, args.batches, FIRST_SEED)
        data = folder / "sqlite"
        data.mkdir()
        records = sqlite_figures(build(world.settings(data / "gateway.sqlite3")), data, batches)
        if args.redis:
            gateway = build(world.settings(folder / "redis-side" / "gateway.sqlite3"))
            try:
                redis_figures(gateway, args.redis, batches)
            finally:
                gateway.close()
        records_figures(records, sum(b.records for b in batches))
    return 0


if __name__ == "__main__":
    sys.exit(main())
