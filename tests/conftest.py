"""Shared fixtures: a throwaway PKI, partner files, gateways on real SQLite, served over HTTP."""

from __future__ import annotations

import contextlib
import http.server
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.hospital.synth import make_batch
from gateway.api.app import create_app
from gateway.api.connections import GuardedH11Protocol
from gateway.bootstrap import Gateway, build
from gateway.clock import SystemClock
from gateway.config import Settings
from gateway.identity.citizen_key import write_key
from gateway.partners import token_hash
from gateway.trust.anchors import fingerprint
from gateway.trust.devpki import DevCA, gateway_key, new_key, pem, write_identity
from gateway.trust.sign import SigningIdentity
from tests.support.postgres import fresh_schema
from tests.support.vneid import SimulatedProvider, simulated_provider

HOSPITAL = "hospital-01929"
OTHER_HOSPITAL = "hospital-79001"
TOKENS = {
    HOSPITAL: "tok-hospital-01929-" + "a" * 20,
    OTHER_HOSPITAL: "tok-hospital-79001-" + "b" * 20,
    "reader": "tok-reader-" + "c" * 20,
    "elsewhere": "tok-elsewhere-" + "d" * 20,
    "inspector": "tok-inspector-" + "e" * 20,
    "portal": "tok-portal-" + "f" * 20,
    "other-portal": "tok-other-portal-" + "g" * 20,
    "benefits": "tok-benefits-" + "h" * 20,
    "book-and-card": "tok-book-and-card-" + "i" * 20,
}


def _with_chain(identity: SigningIdentity, ca: DevCA) -> SigningIdentity:
    return SigningIdentity(identity.key, identity.certificate, (ca.certificate,))


@dataclass
class Pki:
    """Root → issuing CA → partner certificates, with every faulty variant the tests need."""

    root: DevCA
    issuing: DevCA
    hospital: SigningIdentity
    other_hospital: SigningIdentity
    gateway: SigningIdentity
    bad: dict[str, SigningIdentity] = field(default_factory=dict)
    folder: Path = Path()

    @property
    def trust_store(self) -> Path:
        return self.folder / "trust"

    def key_files(self, name: str) -> tuple[Path, Path]:
        return self.folder / f"{name}.key.pem", self.folder / f"{name}.cert.pem"

    @property
    def pseudonym_key(self) -> Path:
        """The gateway's citizen key (GATEWAY_PSEUDONYM_KEY)."""
        return self.folder / "pseudonym.key"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC)
    root = DevCA.root("Test Root CA")
    issuing = root.intermediate("Test Issuing CA")
    other_root = DevCA.root("Someone Else's Root CA")
    bad = {
        "expired": issuing.issue(
            "expired", not_before=now - timedelta(days=400), not_after=now - timedelta(days=1)
        ),
        "not_yet_valid": issuing.issue(
            "future", not_before=now + timedelta(days=2), not_after=now + timedelta(days=400)
        ),
        "revoked": issuing.issue("revoked"),
        "weak_rsa": issuing.issue("weak", key=new_key(rsa_bits=1024)),
        "ec_p256": issuing.issue("ec", key=new_key(curve=ec.SECP256R1())),
        "untrusted": other_root.intermediate("Other Issuing CA").issue("untrusted"),
    }
    issuing.revoke(bad["revoked"].certificate)
    self_signed = DevCA.root("self-signed hospital")
    bad["self_signed"] = SigningIdentity(self_signed.key, self_signed.certificate)
    result = Pki(
        root=root,
        issuing=issuing,
        hospital=_with_chain(issuing.issue(HOSPITAL), issuing),
        other_hospital=_with_chain(issuing.issue(OTHER_HOSPITAL), issuing),
        gateway=_with_chain(issuing.issue("gateway", key=gateway_key()), issuing),
        bad=bad,
        folder=folder,
    )
    trust = folder / "trust"
    trust.mkdir()
    (trust / "root.pem").write_bytes(pem(root.certificate))
    (trust / "issuing.pem").write_bytes(pem(issuing.certificate))
    for name, ca in (("root", root), ("issuing", issuing)):
        (trust / f"{name}.crl").write_bytes(ca.crl().public_bytes(serialization.Encoding.PEM))
    write_identity(result.gateway, *result.key_files("gateway"))
    write_key(result.pseudonym_key)
    return result


def partner_file(pki: Pki, path: Path) -> Path:
    """Two hospitals (the first also registers every faulty certificate, so that trust failures
    are reached), a read-only partner, one restricted to a source network, two portals and two
    departments (benefits, book-and-card)."""
    hospital_certs = [pki.hospital.certificate] + [i.certificate for i in pki.bad.values()]
    fps = ", ".join(f'"{fingerprint(c)}"' for c in hospital_certs)
    path.write_text(
        f"""
[[partners]]
id = "{HOSPITAL}"
kind = "hospital"
name = "Test General Hospital"
services = ["claims.submit", "claims.read", "signals.read"]
facility_codes = ["01929"]
certificates = [{fps}]
tokens = ["{token_hash(TOKENS[HOSPITAL])}"]

[[partners]]
id = "{OTHER_HOSPITAL}"
kind = "hospital"
name = "Other Hospital"
services = ["claims.submit", "claims.read"]
facility_codes = ["79001"]
certificates = ["{fingerprint(pki.other_hospital.certificate)}"]
tokens = ["{token_hash(TOKENS[OTHER_HOSPITAL])}"]

[[partners]]
id = "reader"
kind = "department"
name = "Read-only department"
services = ["claims.read"]
tokens = ["{token_hash(TOKENS["reader"])}"]

[[partners]]
id = "inspector"
kind = "department"
name = "Inspection department"
services = ["signals.read"]
tokens = ["{token_hash(TOKENS["inspector"])}"]

[[partners]]
id = "elsewhere"
kind = "hospital"
name = "Hospital behind a registered network"
services = ["claims.submit", "claims.read"]
facility_codes = ["01001"]
tokens = ["{token_hash(TOKENS["elsewhere"])}"]
source_networks = ["203.0.113.0/24"]

[[partners]]
id = "portal"
kind = "portal"
name = "National Public Service Portal"
services = ["dossiers.submit", "dossiers.read", "dossiers.transition"]
tokens = ["{token_hash(TOKENS["portal"])}"]

[[partners]]
id = "other-portal"
kind = "portal"
name = "A provincial portal"
services = ["dossiers.submit", "dossiers.read", "dossiers.transition"]
tokens = ["{token_hash(TOKENS["other-portal"])}"]

[[partners]]
id = "benefits"
kind = "department"
name = "Benefits department"
services = ["dossiers.read", "dossiers.transition", "queues.read", "queues.claim"]
departments = ["benefits"]
tokens = ["{token_hash(TOKENS["benefits"])}"]

[[partners]]
id = "book-and-card"
kind = "department"
name = "Book and card department"
services = ["dossiers.read", "dossiers.transition", "queues.read", "queues.claim"]
departments = ["book-and-card"]
tokens = ["{token_hash(TOKENS["book-and-card"])}"]
""",
        encoding="utf-8",
    )
    return path


def settings_in(pki: Pki, folder: Path) -> Settings:
    """Development settings under the test PKI and partner file, the store in ``folder``."""
    key, cert = pki.key_files("gateway")
    return Settings(
        environment="development",
        store_url=f"sqlite:///{folder / 'gateway.sqlite3'}",
        partners=partner_file(pki, folder / "partners.toml"),
        trust_store=pki.trust_store,
        signing_key=key,
        signing_cert=cert,
        pseudonym_key=pki.pseudonym_key,
    )


@pytest.fixture
def settings(pki: Pki, tmp_path: Path) -> Settings:
    return settings_in(pki, tmp_path)


MACHINE_REDIS_URL = "redis://127.0.0.1:6379/15"  # db 15 is reserved for tests
HOW_TO_GET_REDIS = (
    "the tests need redis-server (apt-get install redis-server) and a Redis at 127.0.0.1:6379 "
    "(redis-server --port 6379); db 15 is flushed by the tests"
)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The machine's Redis, db 15, flushed before and after the test."""
    client = redis.Redis.from_url(MACHINE_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        pytest.fail(f"{HOW_TO_GET_REDIS} ({exc})")
    client.flushdb()
    try:
        yield MACHINE_REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The machine's PostgreSQL, in a schema of this test's own, dropped afterwards."""
    with fresh_schema() as url:
        yield url


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    built = build(settings)
    yield built
    built.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    """A gateway served by uvicorn in a thread on a free loopback port."""

    def __init__(self, gateway: Gateway, **config: Any) -> None:
        self.gateway = gateway
        self.port = free_port()
        scheme = "https" if "ssl_certfile" in config else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.app = create_app(gateway)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                http=GuardedH11Protocol,
                proxy_headers=False,
                log_config=None,
                **config,
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def wait_idle(self, timeout: float = 10) -> None:
        """Return once no request is being handled (what it logs is written), or fail."""
        deadline = time.monotonic() + timeout
        while self._server.server_state.tasks:
            if time.monotonic() > deadline:
                raise RuntimeError("requests still being handled")
            time.sleep(0.01)

    def client(self, partner: str | None = HOSPITAL, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {TOKENS[partner]}"} if partner else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


@pytest.fixture
def served(gateway: Gateway) -> Iterator[Served]:
    with Served(gateway) as server:
        yield server


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[Served]:
    """A gateway built from ``settings``, served until the block ends, then closed (for a
    gateway shared by a module's tests)."""
    built = build(settings)
    try:
        with Served(built) as server:
            yield server
    finally:
        built.close()


CLAIM_TABLES = ("receipts", "records", "originals")
DOSSIER_TABLES = ("dossier_dossiers", "dossier_receipts", "dossier_originals", "dossier_outbox")


def counts(gateway: Gateway, tables: tuple[str, ...] = CLAIM_TABLES) -> dict[str, int]:
    """Rows in each table of the gateway's SQLite store (where the tests keep dossiers too),
    read through a second connection."""
    path = gateway.settings.store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables
        }


@pytest.fixture
def batch(pki: Pki) -> Callable[..., bytes]:
    """A signed synthetic batch: ``batch(count=2, identity=..., facility="01929", seed=1)``."""

    def make(
        count: int = 2,
        *,
        identity: SigningIdentity | None = None,
        facility: str = "01929",
        seed: int = 1,
    ) -> bytes:
        data, _ = make_batch(
            random.Random(seed),
            identity or pki.hospital,
            facility,
            count,
            created=date.today(),
            first_index=seed * 100 + 1,  # distinct visits (MA_LK) for distinct seeds
        )
        return data

    return make


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY leak "x">')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.fixture(scope="module")
def vneid_sim() -> Iterator[SimulatedProvider]:
    """The VNeID simulator on a loopback port, on the system clock, one per test module."""
    with simulated_provider(SystemClock()) as running:
        yield running
