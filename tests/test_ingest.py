"""Bulk ingest and the batch generator, against the gateway served over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from adapters.hospital import synth
from gateway.cli import main as cli
from gateway.ingest import Answer, RetryPolicy, Summary, ingest
from gateway.trust.devpki import write_identity
from tests.conftest import HOSPITAL, TOKENS, Pki, Served, counts, free_port

TOKEN = TOKENS[HOSPITAL]
FAST = RetryPolicy(attempts=3, backoff=0.01, max_delay=0.05)
REPO = Path(__file__).parent.parent
TODAY = date.today()


def posts(served: Served) -> int:
    """POST /api/v1/claims requests the gateway has answered, by its own /metrics."""
    text = httpx.get(f"{served.url}/metrics").text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("gateway_requests_total{")
        and 'route="/api/v1/claims"' in line
        and 'method="POST"' in line
    )


def journal_entries(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def rows(table: str) -> dict[str, int]:
    """The summary table printed by ``gateway ingest``, label -> count."""
    return {
        label.strip(): int(n) for label, n in (line.rsplit(None, 1) for line in table.splitlines())
    }


def signed(pki: Pki, seed: int, count: int) -> bytes:
    data, _ = synth.make_batch(random.Random(seed), pki.hospital, "01929", count, created=TODAY)
    return data


def with_one_schema_fault(pki: Pki, seeds: Iterator[int]) -> bytes:
    """A generated batch of 2 HOSO of which exactly one has the ``schema_invalid`` fault."""
    for seed in seeds:
        data, visits = synth.make_batch(
            random.Random(seed),
            pki.hospital,
            "01929",
            2,
            created=TODAY,
            faults=["schema_invalid"],
            fault_rate=0.5,
        )
        if [bool(v.faults) for v in visits].count(True) == 1:
            return data
    raise AssertionError("no seed gave one faulty HOSO in two")


@pytest.fixture
def folder(tmp_path: Path, pki: Pki) -> Path:
    """Six generated batches of 2 HOSO, two of them with one HOSO failing XML1's schema, one
    file that is not XML (a batch-level rejection) and one that is not collected at all."""
    folder = tmp_path / "batches"
    (folder / "later").mkdir(parents=True)
    for n in range(4):
        (folder / f"ok-{n}.xml").write_bytes(signed(pki, 100 + n, 2))
    seeds = itertools.count(200)
    for n in range(2):
        (folder / "later" / f"faulty-{n}.xml").write_bytes(with_one_schema_fault(pki, seeds))
    (folder / "later" / "zz-not-a-batch.xml").write_bytes(b"this is not XML at all\n")
    (folder / "notes.txt").write_text("not collected: not *.xml\n", encoding="utf-8")
    return folder


def receipts_of(served: Served, journal: Path) -> list[dict[str, Any]]:
    with served.client() as http:
        return [
            http.get(f"/api/v1/receipts/{entry['receipt']}").json()
            for entry in journal_entries(journal)
        ]


def test_directory_is_ingested_and_summarised_exactly(
    served: Served, folder: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    summary = ingest([folder], url=served.url, token=TOKEN, journal=journal, concurrency=3)

    assert (summary.files, summary.sent, summary.skipped, summary.failed) == (7, 7, 0, 0)
    assert summary.batches == Counter(accepted=4, partially_accepted=2, rejected=1)
    assert summary.duplicates == 0
    assert (summary.hoso_accepted, summary.hoso_rejected) == (10, 2)
    assert summary.batch_codes == Counter(XML_MALFORMED=1)
    assert summary.hoso_codes == Counter(SCHEMA_INVALID=2)
    assert summary.exit_code == 0
    # 4xx rejections are answers: every file was sent exactly once.
    assert posts(served) == 7
    assert counts(served.gateway) == {"receipts": 7, "records": 10, "originals": 6}

    entries = journal_entries(journal)
    assert sorted(e["path"] for e in entries) == sorted(str(p) for p in folder.rglob("*.xml"))
    for entry in entries:
        assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()
        assert entry["receipt"]
    # Flags are the gateway's signals, counted from the stored receipts themselves.
    items = [r for receipt in receipts_of(served, journal) for r in receipt["results"]]
    assert summary.flagged == sum(1 for r in items if r["signals"])
    assert summary.signals == Counter(s["code"] for r in items for s in r["signals"])


def test_second_run_with_the_same_journal_sends_nothing(
    served: Served, folder: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    ingest([folder], url=served.url, token=TOKEN, journal=journal)
    stored, sent = counts(served.gateway), posts(served)

    again = ingest([folder], url=served.url, token=TOKEN, journal=journal)

    assert (again.files, again.sent, again.skipped) == (7, 0, 7)
    assert posts(served) == sent
    assert counts(served.gateway) == stored
    assert len(journal_entries(journal)) == 7


def test_batches_in_flight_at_a_crash_are_resent_and_answered_as_duplicates(
    served: Served, folder: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    ingest([folder], url=served.url, token=TOKEN, journal=journal)
    stored, sent = counts(served.gateway), posts(served)
    entries = journal_entries(journal)
    lost, torn = [e for e in entries if e["status"] == "accepted"][:2]
    # The crash: one answer never written, the next one torn halfway through its line.
    kept = [orjson.dumps(e) + b"\n" for e in entries if e not in (lost, torn)]
    journal.write_bytes(b"".join(kept) + orjson.dumps(torn)[:40])

    resumed = ingest([folder], url=served.url, token=TOKEN, journal=journal)

    assert (resumed.sent, resumed.skipped, resumed.duplicates) == (2, 5, 2)
    assert resumed.batches == Counter(accepted=2)
    assert posts(served) == sent + 2
    assert counts(served.gateway) == stored  # nothing stored twice
    # Appended after the torn line, which stays as it was: the journal is only ever appended to.
    last = [orjson.loads(line) for line in journal.read_bytes().splitlines()[-2:]]
    answers = {e["sha256"]: e for e in last}
    for original in (lost, torn):
        again = answers[original["sha256"]]
        assert again["receipt"] == original["receipt"]
        assert again["duplicate"] is True


class Stub:
    """A loopback HTTP server in front of a gateway: answers 503 with Retry-After: 0 to the first
    ``refuse`` tries of each body (every try when there is no gateway), delays the others by
    ``delay`` seconds, then forwards them and relays the gateway's answer."""

    def __init__(self, target: str | None, *, refuse: int = 0, delay: float = 0.0) -> None:
        self.target, self.refuse, self.delay = target, refuse, delay
        self.tries: Counter[str] = Counter()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self, port=self.port, lifespan="off", log_config=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        key = hashlib.sha256(body).hexdigest()
        self.tries[key] += 1
        if self.target is None or self.tries[key] <= self.refuse:
            status, headers = 503, [(b"retry-after", b"0")]
            content = b'{"code": "UNAVAILABLE", "status": 503}'
        else:
            await asyncio.sleep(self.delay)
            wanted = {k: v for k, v in scope["headers"] if k in (b"authorization", b"content-type")}
            async with httpx.AsyncClient(base_url=self.target) as http:
                answer = await http.post(
                    scope["path"],
                    content=body,
                    headers={k.decode(): v.decode() for k, v in wanted.items()},
                )
            status, headers, content = answer.status_code, [], answer.content
        headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def __enter__(self) -> Stub:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def test_503_with_retry_after_is_retried_until_answered(
    served: Served, pki: Pki, tmp_path: Path
) -> None:
    for n in range(2):
        (tmp_path / f"b{n}.xml").write_bytes(signed(pki, 300 + n, 1))
    with Stub(served.url, refuse=2) as stub:
        summary = ingest(
            [tmp_path], url=stub.url, token=TOKEN, journal=tmp_path / "j.jsonl", retry=FAST
        )
    assert summary.batches == Counter(accepted=2) and summary.failed == 0
    assert sorted(stub.tries.values()) == [3, 3]
    assert posts(served) == 2


def test_no_answer_after_the_last_attempt_exits_1_and_the_next_run_sends_it(
    served: Served, pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "b.xml").write_bytes(signed(pki, 400, 1))
    journal = tmp_path / "j.jsonl"
    args = ["ingest", str(tmp_path / "b.xml"), "--token", TOKEN, "--journal", str(journal)]
    with Stub(None) as stub:
        assert cli([*args, "--url", stub.url, "--no-progress"]) == 1
    assert list(stub.tries.values()) == [5]  # the default number of attempts, then no more
    table = rows(capsys.readouterr().out)
    assert table["no answer after retries"] == 1
    assert table["UNAVAILABLE"] == 1
    assert journal_entries(journal)[0]["status"] == "failed"

    assert cli([*args, "--url", served.url, "--no-progress"]) == 0
    assert journal_entries(journal)[1]["status"] == "accepted"
    assert counts(served.gateway)["receipts"] == 1


def test_transport_errors_are_retried_then_reported(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "b.xml").write_bytes(signed(pki, 500, 1))
    nobody = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    summary = ingest([tmp_path], url=nobody, token=TOKEN, journal=tmp_path / "j.jsonl", retry=FAST)
    assert summary.no_answer == Counter(ConnectError=1)
    assert summary.exit_code == 1
    assert time.monotonic() - started < 5


def test_a_4xx_without_receipt_is_not_retried_and_is_sent_again_next_run(
    served: Served, pki: Pki, tmp_path: Path
) -> None:
    (tmp_path / "b.xml").write_bytes(signed(pki, 600, 1))
    journal = tmp_path / "j.jsonl"
    refused = ingest([tmp_path], url=served.url, token="wrong-token", journal=journal)
    assert refused.batch_codes == Counter(UNAUTHORIZED=1) and refused.exit_code == 0
    assert posts(served) == 1
    assert journal_entries(journal)[0]["receipt"] is None

    accepted = ingest([tmp_path], url=served.url, token=TOKEN, journal=journal)
    assert (accepted.sent, accepted.batches["accepted"]) == (1, 1)


def test_a_killed_ingest_resumes_without_sending_a_receipted_batch_twice(
    served: Served, folder: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    command = [sys.executable, "-m", "gateway.cli", "ingest", str(folder), "--no-progress"]
    command += ["--token", TOKEN, "--journal", str(journal), "--concurrency", "1"]
    with Stub(served.url, delay=0.2) as slow:
        run = subprocess.Popen([*command, "--url", slow.url], cwd=REPO)
        deadline = time.monotonic() + 30
        # Files go in path order, so the not-a-batch file (third) is answered before the kill.
        while not journal.exists() or journal.read_bytes().count(b"\n") < 3:
            assert time.monotonic() < deadline and run.poll() is None
            time.sleep(0.02)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    before = journal_entries(journal)
    assert 3 <= len(before) < 7

    resumed = ingest([folder], url=served.url, token=TOKEN, journal=journal)

    assert resumed.skipped == len(before)
    assert resumed.sent == 7 - len(before)
    assert resumed.duplicates <= 1  # the batch in flight, if the gateway had stored it
    assert counts(served.gateway) == {"receipts": 7, "records": 10, "originals": 6}


def test_summary_table_is_aligned() -> None:
    summary = Summary(files=4)
    for answer in (
        Answer(Path("a"), "1", "accepted", "R1", results=({"status": "accepted"},) * 2),
        Answer(Path("b"), "2", "rejected", "R2", code="SIGNATURE_INVALID"),
        Answer(
            Path("c"),
            "3",
            "partially_accepted",
            "R3",
            duplicate=True,
            results=(
                {"status": "accepted", "signals": [{"code": "SAME_VISIT_ELSEWHERE"}]},
                {"status": "rejected", "errors": [{"code": "SCHEMA_INVALID"}]},
            ),
        ),
        Answer(Path("d"), "4", "failed", code="UNAVAILABLE"),
    ):
        summary.add(answer)
    assert summary.table() == (
        "files                            4\n"
        "  sent                           4\n"
        "  skipped (already receipted)    0\n"
        "  no answer after retries        1\n"
        "batches answered                 3\n"
        "  accepted                       1\n"
        "  partially accepted             1\n"
        "  rejected                       1\n"
        "  duplicates (original receipt)  1\n"
        "HOSO accepted                    3\n"
        "HOSO rejected                    1\n"
        "HOSO flagged (with signals)      1\n"
        "batches rejected, by code        1\n"
        "  SIGNATURE_INVALID              1\n"
        "HOSO rejected, by code           1\n"
        "  SCHEMA_INVALID                 1\n"
        "signals, by code                 1\n"
        "  SAME_VISIT_ELSEWHERE           1\n"
        "no answer, by last reason        1\n"
        "  UNAVAILABLE                    1"
    )
    assert summary.exit_code == 1


@pytest.fixture
def key_files(pki: Pki, tmp_path: Path) -> list[str]:
    key, cert = tmp_path / "hospital.key.pem", tmp_path / "hospital.cert.pem"
    write_identity(pki.hospital, key, cert)
    return ["--key", str(key), "--cert", str(cert), "--facility", "01929"]


def test_generated_batches_are_accepted(
    served: Served, key_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "generated"
    args = ["generate", str(out), *key_files, "--batches", "3", "--hoso-per-batch", "4"]
    assert cli([*args, "--seed", "7"]) == 0
    files = sorted(out.iterdir())
    assert len(files) == 3 and len({f.read_bytes() for f in files}) == 3

    summary = ingest([out], url=served.url, token=TOKEN, journal=tmp_path / "j.jsonl")
    assert summary.batches == Counter(accepted=3)
    assert summary.hoso_accepted == 12
    # Every generated visit is a new one: no MA_LK repeats across the batches of a run.
    assert summary.flagged == 0 and summary.signals["RESENT_CHANGED"] == 0


def test_generated_faults_are_rejected_as_expected(
    served: Served, key_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "generated"
    args = ["generate", str(out), *key_files, "--batches", "2", "--hoso-per-batch", "3"]
    assert cli([*args, "--fault", "schema_invalid", "--seed", "8"]) == 0

    summary = ingest([out], url=served.url, token=TOKEN, journal=tmp_path / "j.jsonl")
    assert summary.batches == Counter(rejected=2)
    assert summary.hoso_codes == Counter(SCHEMA_INVALID=6)


def test_generate_lists_the_faults_in_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli(["generate", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in synth.FAULTS)
