"""Peak memory and event-loop stall of the largest bodies the limits let through.

    python -m bench.bodies [--max-mib M] [--cases NAME,...]

A signed QĐ 130 batch of the demo hospital is made to fill ``GATEWAY_MAX_BODY_BYTES`` (M MiB, 8
by default, instead of the 64 of production, so that a run takes under a minute; memory and time
grow linearly with M, bench/README.md) and is sent, once per case, in the largest body each
interface accepts for it:

- ``form``: the portal's ``guiHoSoXmlQD130``, ``fileHSBase64`` encoded as httpx and browsers
  encode forms (``+``, ``/`` and ``=`` percent-encoded);
- ``form-percent``: the same with every byte of ``fileHSBase64`` percent-encoded (``%41%41…``),
  the largest form a document of M MiB can make (about 4 M);
- ``json``: the same fields as a JSON object;
- ``rest``: ``POST /api/v1/claims``, the document itself;
- ``soap``: ``SubmitClaimBatch``, an envelope holding the base64 of a batch of 3/4 of M MiB, or
  of the 7.15 MiB a text node can hold (``TEXT_NODE_LIMIT``), if less.

Each case runs on a gateway of its own (``gateway serve``, one worker, a fresh SQLite store), so
that no memory freed by an earlier case hides the next one's. After a warm-up (a login and a small
submission over the same interface) the gateway's peak resident memory is reset
(``/proc/PID/clear_refs``) and its resident size noted; the peak after the answer, less that,
plus the whole peak of the pipeline process started for the body (if any), is what the body
cost. Meanwhile another connection asks ``/healthz`` every 10 ms: its worst latency while the
body is sent (reading and decoding it) and from then to the answer (the pipeline) is set against
its worst over 2 s of idle just before.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import httpx
import orjson

from adapters.hospital.synth import make_batch
from gateway.demo import HOSPITALS, prepare
from gateway.demo_identity import VNEID_CLIENT_ID
from gateway.legacy import md5_upper
from gateway.trust.sign import SigningIdentity

GATEWAY = Path(sys.executable).with_name("gateway")  # the venv's installed command
HOSPITAL = HOSPITALS[0]
CLAIMS_PATH = "/api/qd130/guiHoSoXmlQD130"
MIB = 1024 * 1024
# Bytes per HOSO of make_batch's visits (18.7 KB on average), to aim the first try below the limit:
# make_batch signs with the default limits, so it cannot make more than 64 MiB.
HOSO_BYTES = 20_000


@dataclass(frozen=True)
class Demo:
    """The demo gateway's settings, and what its hospital signs and logs in with."""

    environment: dict[str, str]
    identity: SigningIdentity
    token: str
    username: str
    password_md5: str


def make_demo(folder: Path) -> Demo:
    # The demo's VNeID partner needs the provider's settings to start. The bench sends no
    # lookup, and the keys' URL is fetched at a citizen's first ID token only: never here.
    environment = {
        **prepare(folder),
        "GATEWAY_VNEID_JWKS": "http://127.0.0.1:9/jwks",
        "GATEWAY_VNEID_ISSUER": "http://127.0.0.1:9",
        "GATEWAY_VNEID_CLIENT_ID": VNEID_CLIENT_ID,
    }
    keys = folder / "pki" / "keys"
    password = (folder / f"{HOSPITAL.partner_id}.password").read_text(encoding="utf-8").strip()
    return Demo(
        environment=environment,
        identity=SigningIdentity.from_files(
            keys / f"{HOSPITAL.partner_id}.key.pem", keys / f"{HOSPITAL.partner_id}.cert.pem"
        ),
        token=(folder / f"{HOSPITAL.partner_id}.token").read_text(encoding="utf-8").strip(),
        username=HOSPITAL.username,
        password_md5=md5_upper(password),
    )


def filling_batch(identity: SigningIdentity, size: int, *, seed: int, first_index: int) -> bytes:
    """A signed batch of real visits, numbered from ``first_index``, that fills ``size`` bytes:
    about 90 % of HOSO, then white space after the root element, which the signature does not
    cover."""
    hoso = max(1, size * 9 // 10 // HOSO_BYTES)
    while True:
        body, _ = make_batch(
            random.Random(seed),
            identity,
            HOSPITAL.facility,
            hoso,
            created=date.today(),
            first_index=first_index,
        )
        if len(body) <= size:
            return body + b"\n" * (size - len(body))
        hoso = max(1, hoso * size // len(body) * 19 // 20)


def percent_encoded(text: bytes) -> bytes:
    """Every byte as ``%XX``: the longest form encoding there is."""
    return b"%" + binascii.hexlify(text, "%").upper() if text else b""


def form_fields(demo: Demo, document: bytes) -> dict[str, str]:
    return {
        "username": demo.username,
        "loaiHoSo": "130",
        "maTinh": HOSPITAL.province,
        "maCSKCB": HOSPITAL.facility,
        "fileHSBase64": base64.b64encode(document).decode("ascii"),
    }


def soap_body(document: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:c="urn:vss:gateway:claims:1"><s:Body><c:SubmitClaimBatch><c:Batch>'
        + base64.b64encode(document)
        + b"</c:Batch></c:SubmitClaimBatch></s:Body></s:Envelope>"
    )


SOAP_OVERHEAD = len(soap_body(b""))
# libxml2 refuses a text node over 10,000,000 bytes unless huge_tree is on (the gateway's parser
# keeps it off): the Batch of a SOAP envelope can carry about 7.15 MiB, whatever the body limit.
TEXT_NODE_LIMIT = 10_000_000


@dataclass(frozen=True)
class Request:
    """One request: where, its headers (beyond authentication) and its body."""

    path: str
    content_type: str
    body: bytes


def form_request(demo: Demo, document: bytes, *, every_byte: bool = False) -> Request:
    fields = form_fields(demo, document)
    if not every_byte:
        body = urllib.parse.urlencode(fields).encode("ascii")
    else:
        encoded = percent_encoded(fields.pop("fileHSBase64").encode("ascii"))
        body = urllib.parse.urlencode(fields).encode("ascii") + b"&fileHSBase64=" + encoded
    return Request(CLAIMS_PATH, "application/x-www-form-urlencoded", body)


CASES: dict[str, Callable[[Demo, bytes], Request]] = {
    "form": form_request,
    "form-percent": lambda demo, doc: form_request(demo, doc, every_byte=True),
    "json": lambda demo, doc: Request(
        CLAIMS_PATH, "application/json", orjson.dumps(form_fields(demo, doc))
    ),
    "rest": lambda demo, doc: Request("/api/v1/claims", "application/xml", doc),
    "soap": lambda demo, doc: Request("/soap/claims", "text/xml; charset=utf-8", soap_body(doc)),
}


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {
        name: int(rest.split()[0]) * 1024
        for name, _, rest in (line.partition(":") for line in lines)
        if name in ("VmRSS", "VmHWM")
    }


def _children(pid: int) -> list[int]:
    """Every process started under ``pid`` (its pipeline processes, gateway/api/processes.py)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


T = TypeVar("T")


class Poller(threading.Thread):
    """Asks ``/healthz`` every 10 ms on a connection of its own: (start, latency) of each."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=600) as http:
            while not self.stop.is_set():
                started = time.perf_counter()
                http.get("/healthz").raise_for_status()
                self.samples.append((started, time.perf_counter() - started))
                self.stop.wait(0.01)

    def during(self, action: Callable[[], T]) -> T:
        """What ``action`` returns, asking all the while it runs."""
        self.start()
        try:
            return action()
        finally:
            self.stop.set()
            self.join()

    def worst(self, *, after: float = 0.0, before: float = float("inf")) -> float | None:
        """The worst latency of the requests started within (``after``, ``before``), if any."""
        return max((d for t, d in self.samples if after <= t < before), default=None)


@dataclass(frozen=True)
class Result:
    case: str
    document: int
    body: int
    answer: str
    seconds: float
    growth: int  # peak resident memory over the resident size before the request
    # Worst /healthz latencies: over 2 s of idle before; while the body was sent (none if it
    # went faster than a request); from then to the answer.
    idle: float | None
    arriving: float | None
    processing: float | None


class Gateway:
    """``gateway serve`` in a subprocess on a fresh store, and an authenticated client of it."""

    def __init__(self, demo: Demo, folder: Path, max_bytes: int) -> None:
        self.demo = demo
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {
            **demo.environment,
            "GATEWAY_STORE_URL": f"sqlite:///{folder / 'gateway.sqlite3'}",
            "GATEWAY_MAX_BODY_BYTES": str(max_bytes),
        }
        self.log = folder / "server.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [GATEWAY, "serve", "--port", str(self.port)],
                cwd=folder,  # no stray .env is read
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(base_url=self.url, timeout=600)
        self.portal_headers: dict[str, str] = {}

    def __enter__(self) -> Gateway:
        try:
            self._log_in()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _log_in(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.http.get("/healthz").raise_for_status()
                break
            except httpx.TransportError as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log.read_text()[-2000:]
                    raise RuntimeError(f"gateway did not start: {log}") from exc
                time.sleep(0.1)
        token = self.http.post(
            "/api/token/take",
            data={"username": self.demo.username, "password": self.demo.password_md5},
        ).json()
        if token["maKetQua"] != "200":
            raise RuntimeError(f"the demo login failed: {token}")
        self.portal_headers = {
            "accessToken": token["APIKey"]["access_token"],
            "tokenId": token["APIKey"]["id_token"],
            "passwordHash": self.demo.password_md5,
        }

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=30)

    def send(self, request: Request) -> tuple[str, float]:
        """POST ``request``; its outcome (a receipt status, a maKetQua or a Fault) and when its
        last byte was handed to the socket."""
        headers = {
            "Content-Type": request.content_type,
            "Content-Length": str(len(request.body)),
            **self.portal_headers,
        }
        if not request.path.startswith("/api/qd130/"):
            headers["Authorization"] = f"Bearer {self.demo.token}"
        sent: list[float] = []

        def pieces() -> Iterator[bytes]:
            body = memoryview(request.body)
            for start in range(0, len(body), MIB):
                yield bytes(body[start : start + MIB])
            sent.append(time.perf_counter())

        answer = self.http.post(request.path, content=pieces(), headers=headers)
        if request.path.startswith("/api/qd130/"):
            outcome: str = answer.json()["maKetQua"]
        elif request.path == "/soap/claims":
            outcome = "soap ok" if answer.status_code == 200 else f"fault {answer.text[-300:]}"
        else:
            outcome = answer.json().get("status", answer.text[:300])
        return outcome, sent[0]


def run_case(
    demo: Demo, folder: Path, case: str, document: bytes, warm_up: bytes, max_bytes: int
) -> Result:
    folder.mkdir()
    request = CASES[case](demo, document)
    with Gateway(demo, folder, max_bytes) as gateway:
        warm, _ = gateway.send(CASES[case](demo, warm_up))
        if warm not in ("200", "accepted", "soap ok"):
            raise RuntimeError(f"{case}: the warm-up submission was not accepted: {warm}")
        time.sleep(0.5)
        idle = Poller(gateway.url)
        idle.during(lambda: time.sleep(2))
        Path(f"/proc/{gateway.process.pid}/clear_refs").write_text("5")
        before = _status(gateway.process.pid)["VmRSS"]
        busy = Poller(gateway.url)
        started = time.perf_counter()
        answer, sent = busy.during(lambda: gateway.send(request))
        seconds = time.perf_counter() - started
        # A pipeline process is started for the first large document (the warm-up is small):
        # its whole peak is what the body cost there.
        helpers = sum(_status(pid)["VmHWM"] for pid in _children(gateway.process.pid))
        growth = _status(gateway.process.pid)["VmHWM"] - before + helpers
    return Result(
        case,
        len(document),
        len(request.body),
        answer,
        seconds,
        growth,
        idle=idle.worst(),
        arriving=busy.worst(before=sent),
        processing=busy.worst(after=sent),
    )


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def report(results: list[Result]) -> None:
    print()
    print(
        f"{'':<13} {'MiB':^17} {'':>9} {'':>6} {'peak memory growth':^25} "
        f"{'worst /healthz, ms':^29}"
    )
    print(
        f"{'case':<13} {'document':>8} {'body':>8} {'answer':>9} {'s':>6} {'MiB':>8} "
        f"{'/ body':>8} {'/ doc':>7} {'idle':>8} {'arriving':>10} {'after':>9}"
    )
    for r in results:
        print(
            f"{r.case:<13} {r.document / MIB:>8.2f} {r.body / MIB:>8.2f} {r.answer[:9]:>9} "
            f"{r.seconds:>6.1f} {r.growth / MIB:>8.1f} {r.growth / r.body:>7.2f}x "
            f"{r.growth / r.document:>6.2f}x "
            f"{_ms(r.idle):>8} {_ms(r.arriving):>10} {_ms(r.processing):>9}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bodies", description=__doc__)
    parser.add_argument("--max-mib", type=float, default=8, help="GATEWAY_MAX_BODY_BYTES in MiB")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated, of: %(default)s")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}")
    max_bytes = int(args.max_mib * MIB)

    with tempfile.TemporaryDirectory(prefix="bench-bodies-") as tmp:
        folder = Path(tmp)
        demo = make_demo(folder / "demo")
        started = time.perf_counter()
        document = filling_batch(demo.identity, max_bytes, seed=1, first_index=1)
        soap_size = min(max_bytes - SOAP_OVERHEAD, TEXT_NODE_LIMIT) // 4 * 3
        soap_document = filling_batch(demo.identity, soap_size, seed=2, first_index=1)
        # Visits of their own: the big batch's are not read as resent versions of these.
        warm_up = filling_batch(demo.identity, 30_000, seed=3, first_index=900_000)
        print(
            f"signed batches of {len(document) / MIB:.2f} and {len(soap_document) / MIB:.2f} MiB "
            f"made in {time.perf_counter() - started:.1f} s; GATEWAY_MAX_BODY_BYTES={max_bytes}"
        )
        results = []
        for case in cases:
            result = run_case(
                demo,
                folder / case,
                case,
                soap_document if case == "soap" else document,
                warm_up,
                max_bytes,
            )
            print(f"{case}: {result.answer} in {result.seconds:.1f} s", flush=True)
            results.append(result)
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
