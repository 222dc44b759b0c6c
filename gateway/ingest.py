"""Bulk ingest: many claim batches uploaded concurrently, resumable from a journal, summarised."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TextIO

import httpx
import orjson

Status = Literal["accepted", "partially_accepted", "rejected", "failed"]
RECEIPT_STATUSES = ("accepted", "partially_accepted", "rejected")
# 429 and 5xx say "not now": nothing was stored, so sending the same bytes again is safe.
RETRYABLE = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try for an answer: bounded attempts, Retry-After honoured, else backoff."""

    attempts: int = 5
    backoff: float = 0.5  # the first wait after a failure without Retry-After; doubles each time
    max_delay: float = 30.0  # no single wait is longer, whatever Retry-After says

    def delay(self, attempt: int, retry_after: str | None) -> float:
        asked = _seconds(retry_after)
        if asked is not None:
            return min(asked, self.max_delay)
        # Jitter spreads the retries of concurrent uploads; it needs no cryptographic quality.
        jitter = random.uniform(0.5, 1.0)  # noqa: S311
        return min(self.backoff * 2.0 ** (attempt - 1), self.max_delay) * jitter


DEFAULT_RETRY = RetryPolicy()

# Uploads in flight, each on a keep-alive connection of its own. Each worker of the gateway
# listens on its own socket and the kernel gives every new connection to one of them at random
# (gateway/server.py); a worker stays busy with two uploads (one computed, the next arriving),
# and one with more connections than another only queues more. 8 leaves each of 2 workers at
# least 2 connections in 93 % of runs; with 4, one worker has a single one in half of the runs
# (bench.workers: two workers 1.96x one in a round, 1.57x in the next), and 16 cost the server
# more CPU per HOSO (more bodies arriving at once contend for the GIL). With more workers, send
# about 4 per worker.
DEFAULT_CONCURRENCY = 8


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if retry_after is None:
        return None
    value = retry_after.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class Answer:
    """What became of one file: the gateway's answer, or why none came (status ``failed``)."""

    path: Path
    sha256: str
    status: Status
    receipt: str | None = None
    code: str | None = None  # the batch-level rejection code, or the last reason for no answer
    duplicate: bool = False
    results: tuple[dict[str, Any], ...] = ()

    def journal_line(self) -> bytes:
        entry = {
            "path": str(self.path),
            "sha256": self.sha256,
            "receipt": self.receipt,
            "status": self.status,
            "code": self.code,
            "duplicate": self.duplicate,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return orjson.dumps(entry) + b"\n"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _judged(path: Path, sha256: str, response: httpx.Response) -> Answer:
    """The answer a final (not retryable) response gives."""
    body = _json(response)
    status = body.get("status")
    receipted = isinstance(body.get("id"), str) and isinstance(body.get("results"), list)
    if response.status_code == 200 and receipted and status in RECEIPT_STATUSES:
        return Answer(
            path,
            sha256,
            status,
            receipt=body["id"],
            duplicate=body.get("duplicate") is True,
            results=tuple(r for r in body["results"] if isinstance(r, dict)),
        )
    if 400 <= response.status_code < 500:
        receipt = body.get("receipt_id")
        code = body.get("code")
        return Answer(
            path,
            sha256,
            "rejected",
            receipt=receipt if isinstance(receipt, str) else None,
            code=code if isinstance(code, str) else f"HTTP_{response.status_code}",
        )
    return Answer(path, sha256, "failed", code=f"HTTP_{response.status_code}_NOT_A_RECEIPT")


async def _upload(
    client: httpx.AsyncClient, path: Path, body: bytes, sha256: str, retry: RetryPolicy
) -> Answer:
    """Send one batch until it is answered or the attempts run out; a 4xx is never resent."""
    reason = "NOT_SENT"
    for attempt in range(1, retry.attempts + 1):
        retry_after = None
        try:
            response = await client.post("/api/v1/claims", content=body)
        except httpx.TransportError as exc:  # connect, read, timeout, protocol: no answer came
            reason = type(exc).__name__
        else:
            if response.status_code not in RETRYABLE:
                return _judged(path, sha256, response)
            code = _json(response).get("code")
            reason = code if isinstance(code, str) else f"HTTP_{response.status_code}"
            retry_after = response.headers.get("retry-after")
        if attempt < retry.attempts:
            await asyncio.sleep(retry.delay(attempt, retry_after))
    return Answer(path, sha256, "failed", code=reason)


class Journal:
    """The append-only JSON-lines record of answers that lets an interrupted ingest resume."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes() if path.exists() else b""
        self.receipted: dict[str, str] = {}  # sha256 of the bytes -> receipt id
        for line in data.splitlines():
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # the last line, torn by a crash while it was written
            if isinstance(entry, dict) and entry.get("receipt") and entry.get("sha256"):
                self.receipted[str(entry["sha256"])] = str(entry["receipt"])
        self._file = path.open("ab")
        if data and not data.endswith(b"\n"):
            self._file.write(b"\n")
        self._lock = threading.Lock()

    def append(self, answer: Answer) -> None:
        """Write one answer durably: once this returns, a crash cannot lose it."""
        with self._lock:
            self._file.write(answer.journal_line())
            self._file.flush()
            os.fsync(self._file.fileno())

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file.close()


@dataclass
class Summary:
    """Counts over one run: files, batches by receipt status, HOSO, rejection and signal codes."""

    files: int = 0
    sent: int = 0
    skipped: int = 0
    batches: Counter[str] = field(default_factory=Counter)  # by receipt status
    duplicates: int = 0
    hoso_accepted: int = 0
    hoso_rejected: int = 0
    flagged: int = 0  # HOSO with at least one signal
    batch_codes: Counter[str] = field(default_factory=Counter)  # batch-level rejections
    hoso_codes: Counter[str] = field(default_factory=Counter)  # first error of a rejected HOSO
    signals: Counter[str] = field(default_factory=Counter)
    no_answer: Counter[str] = field(default_factory=Counter)  # the last reason per file

    @property
    def answered(self) -> int:
        return sum(self.batches.values())

    @property
    def failed(self) -> int:
        return sum(self.no_answer.values())

    @property
    def exit_code(self) -> int:
        """0 when every file sent got an answer, 1 when some got none after the retries."""
        return 1 if self.failed else 0

    def add(self, answer: Answer) -> None:
        self.sent += 1
        if answer.status == "failed":
            self.no_answer[answer.code or "UNKNOWN"] += 1
            return
        self.batches[answer.status] += 1
        self.duplicates += answer.duplicate
        if answer.code:
            self.batch_codes[answer.code] += 1
        for item in answer.results:
            if item.get("status") == "accepted":
                self.hoso_accepted += 1
            else:
                self.hoso_rejected += 1
                errors = item.get("errors") or [{}]
                self.hoso_codes[str(errors[0].get("code", "UNKNOWN"))] += 1
            signals = item.get("signals") or []
            self.flagged += bool(signals)
            self.signals.update(str(s.get("code", "UNKNOWN")) for s in signals)

    def table(self) -> str:
        """The summary as an aligned two-column text table."""
        rows: list[tuple[str, int]] = [
            ("files", self.files),
            ("  sent", self.sent),
            ("  skipped (already receipted)", self.skipped),
            ("  no answer after retries", self.failed),
            ("batches answered", self.answered),
            ("  accepted", self.batches["accepted"]),
            ("  partially accepted", self.batches["partially_accepted"]),
            ("  rejected", self.batches["rejected"]),
            ("  duplicates (original receipt)", self.duplicates),
            ("HOSO accepted", self.hoso_accepted),
            ("HOSO rejected", self.hoso_rejected),
            ("HOSO flagged (with signals)", self.flagged),
        ]
        for title, counter in (
            ("batches rejected, by code", self.batch_codes),
            ("HOSO rejected, by code", self.hoso_codes),
            ("signals, by code", self.signals),
            ("no answer, by last reason", self.no_answer),
        ):
            if counter:
                rows.append((title, counter.total()))
                rows.extend((f"  {code}", n) for code, n in sorted(counter.items()))
        width = max(len(label) for label, _ in rows) + 2
        digits = max(len(str(n)) for _, n in rows)
        return "\n".join(f"{label:<{width}}{n:>{digits}}" for label, n in rows)


class _Bar:
    """One carriage-return line on stderr: done/total, rate, accepted/rejected, ETA."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream = total, stream
        self.start = self.last = time.monotonic()

    def update(self, summary: Summary, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < 0.1:
            return
        self.last = now
        done = summary.sent + summary.skipped
        rate = summary.sent / max(now - self.start, 1e-9)
        left = self.total - done
        eta = f"{int(left / rate) // 60}m{int(left / rate) % 60:02d}s" if rate else "?"
        self.stream.write(
            f"\r{done}/{self.total} files  {rate:.1f}/s  "
            f"accepted {summary.batches['accepted']}  "
            f"partial {summary.batches['partially_accepted']}  "
            f"rejected {summary.batches['rejected']}  no answer {summary.failed}  "
            f"ETA {eta}\x1b[K"
        )
        if final:
            self.stream.write("\n")
        self.stream.flush()


class _NoBar:
    """The progress bar when there is no terminal to draw it on."""

    def update(self, summary: Summary, *, final: bool = False) -> None:
        pass


def collect(paths: Iterable[Path | str]) -> list[Path]:
    """The files to send: each FILE as given, the *.xml files under each DIR; sorted, once each."""
    found: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.suffix.lower() == ".xml" and p.is_file())
        elif path.is_file():
            found.add(path)
        else:
            raise FileNotFoundError(errno.ENOENT, "no such file or directory", str(path))
    return sorted(found)


def _read(path: Path) -> tuple[bytes, str]:
    body = path.read_bytes()
    return body, hashlib.sha256(body).hexdigest()


def ingest(
    paths: Iterable[Path | str],
    *,
    url: str,
    token: str,
    journal: Path,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 120.0,
    progress: bool = False,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> Summary:
    """Upload the batches of ``paths`` to the gateway at ``url``, ``concurrency`` at a time.

    Every answer is appended to ``journal`` (JSON lines: path, sha256, receipt, status, code,
    duplicate, at) and fsynced before the next step, so an interrupted run can simply be started
    again with the same journal. Files whose sha256 has a receipt in the journal are skipped, never
    sent twice. Files without one (in flight when the run stopped, answered without a receipt, or
    never answered) are sent again; this is safe because the gateway answers the resubmitted bytes
    of an accepted batch with its original receipt, marked duplicate, and stores nothing (a batch
    rejected whole gets one more rejection receipt, and no record, when resent).

    503 and 429 (and other 5xx) are retried as Retry-After says, transport errors with backoff,
    up to ``retry.attempts`` tries; a 4xx rejection is final and never retried.
    """
    try:
        base = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a URL: {url!r}") from exc
    if base.scheme not in ("http", "https") or not base.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    files = collect(paths)
    summary = Summary(files=len(files))
    bar = _Bar(len(files), sys.stderr) if progress and sys.stderr.isatty() else _NoBar()
    with Journal(journal) as log:
        asyncio.run(
            _run(
                files,
                journal=log,
                summary=summary,
                bar=bar,
                url=url,
                token=token,
                concurrency=concurrency,
                timeout=timeout,
                retry=retry,
            )
        )
    bar.update(summary, final=True)
    return summary


async def _run(
    files: list[Path],
    *,
    journal: Journal,
    summary: Summary,
    bar: _Bar | _NoBar,
    url: str,
    token: str,
    concurrency: int,
    timeout: float,
    retry: RetryPolicy,
) -> None:
    pending = iter(files)  # shared by the workers; only one of them runs at a time

    async def worker(client: httpx.AsyncClient) -> None:
        for path in pending:
            body, sha256 = await asyncio.to_thread(_read, path)
            if sha256 in journal.receipted:
                summary.skipped += 1
            else:
                answer = await _upload(client, path, body, sha256, retry)
                await asyncio.to_thread(journal.append, answer)
                summary.add(answer)
            bar.update(summary)

    async with httpx.AsyncClient(
        base_url=url.rstrip("/"),
        headers={"Content-Type": "application/xml", "Authorization": f"Bearer {token}"},
        timeout=timeout,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
