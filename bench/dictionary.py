"""The zstd dictionaries of stored originals, records and receipts: trained on generated data, and
whether they pay.

    python -m bench.dictionary [--records | --receipts | --entries] [--train 600] [--worlds 8]
                               [--test 300] [--size 112640] [--write]

Trains a dictionary on ``--train`` generated QĐ 130 batches of 1-3 HOSO (the stream of
``bench.records``, from seeds of its own) signed by ``--worlds`` hospitals of PKIs of their own,
then compresses ``--test`` other batches, from other seeds, signed by yet another hospital of
another PKI (a dictionary that learnt the signer's certificate would flatter itself), without and
with it, at levels 3 and 9, and prints stored bytes per HOSO and µs per batch.
``--records`` does the same for the common records' JSON that those batches become (each batch
submitted to a gateway of its world, its records read back), compressed one record at a time;
``--receipts`` for the receipts they get (their JSON and signed XML, each compressed apart),
``--entries`` for the index entries (visit history, signals) they append, one at a time.
``--write`` puts the dictionary in the package (``gateway/store/dictionaries/{id}.zdict``); set
``WRITE_DICTIONARY`` in ``gateway/store/originals.py`` (``RECORD_DICTIONARY`` in
``gateway/store/record_json.py``, ``RECEIPT_DICTIONARY`` in ``gateway/store/receipt_rows.py``,
``ENTRY_DICTIONARY`` in ``gateway/store/index_values.py``) to its id for new blobs to use it, and
keep every dictionary that stored blobs name.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import zstandard

from bench.corpus import PARTNER_ID, World, make_world
from bench.records import Batch, small_batches
from gateway.bootstrap import build
from gateway.pipeline.batches import submit_batch
from gateway.store import originals

# A sample to train on or to measure: its values and the HOSO they hold.
Sample = tuple[list[bytes], int]

LEVELS = (3, 9)


def per_hoso(sample: Sample, compressor: zstandard.ZstdCompressor) -> tuple[float, float]:
    """Compressed bytes per HOSO, and the median µs to compress one value."""
    sizes, times = 0, []
    for value in sample[0]:
        started = time.perf_counter_ns()
        sizes += len(compressor.compress(value))
        times.append((time.perf_counter_ns() - started) / 1000)
    return sizes / sample[1], statistics.median(times)


def stored_records(world: World, batches: list[Batch], folder: Path, *, what: str) -> list[bytes]:
    """The records' JSON that ``batches`` become, submitted to a gateway of ``world`` (or the
    JSON and XML of the receipts they get, or the index entries they append)."""
    gateway = build(world.settings(folder / "gateway.sqlite3"))
    try:
        partner = gateway.partners.get(PARTNER_ID)
        assert partner is not None
        store = gateway.pipeline.store
        found = []
        for batch in batches:
            outcome = submit_batch(
                batch.data,
                partner=partner,
                channel="rest",
                fmt=gateway.claims,
                deps=gateway.pipeline,
            )
            if what == "receipts":
                stored = store.get_receipt(outcome.receipt.id)
                assert stored is not None
                found += [stored.json, stored.xml]
                continue
            for result in outcome.receipt.results if what == "records" else ():
                record = store.get_record(result.record_id or "")
                assert record is not None, result
                found.append(record.json)
        if what == "entries":
            with sqlite3.connect(folder / "gateway.sqlite3") as db:
                names = [row[0] for row in db.execute("SELECT DISTINCT name FROM entries")]
            db.close()
            found += [value for name in names for value in store.entries(name)]
        return found
    finally:
        gateway.close()


def sample(world: World, batches: list[Batch], folder: Path, *, what: str) -> Sample:
    hoso = sum(b.records for b in batches)
    if what != "batches":
        return stored_records(world, batches, folder, what=what), hoso
    return [b.data for b in batches], hoso


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dictionary", description=__doc__)
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--records", action="store_true", help="records' JSON, not batches")
    kind.add_argument("--receipts", action="store_true", help="receipts' JSON and XML")
    kind.add_argument("--entries", action="store_true", help="index entries")
    parser.add_argument("--train", type=int, default=600, help="training batches (600)")
    parser.add_argument("--worlds", type=int, default=8, help="signers of training (8)")
    parser.add_argument("--test", type=int, default=300, help="measured batches (300)")
    parser.add_argument("--size", type=int, default=112_640, help="dictionary bytes (112640)")
    parser.add_argument("--write", action="store_true", help="put it in the package")
    args = parser.parse_args(argv)
    what = next((w for w in ("records", "receipts", "entries") if getattr(args, w)), "batches")

    with tempfile.TemporaryDirectory(prefix="bench-dictionary-") as tmp:
        share = args.train // args.worlds
        train: list[bytes] = []
        for n in range(args.worlds):
            world = make_world(Path(tmp) / f"train-{n}")
            batches = small_batches(world, share, first_seed=5_000_000 + n * share)
            train += sample(world, batches, Path(tmp) / f"store-{n}", what=what)[0]
        world = make_world(Path(tmp) / "test")
        batches = small_batches(world, args.test, first_seed=6_000_000)
        test = sample(world, batches, Path(tmp) / "store-test", what=what)
    dictionary = zstandard.train_dictionary(args.size, train)
    what = {
        "records": "records' JSON",
        "receipts": "receipts' JSON and XML",
        "entries": "index entries",
    }.get(what, what)
    print(
        f"{args.test} batches, {test[1]} HOSO, {sum(map(len, test[0])) / test[1]:,.0f} bytes "
        f"of {what} per HOSO; dictionary {dictionary.dict_id()} of "
        f"{len(dictionary.as_bytes()):,} bytes trained on {len(train)} other {what} of "
        f"{args.worlds} other signers"
    )
    for level in LEVELS:
        plain = per_hoso(test, zstandard.ZstdCompressor(level=level))
        with_dict = per_hoso(test, zstandard.ZstdCompressor(level=level, dict_data=dictionary))
        print(
            f"level {level}: zstd {plain[0]:,.0f} bytes per HOSO ({plain[1]:.0f} µs each); "
            f"with the dictionary {with_dict[0]:,.0f} ({with_dict[1]:.0f} µs each)"
        )
    if args.write:
        target = Path(originals.__file__).parent / originals.dictionary_path(dictionary.dict_id())
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(dictionary.as_bytes())
        print(f"written: gateway/store/{originals.dictionary_path(dictionary.dict_id())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
