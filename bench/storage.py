"""Bytes stored per HOSO, everything included, on each store, for the generated stream of claims.

    python -m bench.storage [--batches 300] [--redis redis://127.0.0.1:6379/14]
                            [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Submits ``--batches`` generated QĐ 130 batches of 1-3 HOSO (``bench.records``' stream: signed,
distinct visits) through ``submit_batch``, as the REST route does, into:

- SQLite: a fresh gateway folder; every SQLite file in it (store, audit log, dossiers) is
  checkpointed and VACUUMed, then its size divided by the HOSO stored; the store's own pages are
  split by table and index (``dbstat``). The originals are then re-stored uncompressed and as
  plain zstd in a copy, VACUUMed, to show what compression and the dictionary each save; and
  the store is copied with other page sizes (``PRAGMA page_size``, VACUUM) to show the pages' waste.
- PostgreSQL (if ``--postgres`` names a server): in a schema of its own, made by ``gateway db
  upgrade``'s migrations and dropped afterwards; after VACUUM, ``pg_total_relation_size`` (table,
  TOAST and indexes) of every table, by table (a month's partitions counted with their parent),
  less what the empty schema already took (printed apart: the empty tables' and indexes' pages).
- Redis (if ``--redis`` names an empty database): the sum of ``MEMORY USAGE`` of every key the
  store wrote, by kind of key (the audit log stays in SQLite there and is not counted). The
  database is emptied afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import psycopg
import redis
import zstandard
from psycopg import sql

from bench.corpus import PARTNER_ID, make_world
from bench.records import Batch, small_batches, submit
from gateway.bootstrap import Gateway, build
from gateway.store import originals, pg_schema
from gateway.store.postgres import PostgresStore
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


def _paged(path: Path, folder: Path, page_size: int) -> int:
    """The store file's size in pages of ``page_size`` bytes (a copy, VACUUMed)."""
    copy = folder / f"pages-{page_size}.sqlite3"
    shutil.copy(path, copy)
    db = sqlite3.connect(copy)
    db.execute("PRAGMA journal_mode=DELETE")  # a WAL database keeps its page size
    db.execute(f"PRAGMA page_size={page_size}")
    db.execute("VACUUM")  # in the same connection, which the new page size is set on
    db.close()
    size = copy.stat().st_size
    copy.unlink()
    return size


def _dictionary_bytes(dict_id: int) -> bytes:
    return (Path(originals.__file__).parent / originals.dictionary_path(dict_id)).read_bytes()


def sqlite_figures(gateway: Gateway, folder: Path, batches: list[Batch]) -> None:
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
        f"originals as plain zstd {plain / hoso:,.0f}, uncompressed {identity / hoso:,.0f}; "
        "in pages of "
        + ", ".join(f"{size:,} bytes {_paged(store, folder, size) / hoso:,.0f}" for size in PAGES)
    )


# The page sizes the store is copied to (SQLite's default, which the gateway keeps: 4096).
PAGES = (1024, 2048, 4096, 8192)

_SIZES = """
SELECT coalesce(p.relname, c.relname), sum(pg_total_relation_size(c.oid))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
LEFT JOIN pg_class p ON p.oid = i.inhparent
WHERE n.nspname = %s AND c.relkind = 'r'
GROUP BY 1
"""


def _pg_sizes(url: str, schema: str) -> Counter[str]:
    """Bytes of every table of ``schema`` (with its TOAST and indexes) by table, after VACUUM."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM")
        return Counter({name: int(size) for name, size in conn.execute(_SIZES, (schema,))})


def postgres_figures(gateway: Gateway, server: str, batches: list[Batch]) -> None:
    schema = f"bench_storage_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            url = f"{server}?options={quote(f'-csearch_path={schema}')}"
            pg_schema.upgrade(url)
            empty = _pg_sizes(url, schema)
            store = PostgresStore(url)
            try:
                pg_gateway = replace(gateway, pipeline=replace(gateway.pipeline, store=store))
                hoso = _run(pg_gateway, batches)
            finally:
                store.close()
            sizes = _pg_sizes(url, schema)
            sizes.subtract(empty)
        finally:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    print(
        f"PostgreSQL: {hoso} HOSO: {sizes.total() / hoso:,.0f} bytes per HOSO after VACUUM "
        "(pg_total_relation_size: tables, TOAST and indexes; audit log not in PostgreSQL): "
        + ", ".join(
            f"{name} {size / hoso:,.0f}" for name, size in sizes.most_common() if size / hoso >= 1
        )
        + f"; the empty schema took {empty.total():,} bytes before"
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__)
    parser.add_argument("--batches", type=int, default=300, help="batches of 1-3 HOSO (300)")
    parser.add_argument("--redis", default=None, help="an empty Redis database to measure too")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server to measure too")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        folder = Path(tmp)
        world = make_world(folder / "pki")
        batches = small_batches(world, args.batches, FIRST_SEED)
        data = folder / "sqlite"
        data.mkdir()
        sqlite_figures(build(world.settings(data / "gateway.sqlite3")), data, batches)
        for option, figures in ((args.postgres, postgres_figures), (args.redis, redis_figures)):
            if option:
                gateway = build(world.settings(folder / figures.__name__ / "gateway.sqlite3"))
                try:
                    figures(gateway, option, batches)
                finally:
                    gateway.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
