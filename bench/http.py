"""HTTP throughput of ``POST /api/v1/claims`` against a bare FastAPI endpoint given the same bodies.

    python -m bench.http [--seconds S] [--concurrency C] [--slice T] [--docs N]

Two servers, each its own process started the same way (uvicorn, one worker, the gateway's h11
protocol and logging setup, loopback, a free port): the real gateway (``gateway serve`` over a
SQLite store in a temporary folder, with a throwaway PKI and partner file) and a bare FastAPI app
whose one POST endpoint reads the body and answers a small JSON. This process is the load client:
``C`` concurrent requests over keep-alive connections (httpx, asyncio), targets alternating in
slices of ``T`` seconds so that machine noise falls on both. Every gateway request carries a
distinct pre-signed ~20 KB batch (a repeated one would be answered as a duplicate); the bare
endpoint gets the same bodies. The run is bounded by ``S`` seconds and by the ``N`` batches.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

from bench.corpus import TOKEN, make_world, signed_documents_parallel
from gateway import logs
from gateway.api.tls import ClientCertH11Protocol

GOAL_HTTP = 0.40  # gateway / bare requests per second, at least
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/v1/claims"


# --- the bare endpoint ------------------------------------------------------------------------


def serve_bare(port: int) -> None:
    """The bare app, served as ``gateway serve`` serves the gateway (protocol, logging)."""
    app = FastAPI()

    @app.post(PATH)
    async def claims(request: Request) -> Response:
        body = await request.body()
        return Response(
            orjson.dumps({"status": "accepted", "size": len(body)}), media_type="application/json"
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    logs.configure()
    uvicorn.run(app, host="127.0.0.1", port=port, http=ClientCertH11Protocol, log_config=None)


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A server subprocess on a loopback port, its log file and its CPU time."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @classmethod
    def start(
        cls, name: str, args: list[str], port: int, folder: Path, env: dict[str, str]
    ) -> Server:
        log = folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=folder,  # no stray .env is read
                env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return cls(name, process, f"http://127.0.0.1:{port}", log)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start within {timeout} s")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- load -------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one target answered over the measured slices."""

    requests: int = 0
    failures: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    slice_rates: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def latency_ms(self, quantile: float) -> float:
        """The latency under which ``quantile`` of the requests were answered, in ms."""
        latencies = sorted(self.latencies)
        return (
            latencies[min(int(len(latencies) * quantile), len(latencies) - 1)] * 1000
            if latencies
            else 0.0
        )


class OutOfWork(Exception):
    """The load has no request left to send."""


# One request: None when it was answered as expected, else what came back (shown in the
# report); ``OutOfWork`` when there is nothing left to send.
Send = Callable[[], Awaitable[str | None]]


async def run_slice(send: Send, *, seconds: float, concurrency: int, tally: Tally | None) -> None:
    """``concurrency`` workers sending until ``seconds`` pass or the work runs out; counted in
    ``tally`` (None: a warm-up)."""
    start = time.perf_counter()
    deadline = start + seconds
    done = 0
    failures = 0
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal done, failures
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                failure = await send()
            except OutOfWork:
                return
            except httpx.HTTPError as exc:
                failure = repr(exc)
            latencies.append(time.perf_counter() - sent)
            done += 1
            if failure is not None:
                failures += 1
                if tally is not None and len(tally.examples) < 3:
                    tally.examples.append(failure)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start  # until the last in-flight answer came back
    if tally is not None and done:
        tally.requests += done
        tally.failures += failures
        tally.seconds += elapsed
        tally.latencies.extend(latencies)
        tally.slice_rates.append(done / elapsed)


async def interleaved(
    servers: dict[str, Server],
    sends: dict[str, Send],
    *,
    seconds: float,
    slice_seconds: float,
    concurrency: int,
) -> dict[str, Tally]:
    """A 1 s warm-up of each target, then slices of ``slice_seconds`` per target in turn, the
    order flipped every turn, for ``seconds``; server and client CPU counted per slice."""
    tallies = {name: Tally() for name in servers}
    for send in sends.values():  # warm-up: connections, imports, caches
        await run_slice(send, seconds=1.0, concurrency=concurrency, tally=None)
    end = time.perf_counter() + seconds
    turn = 0
    while time.perf_counter() < end:
        # a, b, b, a, ...: each target goes first as often as second.
        order = list(servers) if turn % 2 == 0 else list(reversed(servers))
        turn += 1
        for name in order:
            tally = tallies[name]
            server_cpu, client_cpu = servers[name].cpu_seconds(), time.process_time()
            before = tally.seconds
            await run_slice(
                sends[name], seconds=slice_seconds, concurrency=concurrency, tally=tally
            )
            if tally.seconds == before:  # no work left for this target
                return tallies
            tally.server_cpu += servers[name].cpu_seconds() - server_cpu
            tally.client_cpu += time.process_time() - client_cpu
    return tallies


def _accepted(response: httpx.Response, gateway: bool) -> str | None:
    if response.status_code == 200:
        if not gateway:
            return None
        answer = orjson.loads(response.content)
        if answer.get("status") == "accepted" and answer.get("duplicate") is False:
            return None
    return f"{response.status_code} {response.text[:300]}"


def _poster(client: httpx.AsyncClient, bodies: Iterator[bytes], *, gateway: bool) -> Send:
    async def send() -> str | None:
        body = next(bodies, None)
        if body is None:
            raise OutOfWork
        return _accepted(await client.post(PATH, content=body), gateway)

    return send


async def _drive(
    servers: dict[str, Server],
    bodies: dict[str, Iterator[bytes]],
    *,
    seconds: float,
    slice_seconds: float,
    concurrency: int,
) -> dict[str, Tally]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = {
        name: httpx.AsyncClient(base_url=s.url, headers=headers, limits=limits, timeout=60)
        for name, s in servers.items()
    }
    sends = {
        name: _poster(client, bodies[name], gateway=name == "gateway")
        for name, client in clients.items()
    }
    try:
        return await interleaved(
            servers,
            sends,
            seconds=seconds,
            slice_seconds=slice_seconds,
            concurrency=concurrency,
        )
    finally:
        for client in clients.values():
            await client.aclose()


def _report(tallies: dict[str, Tally], concurrency: int) -> None:
    gateway, bare = tallies["gateway"], tallies["bare"]
    ratio = gateway.rate / bare.rate if bare.rate else 0.0
    pairs = [g / b for g, b in zip(gateway.slice_rates, bare.slice_rates, strict=False)]
    print()
    print(
        f"gateway / bare = {ratio:.1%}   (goal >= {GOAL_HTTP:.0%}: "
        + ("met)" if ratio >= GOAL_HTTP else f"missed, {GOAL_HTTP / ratio:.1f}x short)")
    )
    if pairs:
        print(
            f"  median over {len(pairs)} slice pairs {statistics.median(pairs):.1%}, "
            f"range {min(pairs):.1%}-{max(pairs):.1%}"
        )
    for name, tally in (("gateway", gateway), ("bare", bare)):
        p50, p99 = tally.latency_ms(0.50), tally.latency_ms(0.99)
        print(
            f"  {name:<8} {tally.rate:7.0f} req/s  {tally.requests:6d} requests in "
            f"{tally.seconds:5.1f} s, {tally.failures} failed; latency p50 {p50:.1f} ms, "
            f"p99 {p99:.1f} ms"
        )
        print(
            f"  {'':<8} CPU: server {tally.server_cpu / tally.seconds:.0%} of a core, "
            f"{tally.server_cpu / tally.requests * 1000:.2f} ms per request; client "
            f"{tally.client_cpu / tally.seconds:.0%} of a core"
        )
        for example in tally.examples:
            print(f"           e.g. {example}")
    if gateway.requests and bare.requests:
        per_request = (gateway.server_cpu / gateway.requests) / (bare.server_cpu / bare.requests)
        print(
            f"server CPU per request, gateway / bare = {per_request:.1f}x: against a bare "
            f"endpoint driven to its own CPU limit, the gateway would be at {1 / per_request:.1%}"
        )
    for name, tally in (("gateway", gateway), ("bare", bare)):
        if tally.failures:
            print(f"FAILED: {tally.failures} {name} answers were not 200 accepted")
    cores = os.cpu_count() or 1
    client_share = bare.client_cpu / bare.seconds if bare.seconds else 0.0
    if cores <= 2 or client_share > 0.8:
        print(
            f"note: {cores} cores for client and server; the load client (a separate process, "
            f"{concurrency} concurrent requests) used {client_share:.0%} of a core against the "
            "bare endpoint, so the bare rate is partly client-bound and the ratio flatters "
            "the gateway"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
    parser.add_argument("--seconds", type=float, default=40, help="measured time, both targets")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--slice", type=float, default=2.0, help="seconds per target per turn")
    parser.add_argument("--docs", type=int, default=6000, help="distinct batches to generate")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        folder = Path(tmp)
        world = make_world(folder / "pki")
        started = time.perf_counter()
        documents = signed_documents_parallel(world, args.docs, processes=os.cpu_count() or 1)
        size = statistics.median(len(d) for d in documents)
        print(
            f"{len(documents)} distinct signed batches, median {size:.0f} bytes, generated in "
            f"{time.perf_counter() - started:.1f} s"
        )
        gateway_port, bare_port = free_port(), free_port()
        servers = {
            "gateway": Server.start(
                "gateway",
                ["-m", "gateway.cli", "serve", "--port", str(gateway_port)],
                gateway_port,
                folder,
                world.environment(folder / "store" / "gateway.sqlite3"),
            ),
            "bare": Server.start(
                "bare", ["-m", "bench.http", "--serve-bare", str(bare_port)], bare_port, folder, {}
            ),
        }
        try:
            for server in servers.values():
                server.wait_ready()
            print(
                f"servers: gateway {servers['gateway'].url} (SQLite, fsync per commit), bare "
                f"{servers['bare'].url}; uvicorn, 1 worker each; client: httpx async, "
                f"{args.concurrency} in flight, {args.slice:g} s slices, {args.seconds:g} s"
            )
            bodies: dict[str, Iterator[bytes]] = {
                "gateway": iter(documents),
                "bare": cycle(documents),
            }
            tallies = asyncio.run(
                _drive(
                    servers,
                    bodies,
                    seconds=args.seconds,
                    slice_seconds=args.slice,
                    concurrency=args.concurrency,
                )
            )
        finally:
            for server in servers.values():
                server.stop()
        if next(bodies["gateway"], None) is None:
            print(f"note: the {len(documents)} batches ran out; raise --docs for longer runs")
        _report(tallies, args.concurrency)
        return 1 if tallies["gateway"].failures or tallies["bare"].failures else 0


if __name__ == "__main__":
    sys.exit(main())
