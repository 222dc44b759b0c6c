"""VNeID lookups (``GET /api/v1/si-records/{citizen_id}``) over real HTTP: cached, beside a bare
FastAPI endpoint returning the same JSON bytes in the same run; and uncached, against the
population-database simulator answering ``--latency`` late, at several numbers of connections.

    python -m bench.lookups [--seconds S] [--concurrency C] [--slice T] [--citizens N]
                            [--uncached-seconds U] [--latency L] [--levels 8,16,32,64]
                            [--bulkhead B] [--redis-url URL | --no-redis]

Every server is its own process started as ``gateway serve`` starts (bench.http's ``Server``):
uvicorn, one worker, loopback, a free port. The gateways run every check of a lookup: the VNeID
partner's bearer token, the citizen's RS256 ID token (X-Citizen-Assertion, minted here by the
VNeID simulator's ``IdentityProvider``, its JWKS a file), the partner's and the citizen's rate
limits (raised to 1000000/s so that they count without refusing), the record version read, the
cache, the durable hash-chained audit entry (SQLite, fsync per commit). ``--citizens`` synthetic
SI records (``gateway.sirecords.synth``) are seeded into each gateway's store; each has its own
token, and requests go round them.

Part 1, cached: three targets in interleaved slices (bench.http's ``interleaved``): the gateway
with its lookup cache in its memory, the gateway with it in Redis (the rate limits then in Redis
too), and a bare FastAPI app whose ``GET`` answers from a dict the bytes the gateway answered.
Each answer is checked to be 200 with exactly those bytes.

Part 2, uncached: a gateway with ``GATEWAY_POPULATION_URL`` set to the C06 simulator (its own
process; its ``slow`` fault set to ``--latency`` through its admin endpoint), the lookup cache
entries living 1 ms (``GATEWAY_SI_RECORD_CACHE_TTL``), so that every lookup reads the store and
asks C06 (the misses are counted from /metrics). Each level of connections runs ``U`` seconds
(the per-source connection cap raised so that it drops none);
the population client's bulkhead (``GATEWAY_POPULATION_MAX_IN_FLIGHT``, ``--bulkhead``, 16 as
by default) is below some levels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from itertools import cycle
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI, Response

from adapters.population.citizens import Citizen, citizen, current_address
from adapters.population.simulator import Population
from adapters.population.simulator import create_app as population_app
from adapters.vneid.simulator import IdentityProvider
from bench.corpus import World, make_world
from bench.http import Send, Server, Tally, free_port, interleaved, run_slice
from gateway import logs
from gateway.api.tls import ClientCertH11Protocol
from gateway.bootstrap import open_si_record_store
from gateway.partners import token_hash
from gateway.sirecords.synth import SeedRecord, synthetic_records

GOAL_RATIO = 0.50  # cached gateway / bare lookups per second, at least
GOAL_P99_MS = 20.0  # cached gateway p99, under
SEED = 10
ISSUER, CLIENT_ID = "https://sso.vneid.bench", "vss-gateway"
VNEID_TOKEN = "tok-bench-vneid-" + "v" * 24
C06_PATH, C06_USER, C06_CLIENT = "/population", "vss-gateway", "VN/GOV/000.00.12.G24/vss-gateway"
PATH = "/api/v1/si-records/{citizen_id}"
UNLIMITED = "1000000/s"
ANSWERS_ENV, C06_ENV = "BENCH_LOOKUP_ANSWERS", "BENCH_C06"


# --- the bare endpoint and the C06 simulator, each served in its own process ------------------


def serve_bare(port: int) -> None:
    """``GET`` of the lookup's path answering the gateway's bytes for that citizen."""
    answers = {
        citizen_id: answer.encode()
        for citizen_id, answer in json.loads(Path(os.environ[ANSWERS_ENV]).read_text()).items()
    }
    app = FastAPI()
    headers = {"Cache-Control": "no-store"}

    @app.get(PATH)
    async def lookup(citizen_id: str) -> Response:
        return Response(answers[citizen_id], media_type="application/json", headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    logs.configure()
    uvicorn.run(app, host="127.0.0.1", port=port, http=ClientCertH11Protocol, log_config=None)


def held_by_c06(records: list[SeedRecord]) -> list[Citizen]:
    """The seeded citizens as the population database holds them (same name and birth)."""
    home = current_address("01", "00001", "-")
    return [
        citizen(
            r.person.citizen_id, r.person.full_name, born=r.person.date_of_birth, residence=home
        )
        for r in records
    ]


def serve_population(port: int) -> None:
    """The C06 simulator over the seeded citizens (``BENCH_C06``: count, secret, API key)."""
    count, secret, api_key = os.environ[C06_ENV].split(":")
    records = list(synthetic_records(int(count), seed=SEED, today=date.today()))
    population = Population(held_by_c06(records), username=C06_USER, secret=secret, api_key=api_key)
    app = population_app(population, path=C06_PATH)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    logs.configure()
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


# --- setup ------------------------------------------------------------------------------------


def add_vneid(world: World) -> None:
    with world.partners.open("a", encoding="utf-8") as out:
        out.write(
            f"""
[[partners]]
id = "vneid"
kind = "vneid"
name = "VNeID backend"
services = ["si_records.lookup"]
tokens = ["{token_hash(VNEID_TOKEN)}"]
"""
        )


def seeded_store(world: World, path: Path, records: list[SeedRecord]) -> None:
    store = open_si_record_store(world.settings(path))
    try:
        for r in records:
            store.upsert(r.person, contributions=r.contributions, cards=r.cards)
    finally:
        store.close()


def gateway_env(world: World, store: Path, jwks: Path, **more: str) -> dict[str, str]:
    return {
        **world.environment(store),
        "GATEWAY_VNEID_JWKS": str(jwks),
        "GATEWAY_VNEID_ISSUER": ISSUER,
        "GATEWAY_VNEID_CLIENT_ID": CLIENT_ID,
        "GATEWAY_PARTNER_RATE_LIMIT": UNLIMITED,
        "GATEWAY_CITIZEN_RATE_LIMIT": UNLIMITED,
        # One loopback source: its default cap (32) drops a new connection while the server
        # has yet to see the close of one the client let go (keepalive_expiry).
        "GATEWAY_MAX_CONNECTIONS_PER_SOURCE": "256",
        **more,
    }


def start(name: str, args: list[str], folder: Path, env: dict[str, str]) -> Server:
    port = free_port()
    server = Server.start(name, [*args, str(port)], port, folder, env)
    server.wait_ready()
    return server


def gateway_args() -> list[str]:
    return ["-m", "gateway.cli", "serve", "--port"]


# --- load -------------------------------------------------------------------------------------


def sender(
    client: httpx.AsyncClient,
    tokens: dict[str, str],
    expected: dict[str, bytes] | None,
    statuses: Counter[int] | None = None,
) -> Send:
    """Lookups of each citizen in turn with their token; a failure unless 200 with the
    expected bytes (any 200 when ``expected`` is None)."""
    turn = cycle(tokens.items())

    async def send() -> str | None:
        citizen_id, token = next(turn)
        response = await client.get(
            f"/api/v1/si-records/{citizen_id}", headers={"X-Citizen-Assertion": token}
        )
        if statuses is not None:
            statuses[response.status_code] += 1
        wanted = response.status_code == 200 and (
            expected is None or response.content == expected[citizen_id]
        )
        return None if wanted else f"{response.status_code} {response.text[:200]}"

    return send


async def paced(send: Send, *, rate: float, seconds: float, tally: Tally) -> None:
    """Requests sent at ``rate`` per second whatever the answers (an open loop), each timed
    from when it was due, so that a stalled server shows in the latency of every request it
    held up (no coordinated omission); the client's connection pool bounds those in flight."""
    start = time.perf_counter()
    count = int(rate * seconds)

    async def one(due: float) -> None:
        try:
            failure = await send()
        except httpx.HTTPError as exc:
            failure = repr(exc)
        tally.latencies.append(time.perf_counter() - due)
        tally.requests += 1
        if failure is not None:
            tally.failures += 1
            if len(tally.examples) < 3:
                tally.examples.append(failure)

    tasks = []
    for n in range(count):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    tally.seconds += time.perf_counter() - start


def client_of(server: Server, concurrency: int) -> httpx.AsyncClient:
    # Idle connections dropped before uvicorn's keep-alive timeout (5 s) can close one under a
    # request: a target waits two other targets' slices between its own.
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2
    )
    headers = {"Authorization": f"Bearer {VNEID_TOKEN}"}
    return httpx.AsyncClient(base_url=server.url, headers=headers, limits=limits, timeout=60)


def misses(server: Server) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith('gateway_si_record_lookups_total{cache="miss"}'):
            return float(line.split()[-1])
    return 0.0


# --- the two parts ----------------------------------------------------------------------------


def cached(args: argparse.Namespace, folder: Path, world: World, tokens: dict[str, str]) -> bool:
    jwks = folder / "jwks.json"
    targets: dict[str, dict[str, str]] = {"gateway-memory": {}}
    if args.redis_url:
        targets["gateway-redis"] = {"GATEWAY_REDIS_URL": args.redis_url}
    servers: dict[str, Server] = {}
    try:
        for name, more in targets.items():
            env = gateway_env(world, folder / f"{name}.sqlite3", jwks, **more)
            servers[name] = start(name, gateway_args(), folder, env)
        answers: dict[str, bytes] = {}
        for name, server in servers.items():  # the answers, and every cache warm
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for citizen_id, token in tokens.items():
                    got = client.get(
                        f"/api/v1/si-records/{citizen_id}",
                        headers={
                            "Authorization": f"Bearer {VNEID_TOKEN}",
                            "X-Citizen-Assertion": token,
                        },
                    )
                    if got.status_code != 200:
                        raise RuntimeError(f"{name}: {got.status_code} {got.text[:300]}")
                    if answers.setdefault(citizen_id, got.content) != got.content:
                        raise RuntimeError(f"{name} answered other bytes")
        (folder / "answers.json").write_text(
            json.dumps({c: a.decode() for c, a in answers.items()}), encoding="utf-8"
        )
        bare_env = {ANSWERS_ENV: str(folder / "answers.json")}
        servers["bare"] = start("bare", ["-m", "bench.lookups", "--serve-bare"], folder, bare_env)
        size = sorted(len(a) for a in answers.values())[len(answers) // 2]
        print(
            f"cached: {len(answers)} citizens, median answer {size} bytes; "
            + ", ".join(f"{n} {s.url}" for n, s in servers.items())
            + f"; {args.concurrency} in flight, {args.slice:g} s slices, {args.seconds:g} s"
        )
        steady = {name: Tally() for name in servers}
        tallies = asyncio.run(_cached_load(args, servers, tokens, answers, steady))
    finally:
        for server in servers.values():
            server.stop()
    bare = tallies.pop("bare")
    ok = not bare.failures
    for name, tally in tallies.items():
        ratio = tally.rate / bare.rate if bare.rate else 0.0
        p99 = tally.latency_ms(0.99)
        met = ratio >= GOAL_RATIO and p99 < GOAL_P99_MS
        print(
            f"  {name} / bare = {ratio:.1%}, p99 {p99:.1f} ms   (goal >= {GOAL_RATIO:.0%} and "
            f"< {GOAL_P99_MS:g} ms: {'met' if met else 'missed'})"
        )
        ok = ok and not tally.failures
    for name, tally in (*tallies.items(), ("bare", bare)):
        _line(name, tally)
    print(
        f"  paced at {args.rate:g} lookups/s over {args.concurrency} connections (open loop; "
        f"latency from when each was due), {2 * args.paced_seconds:g} s per target:"
    )
    for name, tally in steady.items():
        met = tally.latency_ms(0.99) < GOAL_P99_MS
        _line(name, tally)
        print(f"{'':18}p99 goal < {GOAL_P99_MS:g} ms: {'met' if met else 'missed'}")
        ok = ok and not tally.failures
    return ok


async def _cached_load(
    args: argparse.Namespace,
    servers: dict[str, Server],
    tokens: dict[str, str],
    answers: dict[str, bytes],
    steady: dict[str, Tally],
) -> dict[str, Tally]:
    """Closed loop (``--concurrency`` always in flight), interleaved, then each target paced
    at ``--rate`` over as many connections; ``steady`` gets the paced figures."""
    clients = {name: client_of(server, args.concurrency) for name, server in servers.items()}
    sends = {name: sender(client, tokens, answers) for name, client in clients.items()}
    try:
        tallies = await interleaved(
            servers,
            sends,
            seconds=args.seconds,
            slice_seconds=args.slice,
            concurrency=args.concurrency,
        )
        for turn in range(2):  # each target paced twice, in flipped order
            for name in list(servers) if turn == 0 else list(reversed(servers)):
                await paced(
                    sends[name], rate=args.rate, seconds=args.paced_seconds, tally=steady[name]
                )
        return tallies
    finally:
        for client in clients.values():
            await client.aclose()


def uncached(args: argparse.Namespace, folder: Path, world: World, tokens: dict[str, str]) -> bool:
    secret, api_key = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    c06_env = {C06_ENV: f"{args.citizens}:{secret}:{api_key}"}
    servers: list[Server] = []
    try:
        c06 = start("c06", ["-m", "bench.lookups", "--serve-population"], folder, c06_env)
        servers.append(c06)
        fault = {"kind": "slow", "delay": args.latency}
        httpx.post(f"{c06.url}/_simulator/faults", json=fault, timeout=10).raise_for_status()
        env = gateway_env(
            world,
            folder / "gateway-uncached.sqlite3",
            folder / "jwks.json",
            GATEWAY_SI_RECORD_CACHE_TTL="0.001",
            GATEWAY_POPULATION_URL=f"{c06.url}{C06_PATH}",
            GATEWAY_POPULATION_USERNAME=C06_USER,
            GATEWAY_POPULATION_SECRET=secret,
            GATEWAY_POPULATION_API_KEY=api_key,
            GATEWAY_POPULATION_CLIENT=C06_CLIENT,
            GATEWAY_POPULATION_OFFICER=C06_USER,
            GATEWAY_POPULATION_MAX_IN_FLIGHT=str(args.bulkhead),
        )
        gateway = start("gateway-uncached", gateway_args(), folder, env)
        servers.append(gateway)
        print(
            f"\nuncached: C06 simulator {c06.url} answering {args.latency * 1000:g} ms late, "
            f"gateway {gateway.url} (lookup cache entries live 1 ms), bulkhead "
            f"{args.bulkhead} calls in flight; "
            f"{args.uncached_seconds:g} s per level"
        )
        ok = True
        for level in args.levels:
            statuses: Counter[int] = Counter()
            before = misses(gateway)
            tally = asyncio.run(_uncached_load(args, gateway, tokens, level, statuses))
            missed = misses(gateway) - before
            _line(f"{level} conn", tally)
            print(
                f"           answers {dict(sorted(statuses.items()))}; cache misses "
                f"{missed:.0f} (every 200 a miss: {missed >= statuses[200]})"
            )
            ok = ok and not tally.failures
    finally:
        for server in reversed(servers):
            server.stop()
    return ok


async def _uncached_load(
    args: argparse.Namespace,
    server: Server,
    tokens: dict[str, str],
    level: int,
    statuses: Counter[int],
) -> Tally:
    tally = Tally()
    async with client_of(server, level) as client:
        await run_slice(sender(client, tokens, None), seconds=1, concurrency=level, tally=None)
        server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
        send = sender(client, tokens, None, statuses)
        await run_slice(send, seconds=args.uncached_seconds, concurrency=level, tally=tally)
        tally.server_cpu = server.cpu_seconds() - server_cpu
        tally.client_cpu = time.process_time() - client_cpu
    return tally


def _line(name: str, tally: Tally) -> None:
    cpu = ""
    if tally.server_cpu and tally.requests:
        cpu = f"; server CPU {tally.server_cpu / tally.requests * 1000:.2f} ms/request"
    print(
        f"  {name:<15} {tally.rate:7.0f} req/s  {tally.requests:6d} in {tally.seconds:5.1f} s, "
        f"{tally.failures} failed; p50 {tally.latency_ms(0.5):.1f} ms, p99 "
        f"{tally.latency_ms(0.99):.1f} ms, max {tally.latency_ms(1.0):.1f} ms{cpu}"
    )
    for example in tally.examples:
        print(f"                  e.g. {example}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lookups", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30, help="cached: measured time")
    parser.add_argument("--concurrency", type=int, default=32, help="cached: requests in flight")
    parser.add_argument("--slice", type=float, default=2.0, help="seconds per target per turn")
    parser.add_argument(
        "--rate", type=float, default=200, help="cached, paced: lookups/s (IDENTITY.md peak)"
    )
    parser.add_argument("--paced-seconds", type=float, default=5, help="per target, twice")
    parser.add_argument("--citizens", type=int, default=200, help="distinct citizens and tokens")
    parser.add_argument("--uncached-seconds", type=float, default=8, help="per level")
    parser.add_argument("--latency", type=float, default=0.020, help="C06's, seconds")
    parser.add_argument(
        "--levels",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[8, 16, 32, 64],
        help="uncached: connections, comma-separated",
    )
    parser.add_argument("--bulkhead", type=int, default=16, help="C06 calls in flight at most")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--no-redis", action="store_true", help="cached: memory cache only")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-population", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if args.serve_population:
        serve_population(args.serve_population)
        return 0
    if args.no_redis:
        args.redis_url = None

    with tempfile.TemporaryDirectory(prefix="bench-lookups-") as tmp:
        folder = Path(tmp)
        world = make_world(folder / "pki")
        add_vneid(world)
        idp = IdentityProvider(issuer=ISSUER, client_id=CLIENT_ID)
        (folder / "jwks.json").write_text(json.dumps(idp.jwks()), encoding="utf-8")
        records = list(synthetic_records(args.citizens, seed=SEED, today=date.today()))
        seeded_store(world, folder / "seeded.sqlite3", records)
        for name in ("gateway-memory", "gateway-redis", "gateway-uncached"):
            shutil.copyfile(folder / "seeded.sqlite3", folder / f"{name}.sqlite3")
        lifetime = timedelta(hours=2)
        tokens = {
            r.person.citizen_id: idp.mint(r.person.citizen_id, lifetime=lifetime) for r in records
        }
        ok = cached(args, folder, world, tokens)
        ok = uncached(args, folder, world, tokens) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
