"""The national-day benchmark runs end to end with a tiny N: it prints its figures and leaves no
database behind (the figures themselves are measured in bench/, never asserted here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.support.postgres import MACHINE_POSTGRES

ROOT = Path(__file__).resolve().parent.parent


def _bench_databases() -> set[str]:
    with psycopg.connect(MACHINE_POSTGRES, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'bench_national_%'"
        )
        return {name for (name,) in rows}


def test_national_bench_with_200_hoso_prints_every_figure_and_drops_its_database() -> None:
    before = _bench_databases()
    done = subprocess.run(
        [sys.executable, "-m", "bench.national", "--hoso", "200", "--postgres", MACHINE_POSTGRES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert re.search(r"HOSO accepted\s+200\b", out)
    assert re.search(r"national day: 200 HOSO in [\d.,]+ s", out)
    assert re.search(r"[\d,]+ HOSO/s; [\d.,]+ minutes for 500,000", out)
    assert re.search(r"two-core floor .*: [\d,]+ HOSO/s; run / floor = \d+%", out)
    assert re.search(r"[\d,]+ bytes per HOSO in PostgreSQL", out)
    for process in ("ingest client", "server worker 1", "server worker 2"):
        assert re.search(rf"{process} +peak +[\d,]+ +[\d,]+ / [\d,]+ / [\d,]+ / [\d,]+", out)
    assert _bench_databases() == before
