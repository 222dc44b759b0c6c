"""The zstd dictionary of stored originals: trained on generated batches, and whether it pays.

    python -m bench.dictionary [--train 600] [--worlds 8] [--test 300] [--size 112640] [--write]

Trains a dictionary on ``--train`` generated QĐ 130 batches of 1-3 HOSO (the stream of
``bench.records``, from seeds of its own) signed by ``--worlds`` hospitals of PKIs of their own,
then compresses ``--test`` other batches, from other seeds, signed by yet another hospital of
another PKI (a dictionary that learnt the signer's certificate would flatter itself), without and
with it, at levels 3 and 9, and prints stored bytes per HOSO and µs per batch.
``--write`` puts the dictionary in the package (``gateway/store/dictionaries/{id}.zdict``); set
``WRITE_DICTIONARY`` in ``gateway/store/originals.py`` to its id for new originals to use it, and
keep every dictionary that stored blobs name.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import zstandard

from bench.corpus import make_world
from bench.records import Batch, small_batches
from gateway.store import originals

LEVELS = (3, 9)


def per_hoso(batches: list[Batch], compressor: zstandard.ZstdCompressor) -> tuple[float, float]:
    """Compressed bytes per HOSO, and the median µs to compress one batch."""
    sizes, times = 0, []
    for batch in batches:
        started = time.perf_counter_ns()
        sizes += len(compressor.compress(batch.data))
        times.append((time.perf_counter_ns() - started) / 1000)
    return sizes / sum(b.records for b in batches), statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dictionary", description=__doc__)
    parser.add_argument("--train", type=int, default=600, help="training batches (600)")
    parser.add_argument("--worlds", type=int, default=8, help="signers of training (8)")
    parser.add_argument("--test", type=int, default=300, help="measured batches (300)")
    parser.add_argument("--size", type=int, default=112_640, help="dictionary bytes (112640)")
    parser.add_argument("--write", action="store_true", help="put it in the package")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-dictionary-") as tmp:
        share = args.train // args.worlds
        train = [
            batch
            for n in range(args.worlds)
            for batch in small_batches(
                make_world(Path(tmp) / f"train-{n}"), share, first_seed=5_000_000 + n * share
            )
        ]
        test = small_batches(make_world(Path(tmp) / "test"), args.test, first_seed=6_000_000)
    dictionary = zstandard.train_dictionary(args.size, [b.data for b in train])
    hoso = sum(b.records for b in test)
    raw = sum(len(b.data) for b in test) / hoso
    print(
        f"{args.test} batches, {hoso} HOSO, {raw:,.0f} bytes per HOSO as submitted; "
        f"dictionary {dictionary.dict_id()} of {len(dictionary.as_bytes()):,} bytes "
        f"trained on {len(train)} other batches of {args.worlds} other signers"
    )
    for level in LEVELS:
        plain = per_hoso(test, zstandard.ZstdCompressor(level=level))
        with_dict = per_hoso(test, zstandard.ZstdCompressor(level=level, dict_data=dictionary))
        print(
            f"level {level}: zstd {plain[0]:,.0f} bytes per HOSO ({plain[1]:.0f} µs a batch); "
            f"with the dictionary {with_dict[0]:,.0f} ({with_dict[1]:.0f} µs a batch)"
        )
    if args.write:
        target = Path(originals.__file__).parent / originals.dictionary_path(dictionary.dict_id())
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(dictionary.as_bytes())
        print(f"written: gateway/store/{originals.dictionary_path(dictionary.dict_id())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
