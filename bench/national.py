"""The national-day benchmark: N HOSO over HTTP into ``gateway serve --workers 2`` on PostgreSQL.

    python -m bench.national [--hoso 500000] [--per-batch 20] [--concurrency 8]
                             [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

1. Generates ``--hoso`` HOSO as signed QĐ 130 batches of ``--per-batch`` with ``gateway generate``
   (adapters/hospital/synth: the generator's own mix of outpatient and inpatient visits), spread
   over ``FACILITIES`` facilities of one hospital partner, one ``gateway generate`` per facility,
   on every core. Generation is not timed.
2. Measures the floor (``bench.pipeline.floor_once``: the bare lxml / cryptography / hashlib calls
   any verifier must make) on two cores: two processes each run it over half of a sample of the
   batches, started together; the floor rate is the sample's HOSO over the wall time.
3. Creates a database of its own on the server, runs ``gateway db upgrade`` on it, starts
   ``gateway serve --workers 2`` on it and ingests every batch with ``gateway ingest`` (its
   ``--concurrency``). The clock runs from the ingest's start to its exit; meanwhile the resident
   memory (VmRSS) of every server process and of the client is sampled.
4. Stops the server, VACUUMs, and divides ``pg_total_relation_size`` of the tables (less what the
   empty schema took, as ``bench.storage`` measures) by the HOSO stored. Drops the database.

The printout: HOSO/s, minutes for 500,000 at that rate, bytes per HOSO, peak RSS of each process
and its RSS at 25/50/75/100 % of the run (flat when the memory does not grow with N), the
two-core floor rate, and the run's rate as a fraction of it (target: at least ``GOAL``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.corpus import TOKEN, World, make_world
from bench.pipeline import Floor, floor_once
from bench.storage import _pg_sizes
from bench.workers import _free_port, _processes, serving
from gateway.xml.contracts import default_folder

GOAL = 0.40  # the whole run's rate / the two-core floor rate, at least
NATIONAL_DAY = 500_000
FACILITIES = ("01929", "79010", "48001", "31002", "92005")  # Hà Nội, HCMC, Đà Nẵng, HP, CT
FLOOR_SAMPLE = 2_000  # HOSO the floor is measured on, at most
GATEWAY = Path(sys.executable).with_name("gateway")  # the venv's installed command
QUARTERS = (0.25, 0.50, 0.75, 1.00)


# --- generation -------------------------------------------------------------------------------


def generate(world: World, folder: Path, hoso: int, per_batch: int) -> list[Path]:
    """``hoso`` HOSO in batches of ``per_batch``, spread over the facilities (one ``gateway
    generate`` each, distinct seeds: no MA_LK repeats), on every core."""
    batches = -(-hoso // per_batch)
    count = len(FACILITIES)
    shares = [batches // count + (i < batches % count) for i in range(count)]
    commands = [
        [
            str(GATEWAY),
            "generate",
            str(folder / facility),
            "--key",
            str(world.hospital_key),
            "--cert",
            str(world.hospital_cert),
            "--facility",
            facility,
            "--batches",
            str(share),
            "--hoso-per-batch",
            str(per_batch),
            "--seed",
            str(index + 1),
        ]
        for index, (facility, share) in enumerate(zip(FACILITIES, shares, strict=True))
        if share
    ]
    cores = os.cpu_count() or 1
    for start in range(0, len(commands), cores):
        running = [
            subprocess.Popen(command, stdout=subprocess.DEVNULL)
            for command in commands[start : start + cores]
        ]
        if any(process.wait() for process in running):
            raise RuntimeError("gateway generate failed")
    return sorted(folder.glob("*/*.xml"))


# --- the two-core floor -----------------------------------------------------------------------

_FLOOR: dict[str, Floor] = {}  # filled in the parent before the pool forks


def _floor_share(paths: list[Path]) -> int:
    documents = [path.read_bytes() for path in paths]  # read before the barrier: not timed
    at = datetime.now(UTC)
    _BARRIER.wait()
    for data in documents:
        floor_once(data, _FLOOR["floor"], at)
    return len(documents)


_BARRIER = multiprocessing.get_context("fork").Barrier(3)


def two_core_floor(world: World, paths: list[Path], per_batch: int) -> float:
    """HOSO per second of the bare library calls in two processes started together."""
    _FLOOR["floor"] = Floor.load(world, default_folder())
    sample = paths[: max(2, FLOOR_SAMPLE // per_batch)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_floor_share, sample[i::2]) for i in range(2)]
        _BARRIER.wait()  # both have read their share
        started = time.perf_counter()
        done = sum(future.result() for future in futures)
        seconds = time.perf_counter() - started
    return done * per_batch / seconds


# --- memory -----------------------------------------------------------------------------------


def _kb(pid: int, key: str) -> int:
    """A ``/proc/PID/status`` figure in kB (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


@dataclass
class Memory:
    """VmRSS samples of named processes over a run, and their peaks (VmHWM)."""

    pids: dict[str, int]
    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    peaks: dict[str, int] = field(default_factory=dict)

    def sample(self, at: float) -> None:
        self.samples.append((at, {name: _kb(pid, "VmRSS") for name, pid in self.pids.items()}))
        for name, pid in self.pids.items():
            self.peaks[name] = max(self.peaks.get(name, 0), _kb(pid, "VmHWM"))

    def at(self, name: str, fraction: float, seconds: float) -> int:
        """RSS of ``name`` at the last sample before ``fraction`` of the run."""
        before = [rss[name] for t, rss in self.samples if t <= fraction * seconds and rss[name]]
        return before[-1] if before else 0


def _server_children(pid: int) -> dict[str, int]:
    """The supervisor's children by role: its workers, and multiprocessing's helper if any."""
    children: dict[str, int] = {}
    for child in _processes(pid)[1:]:
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"resource_tracker" in command:
            children["server resource tracker"] = child
        else:
            children[f"server worker {sum(1 for n in children if 'worker' in n) + 1}"] = child
    return children


# --- the database -----------------------------------------------------------------------------


def _database_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass(frozen=True)
class Run:
    hoso: int
    seconds: float
    summary: str
    memory: Memory


def environment(world: World, folder: Path, url: str) -> dict[str, str]:
    """The benches' gateway settings with the store (and so every other) in PostgreSQL."""
    return {**os.environ, **world.environment(folder / "unused.sqlite3"), "GATEWAY_STORE_URL": url}


def serve_and_ingest(
    world: World, folder: Path, url: str, *, concurrency: int, workers: int
) -> Run:
    env = environment(world, folder, url)
    port = _free_port()
    log = folder / "server.log"  # where ``serving`` writes the server's output
    with serving(folder, env, workers=workers, port=port) as server:
        started = time.perf_counter()
        client = subprocess.Popen(
            [
                *(GATEWAY, "ingest", folder / "batches", "--url", f"http://127.0.0.1:{port}"),
                *("--token", TOKEN, "--concurrency", str(concurrency), "--no-progress"),
                *("--journal", folder / "journal.jsonl"),
            ],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        names = {"server supervisor": server.pid, "ingest client": client.pid}
        names |= _server_children(server.pid)
        memory = Memory(names)
        while client.poll() is None:
            memory.sample(time.perf_counter() - started)
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        summary = client.stdout.read() if client.stdout else ""
    if client.returncode:
        raise RuntimeError(f"gateway ingest failed:\n{summary}\n{log.read_text()[-2000:]}")
    counts = dict(line.rsplit(None, 1) for line in summary.splitlines() if line.strip())
    counts = {label.strip(): value for label, value in counts.items()}
    if int(counts.get("HOSO rejected", 0)) or int(counts.get("duplicates (original receipt)", 0)):
        raise RuntimeError(f"not every HOSO was accepted anew:\n{summary}")
    return Run(int(counts["HOSO accepted"]), seconds, summary, memory)


# --- the run ----------------------------------------------------------------------------------


def report(run: Run, floor_rate: float, stored: int, args: argparse.Namespace) -> None:
    rate = run.hoso / run.seconds
    print(
        f"\nnational day: {run.hoso:,} HOSO in {run.seconds:,.1f} s over HTTP into gateway serve "
        f"--workers {args.workers} on PostgreSQL (gateway ingest --concurrency {args.concurrency}, "
        f"batches of {args.per_batch}, {len(FACILITIES)} facilities)"
    )
    print(f"  {rate:,.0f} HOSO/s; {NATIONAL_DAY / rate / 60:,.1f} minutes for {NATIONAL_DAY:,}")
    print(
        f"  two-core floor (bare library calls, two processes): {floor_rate:,.0f} HOSO/s; "
        f"run / floor = {rate / floor_rate:.0%} (target at least {GOAL:.0%}: "
        f"{'met' if rate / floor_rate >= GOAL else 'NOT met'})"
    )
    print(
        f"  {stored / run.hoso:,.0f} bytes per HOSO in PostgreSQL after VACUUM "
        "(pg_total_relation_size of every table, less the empty schema)"
    )
    print("  RSS in MB: peak (VmHWM), then at 25/50/75/100 % of the run")
    for name in sorted(run.memory.pids):
        quarters = " / ".join(
            f"{run.memory.at(name, q, run.seconds) / 1024:,.0f}" for q in QUARTERS
        )
        print(f"    {name:<24} peak {run.memory.peaks.get(name, 0) / 1024:6,.0f}   {quarters}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.national", description=__doc__)
    parser.add_argument("--hoso", type=int, default=NATIONAL_DAY, help="HOSO (500,000)")
    parser.add_argument("--per-batch", type=int, default=20, help="HOSO per batch (20)")
    parser.add_argument("--concurrency", type=int, default=8, help="gateway ingest's (8)")
    parser.add_argument("--workers", type=int, default=2, help="gateway serve's (2)")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="the server"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-national-") as tmp:
        folder = Path(tmp)
        world = make_world(folder / "pki", facilities=FACILITIES)
        started = time.perf_counter()
        paths = generate(world, folder / "batches", args.hoso, args.per_batch)
        print(
            f"generated {len(paths):,} batches of {args.per_batch} HOSO in "
            f"{time.perf_counter() - started:,.0f} s (not measured)",
            flush=True,
        )
        floor_rate = two_core_floor(world, paths, args.per_batch)
        database = f"bench_national_{os.getpid()}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            try:
                url = _database_url(args.postgres, database)
                subprocess.run(
                    [GATEWAY, "db", "upgrade"],
                    cwd=folder,
                    env=environment(world, folder, url),
                    check=True,
                    capture_output=True,
                )
                empty = _pg_sizes(url, "public")
                run = serve_and_ingest(
                    world, folder, url, concurrency=args.concurrency, workers=args.workers
                )
                sizes = _pg_sizes(url, "public")
                sizes.subtract(empty)
            finally:
                admin.execute(
                    sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database))
                )
        print(run.summary)
        report(run, floor_rate, sizes.total(), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
