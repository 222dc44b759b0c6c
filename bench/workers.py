"""Throughput of ``gateway serve --workers 2`` against ``--workers 1`` on the same batches.

    python -m bench.workers [--batches N] [--hoso H] [--rounds R] [--concurrency C]

Each round starts the venv's ``gateway serve`` twice, with one worker and with two (the order
alternates by round), each time over a fresh SQLite store in a temporary folder so that no batch
is a duplicate, waits until every worker listens, and sends the same ``N`` signed batches of
``H`` HOSO with ``gateway.ingest.ingest``, the client of ``gateway ingest``, at its default
concurrency unless ``C`` is given. The clock runs from the first upload to the last answer.
A run ends with its last batches queued at the worker that holds more of the connections while
the other has run dry: with 24 to 48 batches that tail was 5 to 20 % of a two-worker run, hence
96 by default, closer to a bulk ingest. The report gives HOSO per second, the ratio two workers /
one per round and its median, the CPU of each server process (how the connections were spread
shows there), the client's CPU, and the CPU that other processes of the machine took meanwhile:
on a shared 2-core machine a ratio is only worth reading when that is near zero.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from adapters.hospital.synth import make_batch
from bench.corpus import FACILITY, TOKEN, World, make_world
from gateway.ingest import DEFAULT_CONCURRENCY, ingest
from gateway.trust.sign import SigningIdentity

GOAL = 1.8  # two workers / one, at least, for 100-HOSO batches
GATEWAY = Path(sys.executable).with_name("gateway")  # the venv's installed command
TICK = os.sysconf("SC_CLK_TCK")


def _write_batches(key: Path, cert: Path, folder: Path, numbers: list[int], hoso: int) -> None:
    identity = SigningIdentity.from_files(key, cert)
    for n in numbers:
        body, _ = make_batch(
            random.Random(n),
            identity,
            FACILITY,
            hoso,
            created=date.today(),
            first_index=n * hoso + 1,  # distinct visits: no batch reads as a resent version
        )
        (folder / f"batch-{n:04d}.xml").write_bytes(body)


def write_batches(world: World, folder: Path, count: int, hoso: int) -> None:
    """``count`` distinct signed batches of ``hoso`` HOSO, made on every core."""
    folder.mkdir()
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        shares = [list(range(count))[i::cores] for i in range(cores)]
        for done in [
            pool.submit(
                _write_batches, world.hospital_key, world.hospital_cert, folder, share, hoso
            )
            for share in shares
        ]:
            done.result()


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _machine_busy() -> float:
    """CPU seconds all processes of the machine have used since boot (/proc/stat)."""
    user, nice, system = Path("/proc/stat").read_text().split()[1:4]
    return (int(user) + int(nice) + int(system)) / TICK


def _listening(port: int) -> int:
    """Listening TCP sockets on ``port``: one per worker (each has its own, SO_REUSEPORT)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1
        for fields in map(str.split, lines)
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A"
    )


def _processes(pid: int) -> list[int]:
    """``pid`` and its children: the supervisor and its workers, or the one worker."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


@dataclass(frozen=True)
class Run:
    """One ingest of every batch into a gateway of ``workers`` workers."""

    workers: int
    seconds: float
    hoso: int
    server_cpu: list[float]  # per process of the server, busiest first
    client_cpu: float
    others_cpu: float  # what the rest of the machine used meanwhile

    @property
    def rate(self) -> float:
        return self.hoso / self.seconds


@contextmanager
def serving(
    folder: Path, env: dict[str, str], *, workers: int, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """``gateway serve`` with ``workers`` processes on ``port``, its output in
    ``folder/server.log``, once every worker listens; stopped when the block ends."""
    log = folder / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [GATEWAY, "serve", "--workers", str(workers), "--port", str(port)],
            cwd=folder,  # no stray .env is read
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while _listening(port) < workers:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gateway serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_once(
    world: World, batches: Path, folder: Path, *, workers: int, concurrency: int, port: int
) -> Run:
    env = {**os.environ, **world.environment(folder / "store" / "gateway.sqlite3")}
    with serving(folder, env, workers=workers, port=port) as server:
        processes = _processes(server.pid)
        server_before = [_cpu(pid) for pid in processes]
        client_before, machine_before = time.process_time(), _machine_busy()
        started = time.perf_counter()
        summary = ingest(
            [batches],
            url=f"http://127.0.0.1:{port}",
            token=TOKEN,
            journal=folder / "journal.jsonl",
            concurrency=concurrency,
        )
        seconds = time.perf_counter() - started
        machine = _machine_busy() - machine_before
        client = time.process_time() - client_before
        server_cpu = [
            _cpu(pid) - before for pid, before in zip(processes, server_before, strict=True)
        ]
    if summary.failed or summary.hoso_rejected or summary.duplicates or summary.flagged:
        raise RuntimeError(f"not every batch was accepted anew:\n{summary.table()}")
    return Run(
        workers=workers,
        seconds=seconds,
        hoso=summary.hoso_accepted,
        server_cpu=sorted(server_cpu, reverse=True),
        client_cpu=client,
        others_cpu=max(0.0, machine - sum(server_cpu) - client),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def report(runs: list[Run], concurrency: int) -> None:
    ones = [run for run in runs if run.workers == 1]
    twos = [run for run in runs if run.workers == 2]
    ratios = [two.rate / one.rate for one, two in zip(ones, twos, strict=True)]
    median = statistics.median(ratios)
    print()
    print(
        f"two workers / one = {median:.2f}x (median of {len(ratios)} rounds: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f"); goal >= {GOAL}x: "
        + ("met" if median >= GOAL else "missed")
    )
    for name, group in (("1 worker ", ones), ("2 workers", twos)):
        rates = [run.rate for run in group]
        print(
            f"  {name}: {statistics.median(rates):6.0f} HOSO/s (rounds "
            + ", ".join(f"{rate:.0f}" for rate in rates)
            + ")"
        )
    print(f"  client: gateway.ingest at concurrency {concurrency}, in this process")
    for name, group in (("1 worker ", ones), ("2 workers", twos)):
        per_hoso = [sum(run.server_cpu) / run.hoso * 1000 for run in group]
        cores = [sum(run.server_cpu) / run.seconds for run in group]
        print(
            f"  {name}: server CPU {statistics.median(per_hoso):.2f} ms per HOSO, "
            f"{statistics.median(cores):.2f} cores busy"
        )
    for run in runs:
        per_process = ", ".join(f"{cpu:.1f}" for cpu in run.server_cpu if cpu >= 0.05)
        print(
            f"  {run.workers} worker(s): {run.seconds:5.1f} s; CPU s: server processes "
            f"[{per_process}], client {run.client_cpu:.1f}, other processes "
            f"{run.others_cpu:.1f} ({run.others_cpu / run.seconds:.0%} of a core)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("--batches", type=int, default=96, help="batches per run")
    parser.add_argument("--hoso", type=int, default=100, help="HOSO per batch")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs, 1 and 2 workers")
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="uploads at a time"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        folder = Path(tmp)
        world = make_world(folder / "pki")
        started = time.perf_counter()
        write_batches(world, folder / "batches", args.batches, args.hoso)
        size = sum(p.stat().st_size for p in (folder / "batches").iterdir()) / args.batches
        print(
            f"{args.batches} distinct signed batches of {args.hoso} HOSO, {size / 1e6:.1f} MB "
            f"each, made in {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores"
        )
        runs: list[Run] = []
        for round_ in range(args.rounds):
            for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
                run_folder = folder / f"run-{round_}-{workers}"
                run_folder.mkdir()
                run = run_once(
                    world,
                    folder / "batches",
                    run_folder,
                    workers=workers,
                    concurrency=args.concurrency,
                    port=_free_port(),
                )
                print(f"round {round_ + 1}, {workers} worker(s): {run.rate:.0f} HOSO/s")
                runs.append(run)
        report(runs, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
