"""Store fixtures: real SQLite in tmp_path, the machine's Redis on db 15, a private AOF Redis,
the machine's PostgreSQL; the audit log on each, with a way to tamper with it behind its back;
the dossier and SI-record stores, the card-check log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ulid import ULID

from gateway.audit import AuditLog
from gateway.audit.postgres import PostgresAuditLog
from gateway.audit.redis import RedisAuditLog
from gateway.audit.sqlite import SqliteAuditLog
from gateway.dossiers.ports import DossierStore
from gateway.sirecords.checks import CardCheckLog
from gateway.sirecords.ports import SiRecordStore
from gateway.store import pg_schema
from gateway.store.ports import Store, StoredReceipt, StoredRecord, Submission
from gateway.store.postgres import PostgresStore
from gateway.store.postgres_card_checks import PostgresCardCheckLog
from gateway.store.postgres_dossiers import PostgresDossierStore
from gateway.store.postgres_sirecords import PostgresSiRecordStore
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SqliteStore
from gateway.store.sqlite_card_checks import SqliteCardCheckLog
from gateway.store.sqlite_dossiers import SqliteDossierStore
from gateway.store.sqlite_sirecords import SqliteSiRecordStore
from tests.conftest import MACHINE_REDIS_URL
from tests.support.audit_tampering import PostgresTamperer, RedisTamperer, SqliteTamperer
from tests.support.redis_server import (
    AOF_CONFIG,
    NO_AOF_CONFIG,
    RedisServer,
    StartRedis,
)

HOSPITAL = "hospital-79001"
ClaimXml = Callable[..., bytes]
MakeSubmission = Callable[..., Submission]


def _claim_xml(patient: str = "Nguyễn Văn An") -> bytes:
    """A distinct, UTF-8, non-ASCII claim document (each call gets its own MA_LK)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<GIAMDINHHS><THONGTINHOSO><MA_LK>{ULID()}</MA_LK>"
        f"<HO_TEN>{patient}</HO_TEN></THONGTINHOSO></GIAMDINHHS>"
    ).encode()


def _make_submission(
    original: bytes, *, partner_id: str = HOSPITAL, records: int = 2, accepted: bool = True
) -> Submission:
    receipt_id = str(ULID())
    digest = hashlib.sha256(original).hexdigest()
    receipt = StoredReceipt(
        id=receipt_id,
        partner_id=partner_id,
        sha256=digest,
        accepted=accepted,
        json=json.dumps(
            {"id": receipt_id, "sha256": digest, "status": "accepted" if accepted else "rejected"}
        ).encode(),
        xml=f'<Receipt xmlns="urn:vss:gateway" Id="{receipt_id}"><Ok/></Receipt>'.encode(),
    )
    stored_records = tuple(
        StoredRecord(
            id=(record_id := str(ULID())),
            receipt_id=receipt_id,
            partner_id=partner_id,
            json=json.dumps(
                {"id": record_id, "ho_ten": "Trần Thị Bình", "line": n}, ensure_ascii=False
            ).encode(),
        )
        for n in range(records)
    )
    return Submission(receipt=receipt, records=stored_records, original=original)


@pytest.fixture
def claim_xml() -> ClaimXml:
    """Builds a distinct claim document per call."""
    return _claim_xml


@pytest.fixture
def make_submission() -> MakeSubmission:
    """Builds a submission (receipt, records, original) for the given bytes."""
    return _make_submission


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "gateway.sqlite3")
    yield store
    store.close()


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisStore]:
    # The machine's Redis is a throwaway without AOF; durability is tested separately against a
    # private redis-server (test_redis_durability.py).
    store = RedisStore(redis_url, require_durable=False)
    yield store
    store.close()


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[PostgresStore]:
    pg_schema.upgrade(postgres_url)
    store = PostgresStore(postgres_url)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def store(request: pytest.FixtureRequest) -> Store:
    fixture: Store = request.getfixturevalue(f"{request.param}_store")
    return fixture


@pytest.fixture
def open_another(
    store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Store]]:
    """Opens more stores on the database of ``store``, as other worker processes do."""
    opened: list[Store] = []

    def open_one() -> Store:
        if isinstance(store, SqliteStore):
            opened.append(SqliteStore(tmp_path / "gateway.sqlite3"))
        elif isinstance(store, PostgresStore):
            opened.append(PostgresStore(request.getfixturevalue("postgres_url")))
        else:
            opened.append(RedisStore(MACHINE_REDIS_URL, require_durable=False))
        return opened[-1]

    yield open_one
    for other in opened:
        other.close()


@pytest.fixture(scope="session")
def aof_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server that fsyncs every write to its AOF, and takes no RDB snapshots."""
    with RedisServer(tmp_path_factory.mktemp("aof-redis"), *AOF_CONFIG) as server:
        yield server


@pytest.fixture
def running_aof_redis(aof_redis: RedisServer) -> RedisServer:
    """The session's AOF redis-server, started again if an earlier test left it down."""
    aof_redis.ensure_running()
    return aof_redis


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[StartRedis]:
    """Starts a private redis-server for one test: ``start_redis(aof=False, *extra_config)``;
    every server it started is killed at teardown."""
    servers: list[RedisServer] = []

    def start(*extra: str, aof: bool) -> RedisServer:
        data_dir = tmp_path / f"redis-{len(servers)}"
        server = RedisServer(data_dir, *(AOF_CONFIG if aof else NO_AOF_CONFIG), *extra)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.kill()


Tamperer = SqliteTamperer | RedisTamperer | PostgresTamperer


@dataclass
class AuditBackend:
    """An audit log, a way to open more logs on the same database (another worker), and a
    tamperer that edits the stored entries directly."""

    log: AuditLog
    open_another: Callable[[], AuditLog]
    tamper: Tamperer


def _audit_backend(open_one: Callable[[], AuditLog], tamper: Tamperer) -> Iterator[AuditBackend]:
    opened: list[AuditLog] = []

    def open_log() -> AuditLog:
        opened.append(open_one())
        return opened[-1]

    yield AuditBackend(open_log(), open_log, tamper)
    for log in opened:
        log.close()


@pytest.fixture
def sqlite_audit(tmp_path: Path) -> Iterator[AuditBackend]:
    path = tmp_path / "gateway.sqlite3"
    yield from _audit_backend(lambda: SqliteAuditLog(path), SqliteTamperer(path))


@pytest.fixture
def redis_audit(redis_url: str) -> Iterator[AuditBackend]:
    yield from _audit_backend(lambda: RedisAuditLog(redis_url), RedisTamperer(redis_url))


@pytest.fixture
def postgres_audit(postgres_url: str) -> Iterator[AuditBackend]:
    pg_schema.upgrade(postgres_url)
    tamper = PostgresTamperer(postgres_url)
    yield from _audit_backend(lambda: PostgresAuditLog(postgres_url), tamper)


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def audit(request: pytest.FixtureRequest) -> AuditBackend:
    backend: AuditBackend = request.getfixturevalue(f"{request.param}_audit")
    return backend


@dataclass
class DossierBackend:
    """A dossier store, a way to open more stores on its database (other processes), and one
    to open the SI-record store that shares it (where a move's benefit is written)."""

    store: DossierStore
    open_another: Callable[[], DossierStore]
    open_si_records: Callable[[], SiRecordStore]


def _dossier_backend(
    open_one: Callable[[], DossierStore], open_si: Callable[[], SiRecordStore]
) -> Iterator[DossierBackend]:
    opened: list[DossierStore | SiRecordStore] = []

    def open_store() -> DossierStore:
        store = open_one()
        opened.append(store)
        return store

    def open_si_records() -> SiRecordStore:
        records = open_si()
        opened.append(records)
        return records

    yield DossierBackend(open_store(), open_store, open_si_records)
    for store in opened:
        store.close()


@pytest.fixture
def sqlite_dossiers(tmp_path: Path) -> Iterator[DossierBackend]:
    path = tmp_path / "dossiers.sqlite3"
    yield from _dossier_backend(lambda: SqliteDossierStore(path), lambda: SqliteSiRecordStore(path))


@pytest.fixture
def postgres_dossiers(postgres_url: str) -> Iterator[DossierBackend]:
    pg_schema.upgrade(postgres_url)
    yield from _dossier_backend(
        lambda: PostgresDossierStore(postgres_url), lambda: PostgresSiRecordStore(postgres_url)
    )


@pytest.fixture(params=["sqlite", "postgres"])
def dossiers(request: pytest.FixtureRequest) -> DossierBackend:
    backend: DossierBackend = request.getfixturevalue(f"{request.param}_dossiers")
    return backend


@dataclass
class SiRecordBackend:
    """An SI-record store, and a way to open more stores on its database (other processes)."""

    store: SiRecordStore
    open_another: Callable[[], SiRecordStore]


def _si_record_backend(open_one: Callable[[], SiRecordStore]) -> Iterator[SiRecordBackend]:
    opened: list[SiRecordStore] = []

    def open_store() -> SiRecordStore:
        opened.append(open_one())
        return opened[-1]

    yield SiRecordBackend(open_store(), open_store)
    for store in opened:
        store.close()


@pytest.fixture
def sqlite_si_records(tmp_path: Path) -> Iterator[SiRecordBackend]:
    path = tmp_path / "dossiers.sqlite3"
    yield from _si_record_backend(lambda: SqliteSiRecordStore(path))


@pytest.fixture
def postgres_si_records(postgres_url: str) -> Iterator[SiRecordBackend]:
    pg_schema.upgrade(postgres_url)
    yield from _si_record_backend(lambda: PostgresSiRecordStore(postgres_url))


@pytest.fixture(params=["sqlite", "postgres"])
def si_records(request: pytest.FixtureRequest) -> SiRecordBackend:
    backend: SiRecordBackend = request.getfixturevalue(f"{request.param}_si_records")
    return backend


@pytest.fixture
def sqlite_card_checks(tmp_path: Path) -> Iterator[CardCheckLog]:
    log = SqliteCardCheckLog(tmp_path / "dossiers.sqlite3")
    yield log
    log.close()


@pytest.fixture
def postgres_card_checks(postgres_url: str) -> Iterator[CardCheckLog]:
    pg_schema.upgrade(postgres_url)
    log = PostgresCardCheckLog(postgres_url)
    yield log
    log.close()


@pytest.fixture(params=["sqlite", "postgres"])
def card_check_log(request: pytest.FixtureRequest) -> CardCheckLog:
    log: CardCheckLog = request.getfixturevalue(f"{request.param}_card_checks")
    return log
