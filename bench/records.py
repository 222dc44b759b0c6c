"""Records per second through the whole pipeline, and the cost per record against the floor.

    python -m bench.records [--hoso N] [--small K] [--rounds R]

A record is one HOSO (one visit), which the gateway turns into one common record. In one process,
two workloads are measured. Each round times the floor and the full ``submit_batch`` on the same
batches, in an order that flips every round, with a ``gc.collect()`` before each side.

- big batch: one signed batch of ``N`` HOSO (default 1000, about 19 MB). Each round has a batch
  of its own, from its own seed, and a fresh SQLite store. ``make_batch`` signs with the default
  XML limits (64 MiB), so ``N`` stops near 3,500.
- stream: ``K`` small signed batches (default 200, 1-3 HOSO each) sent back to back, one
  ``submit_batch`` each, into a fresh SQLite store per round. Every batch of a round is dated 22
  days before the previous one. A visit's day is 9-30 days before its batch date, so every
  MA_LK (facility + day + index) is unique in the store, the way a real stream does not resend
  its visit keys.

The floor is ``bench.pipeline``'s (``floor_once``): the bare lxml / cryptography / hashlib calls
on the document and on every embedded table. Generation is outside the timing. The report gives
records per second and µs per record, median over rounds, and the median per-round ratio
full / floor. A profile of one more big batch follows: the gateway's step histograms over the
timed rounds, the time spent in garbage collection, and the top functions by own time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from lxml import etree

from adapters.hospital.synth import make_batch
from bench.corpus import FACILITY, PARTNER_ID, Shape, World, make_world
from bench.pipeline import FLOOR, Floor, Laps, floor_once
from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.errors import XmlTooLarge
from gateway.metrics import Metrics
from gateway.partners import Partner
from gateway.pipeline.batches import submit_batch
from gateway.store.sqlite import SqliteStore
from gateway.xml.parser import XmlLimits, decode_base64, parse

STEPS = ("parse", "verify", "validate", "normalize", "receipt", "store")
# A visit's day is 9-30 days before its batch's date (make_batch): 22 possible days.
DAYS_PER_BATCH = 22


@dataclass(frozen=True)
class Batch:
    data: bytes
    records: int


# --- batches ----------------------------------------------------------------------------------


def big_batch(world: World, hoso: int, seed: int) -> Batch:
    try:
        data, _ = make_batch(
            random.Random(seed), world.hospital, FACILITY, hoso, created=date.today()
        )
    except XmlTooLarge as exc:
        # The generator re-parses the batch to sign it, with the default limits.
        raise SystemExit(
            f"make_batch cannot sign {hoso} HOSO within the default XML limits ({exc.detail}); "
            "use a smaller --hoso"
        ) from exc
    return Batch(data, hoso)


def small_batches(world: World, count: int, first_seed: int) -> list[Batch]:
    """``count`` batches of 1-3 HOSO with disjoint visit days, so no MA_LK repeats."""
    batches = []
    today = date.today()
    for index in range(count):
        rng = random.Random(first_seed + index)
        hoso = rng.randint(1, 3)
        created = today - timedelta(days=DAYS_PER_BATCH * index)
        data, _ = make_batch(rng, world.hospital, FACILITY, hoso, created=created)
        batches.append(Batch(data, hoso))
    if len({hashlib.sha256(b.data).digest() for b in batches}) != len(batches):
        raise RuntimeError("two generated batches are identical; they would be duplicates")
    return batches


def shape(data: bytes, limits: XmlLimits) -> Shape:
    """``bench.corpus.shape`` under ``limits`` (a big batch may exceed the default ones)."""
    root = parse(data, limits)
    inner = tables = 0
    for content in root.iter("NOIDUNGFILE"):
        table = parse(decode_base64(content.text, limits, what="table"), limits)
        inner += sum(1 for _ in table.iter(etree.Element))
        tables += 1
    return Shape(len(data), sum(1 for _ in root.iter(etree.Element)), inner, tables)


def settings_for(world: World, store: Path, data: bytes) -> tuple[Settings, Shape, list[str]]:
    """The bench's settings, with the XML limits raised if the defaults would refuse ``data``."""
    settings = world.settings(store)
    # Counted with limits that cannot refuse it; then compared with the configured ones.
    counted = shape(data, XmlLimits(max_bytes=len(data), max_elements=sys.maxsize))
    updates: dict[str, int] = {}
    if counted.size > settings.max_body_bytes:
        updates["max_body_bytes"] = 2 * counted.size
    # The envelope is the largest document; every embedded table is one HOSO's.
    if counted.envelope_elements > settings.max_elements:
        updates["max_elements"] = 2 * counted.envelope_elements
    raised = [f"{k} {getattr(settings, k):,} -> {v:,}" for k, v in updates.items()]
    return settings.model_copy(update=updates), counted, raised


# --- the gateway side -------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    records: int
    signals: int


def submit(data: bytes, gateway: Gateway, partner: Partner) -> Submitted:
    """``submit_batch`` as the REST route calls it; every item must be a new accepted record."""
    outcome = submit_batch(
        data, partner=partner, channel="rest", fmt=gateway.claims, deps=gateway.pipeline
    )
    receipt = outcome.receipt
    if outcome.duplicate or receipt.status != "accepted":
        raise RuntimeError(f"not accepted: {receipt.status}, duplicate={outcome.duplicate}")
    if any(result.duplicate for result in receipt.results):
        raise RuntimeError("an item was answered as an earlier record: the batches overlap")
    return Submitted(len(receipt.results), sum(len(r.signals) for r in receipt.results))


@contextmanager
def fresh_store(gateway: Gateway, path: Path, metrics: Metrics | None = None) -> Iterator[Gateway]:
    """``gateway`` over a new, empty SQLite store (caches and compiled schemas kept)."""
    store = SqliteStore(path)
    pipeline = replace(gateway.pipeline, store=store, metrics=metrics or gateway.metrics)
    try:
        yield replace(gateway, pipeline=pipeline, metrics=pipeline.metrics)
    finally:
        store.close()
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()


# --- measurement ------------------------------------------------------------------------------


@dataclass
class Rounds:
    """Per round: records, and floor and full nanoseconds for them."""

    records: list[int]
    floor_ns: list[int]
    full_ns: list[int]
    signals: int = 0

    def per_record(self, side: str) -> list[float]:
        values = self.floor_ns if side == "floor" else self.full_ns
        return [ns / n / 1000 for ns, n in zip(values, self.records, strict=True)]

    def ratio(self) -> float:
        return statistics.median(
            full / floor for full, floor in zip(self.full_ns, self.floor_ns, strict=True)
        )


def _time(run: Callable[[], object]) -> int:
    gc.collect()
    start = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - start


def measure(
    batches: Callable[[int], list[Batch]],
    rounds: int,
    gateway: Gateway,
    partner: Partner,
    floor: Floor,
    folder: Path,
    metrics: Metrics,
) -> Rounds:
    """Round 0 warms up (untimed); then floor and full on each round's batches, order flipped.

    ``metrics`` collects the gateway's step histograms of the timed rounds only.
    """
    result = Rounds([], [], [])
    for index in range(rounds + 1):
        work = batches(index)
        target = folder / f"round-{index}.sqlite3"
        with fresh_store(gateway, target, metrics if index else Metrics()) as round_gateway:
            submitted: list[Submitted] = []

            def run_floor(work: list[Batch] = work) -> None:
                for batch in work:
                    floor_once(batch.data, floor, datetime.now(UTC))

            def run_full(
                work: list[Batch] = work,
                gw: Gateway = round_gateway,
                out: list[Submitted] = submitted,
            ) -> None:
                for batch in work:
                    out.append(submit(batch.data, gw, partner))

            if index % 2:
                floor_ns = _time(run_floor)
                full_ns = _time(run_full)
            else:
                full_ns = _time(run_full)
                floor_ns = _time(run_floor)
        records = sum(batch.records for batch in work)
        if sum(s.records for s in submitted) != records:
            raise RuntimeError("the receipts do not list every HOSO")
        if index:
            result.records.append(records)
            result.floor_ns.append(floor_ns)
            result.full_ns.append(full_ns)
            result.signals += sum(s.signals for s in submitted)
    return result


# --- report -----------------------------------------------------------------------------------


def _rate(us_per_record: float) -> str:
    return f"{1e6 / us_per_record:,.0f}"


def table(rows: list[tuple[str, Rounds]]) -> None:
    print(
        f"\n{'':<27} {'full/floor':>10} {'full rec/s':>11} {'floor rec/s':>12} "
        f"{'full µs/rec':>12} {'floor µs/rec':>13}  rounds (full µs/rec)"
    )
    for title, rounds in rows:
        full, floor = rounds.per_record("full"), rounds.per_record("floor")
        full_us, floor_us = statistics.median(full), statistics.median(floor)
        print(
            f"{title:<27} {rounds.ratio():>9.2f}x {_rate(full_us):>11} {_rate(floor_us):>12} "
            f"{full_us:>12.0f} {floor_us:>13.0f}  {min(full):.0f}-{max(full):.0f}"
        )


def step_split(metrics: Metrics, records: int, full_us: float) -> None:
    """Mean µs per record of each gateway step over the timed rounds (``Metrics.steps``)."""
    registry = metrics.registry
    parts = {}
    for step in STEPS:
        total = registry.get_sample_value("gateway_pipeline_step_seconds_sum", {"step": step})
        if total is not None:
            parts[step] = total / records * 1e6
    rest = full_us - sum(parts.values())
    split = ", ".join(f"{k} {v:.0f}" for k, v in parts.items())
    print(
        f"  gateway steps, µs per record (step metrics, mean of the timed rounds): full "
        f"{full_us:.0f} = {split}, rest {rest:.0f}"
    )
    print(
        "    (normalize = Qd130Format.items: decode + hardened parse of every table, their XSDs,"
        "\n     normalization, QĐ 130 rules and signals, history look-ups; rest = SHA-256 and"
        "\n     duplicate look-up, common records and receipt models, index entries, freeing"
        "\n     the envelope)"
    )


def floor_split(data: bytes, records: int, floor: Floor) -> None:
    laps = Laps()
    laps.start()
    floor_once(data, floor, datetime.now(UTC), laps)
    split = ", ".join(f"{k} {v / records / 1000:.1f}" for k, v in laps.totals.items())
    print(f"  floor, µs per record (one pass): {split}")


def gc_time(data: bytes, records: int, gateway: Gateway, partner: Partner) -> None:
    """Garbage-collector pauses during one unprofiled submission."""
    pauses: list[int] = []
    started: list[int] = [0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            pauses.append(time.perf_counter_ns() - started[0])

    gc.collect()
    gc.callbacks.append(callback)
    try:
        start = time.perf_counter_ns()
        submit(data, gateway, partner)
        total = time.perf_counter_ns() - start
    finally:
        gc.callbacks.remove(callback)
    print(
        f"  garbage collection in one submission: {len(pauses)} collections, "
        f"{sum(pauses) / 1e6:.1f} ms of {total / 1e6:.0f} ms "
        f"({sum(pauses) / records / 1000:.0f} µs per record, {sum(pauses) / total:.0%})"
    )


def _where(key: tuple[str, int, str]) -> str:
    file, line, name = key
    if file == "~":
        return name
    root = f"{Path(__file__).resolve().parent.parent}/"
    for marker in ("site-packages/", root, "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{file}:{line} {name}"


# Parts of a submission whose cumulative time is shown: (file suffix, or "~" for a built-in;
# function name; title). A function that no longer exists is skipped.
PARTS = (
    ("gateway/xml/parser.py", "parse", "hardened parse (envelope + every table)"),
    ("gateway/xml/parser.py", "_suspicious", "  of which raw-byte prefilters of the checks"),
    ("gateway/xml/parser.py", "decode_base64", "base64 decode of the tables"),
    ("gateway/trust/verify.py", "verify_enveloped", "signature verification"),
    ("gateway/xml/schemas.py", "validate", "XSD validation (envelope + tables)"),
    ("adapters/hospital/visit.py", "normalize_visit", "normalization of a visit's tables"),
    ("adapters/hospital/xml1.py", "normalize", "  XML1 normalization"),
    ("adapters/hospital/lines.py", "normalize", "  line tables (XML2-XML5) normalization"),
    ("adapters/hospital/rules.py", "check_visit", "QĐ 130 rules of a visit"),
    ("adapters/hospital/flags.py", "record_signals", "signals of a record"),
    ("adapters/hospital/history.py", "judge", "history look-ups and signals"),
    ("gateway/pipeline/batches.py", "_record", "common record models"),
    ("~", "<orjson.dumps>", "orjson.dumps (records, index entries)"),
    ("~", "<built-in method _hashlib.openssl_sha256>", "SHA-256 (body, every HOSO)"),
    ("gateway/receipts.py", "signed_xml", "receipt XML and signature"),
    ("gateway/store/sqlite.py", "save_accepted", "SQLite inserts and commit"),
)


def profile(data: bytes, records: int, gateway: Gateway, partner: Partner, top: int) -> None:
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    submit(data, gateway, partner)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    print(f"  cProfile of one submission ({total * 1e3:.0f} ms under the profiler), by own time:")
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for key, (_, calls, own, _, _) in ranked:
        print(
            f"    {own / total:5.1%} {own / records * 1e6:6.1f} µs/rec "
            f"{calls / records:6.1f} calls/rec  {_where(key)}"
        )
    print("  the same profile, cumulative time of the gateway's parts:")
    for suffix, name, title in PARTS:
        found = [v for k, v in stats.items() if k[0].endswith(suffix) and k[2] == name]
        if found:
            cumulative = sum(v[3] for v in found)
            print(
                f"    {cumulative / total:5.1%} {cumulative / records * 1e6:6.1f} µs/rec  {title}"
            )


# --- the run ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.records", description=__doc__)
    parser.add_argument("--hoso", type=int, default=1000, help="HOSO in the big batch (1000)")
    parser.add_argument("--small", type=int, default=200, help="small batches per round (200)")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds of each (10)")
    parser.add_argument("--top", type=int, default=10, help="cProfile functions shown (10)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        folder = Path(tmp)
        world = make_world(folder / "pki")
        started = time.perf_counter()
        first = big_batch(world, args.hoso, seed=1_000_000)
        generation = time.perf_counter() - started
        settings, counted, raised = settings_for(world, folder / "gateway.sqlite3", first.data)
        gateway = build(settings)
        try:
            partner = gateway.partners.get(PARTNER_ID)
            assert partner is not None
            floor = Floor.load(world, gateway.contracts.folder)
            print(
                f"big batch: {args.hoso} HOSO, {counted.size / 1e6:.1f} MB, "
                f"{counted.elements:,} elements "
                f"({counted.envelope_elements:,} in the envelope + "
                f"{counted.table_elements:,} in {counted.tables:,} embedded tables); "
                f"generated and signed in {generation:.1f} s"
            )
            print(
                "XML limits: "
                + (
                    "raised for it: " + "; ".join(raised)
                    if raised
                    else f"the defaults accept it (max_body_bytes {settings.max_body_bytes:,}, "
                    f"max_elements {settings.max_elements:,} per document)"
                )
            )
            print("store: a fresh SQLite store (WAL, synchronous=FULL) per round")
            print(FLOOR)

            big_metrics = Metrics()
            print(f"\nbig batch: {args.rounds} rounds + 1 warm-up ...", flush=True)
            big = measure(
                lambda i: [first] if i == 0 else [big_batch(world, args.hoso, 1_000_000 + i)],
                args.rounds,
                gateway,
                partner,
                floor,
                folder,
                big_metrics,
            )
            print(f"stream: {args.rounds} rounds + 1 warm-up of {args.small} batches ...")
            stream = measure(
                lambda i: small_batches(world, args.small, 2_000_000 + i * args.small),
                args.rounds,
                gateway,
                partner,
                floor,
                folder,
                Metrics(),
            )
            sizes = statistics.median(r / args.small for r in stream.records)
            print(
                f"stream: {args.small} batches per round, {statistics.median(stream.records)} "
                f"HOSO (median; {sizes:.2f} per batch); signals raised: "
                f"{big.signals + stream.signals}"
            )
            table(
                [
                    (f"1 batch x {args.hoso} HOSO", big),
                    (f"{args.small} batches x 1-3 HOSO", stream),
                ]
            )
            big_us = statistics.median(big.per_record("full"))
            stream_us = statistics.median(stream.per_record("full"))
            floors = [statistics.median(r.per_record("floor")) for r in (stream, big)]
            print(
                f"per record, stream / big batch: full {stream_us / big_us:.2f}x, "
                f"floor {floors[0] / floors[1]:.2f}x; per small batch: full "
                f"{stream_us * sizes / 1000:.2f} ms, floor {floors[0] * sizes / 1000:.2f} ms"
            )

            print(f"\nwhere the time goes, {args.hoso}-HOSO batch:")
            # The steps are means over the timed rounds: so is the whole they are split from.
            mean_us = sum(big.full_ns) / sum(big.records) / 1000
            step_split(big_metrics, sum(big.records), mean_us)
            extra = big_batch(world, args.hoso, seed=3_000_000)
            floor_split(extra.data, extra.records, floor)
            with fresh_store(gateway, folder / "gc.sqlite3") as gc_gateway:
                gc_time(extra.data, extra.records, gc_gateway, partner)
            with fresh_store(gateway, folder / "profile.sqlite3") as profile_gateway:
                profile(extra.data, extra.records, profile_gateway, partner, args.top)
        finally:
            gateway.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
