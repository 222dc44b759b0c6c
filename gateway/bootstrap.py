"""The composition root: settings → partners, trust, contracts, store and audit log, formats. The
only module that chooses concrete implementations."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from adapters.hospital.assessment import AssessmentFormat
from adapters.hospital.checkin import CheckinFormat
from adapters.hospital.history import SignalPolicy
from adapters.hospital.qd130 import Qd130Format
from adapters.hospital.treatments import claimed_treatment
from adapters.population.client import PopulationClient
from adapters.portal.dvcqg import DvcqgSink
from adapters.portal.edossier import EDossierFormat
from gateway.audit import AuditLog, Auditor
from gateway.audit.postgres import PostgresAuditLog
from gateway.audit.redis import RedisAuditLog
from gateway.audit.sqlite import SqliteAuditLog
from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.dossiers.calendar import WorkingCalendar
from gateway.dossiers.delivery import DeliveryPolicy
from gateway.dossiers.ports import DossierFormat, DossierStore
from gateway.dossiers.routing import Routing
from gateway.dossiers.service import DossierDeps
from gateway.dossiers.worker import WorkerPolicy
from gateway.errors import ConfigError
from gateway.identity import jwks_http, vneid
from gateway.identity.citizen_key import CitizenKey
from gateway.legacy.limiter import LoginLimiter
from gateway.limits.policy import FailingOver, Limits, RateLimits, limit_key
from gateway.limits.rates import MemoryRates, Rate
from gateway.limits.redis import Breaker, RedisCounters, RedisRates
from gateway.metrics import Metrics
from gateway.partners import PartnerRegistry
from gateway.pipeline.batches import PipelineDeps
from gateway.pipeline.deps import FlowDeps
from gateway.pipeline.ports import BatchFormat
from gateway.sirecords.cache import AnswerCache, MemoryCache
from gateway.sirecords.checks import CardCheckLog, CardChecks
from gateway.sirecords.feeds import TreatmentFeed
from gateway.sirecords.lookups import LookupDeps
from gateway.sirecords.ports import SiRecordStore
from gateway.sirecords.redis_cache import RedisCache
from gateway.soap import SCHEMAS, WSDLS
from gateway.store.health import DatabaseState, reachable
from gateway.store.pg_database import PostgresDatabase
from gateway.store.ports import Store
from gateway.store.postgres import PostgresStore
from gateway.store.postgres_card_checks import PostgresCardCheckLog
from gateway.store.postgres_dossiers import PostgresDossierStore
from gateway.store.postgres_sirecords import PostgresSiRecordStore
from gateway.store.redis import RedisStore, connect
from gateway.store.sqlite import SqliteStore
from gateway.store.sqlite_card_checks import SqliteCardCheckLog
from gateway.store.sqlite_dossiers import SqliteDossierStore
from gateway.store.sqlite_sirecords import SqliteSiRecordStore
from gateway.trust.anchors import TrustAnchors
from gateway.trust.policy import SignaturePolicy
from gateway.trust.sign import SigningIdentity
from gateway.xml.contracts import Contracts

log = logging.getLogger(__name__)

_DEV_PKI_ORGANIZATION = "VSS Gateway development PKI"
# Keys of this process's own rate counts (no GATEWAY_REDIS_URL, or Redis down): ~15 MB at most.
_LOCAL_RATE_KEYS = 100_000
# Seconds the limits wait for Redis, on the event loop: a LAN round trip is well under 1 ms.
_LIMITS_TIMEOUT = 0.25


@dataclass(frozen=True)
class Gateway:
    """Everything a running gateway holds; entrypoints (REST, SOAP, CLI) receive this."""

    settings: Settings
    partners: PartnerRegistry
    citizens: vneid.CitizenVerifier  # X-Citizen-Assertion (VNeID ID tokens)
    contracts: Contracts
    pipeline: PipelineDeps
    claims: BatchFormat
    checkin: BatchFormat
    assessment: BatchFormat
    metrics: Metrics
    audit: Auditor
    dossiers: DossierDeps
    si_records: SiRecordStore
    card_checks: CardChecks  # who checked which card (the VSS portal's card check)
    limits: Limits
    lookups: LookupDeps  # VNeID's lookups of SI records, and their cache

    @property
    def on_system_clock(self) -> bool:
        """Whether its time is the machine's (a test may inject another clock)."""
        return isinstance(self.pipeline.clock, SystemClock)

    def missing_contracts(self) -> list[str]:
        """Contracts that a format or a SOAP service needs and that are not loaded."""
        formats = (self.claims, self.checkin, self.assessment, self.dossiers.format)
        return _missing(self.contracts, formats)

    @property
    def inline_bytes(self) -> int:
        """Documents up to this size run their pipeline on the event loop (``gateway.api.work``),
        only where the claims store answers in-process (SQLite): a PostgreSQL or Redis round trip
        there stops every other connection, for seconds while the server is out of reach (a
        restart of PostgreSQL under load left /healthz unanswered for 30 s)."""
        return (
            self.settings.pipeline_inline_bytes
            if isinstance(self.pipeline.store, SqliteStore)
            else 0
        )

    def database_state(self) -> DatabaseState:
        """The claims store's database as /readyz reports it: its pool where it has one."""
        store = self.pipeline.store
        if isinstance(store, PostgresDatabase):
            return store.state()
        kind = "redis" if isinstance(store, RedisStore) else "sqlite"
        return DatabaseState(kind, reachable(store))

    def close(self) -> None:
        self.pipeline.store.close()
        self.dossiers.store.close()
        self.si_records.close()
        self.card_checks.log.close()
        self.audit.log.close()
        self.limits.close()
        self.lookups.close()


def open_storage(settings: Settings, *, create: bool = True) -> tuple[Store, AuditLog]:
    """The store named by ``GATEWAY_STORE_URL`` (``sqlite:///path``, ``postgresql://...`` or
    ``redis://host:port/db``)
    and the audit log kept in the same database, with the same durability. ``create=False``
    refuses a SQLite file that does not exist yet (a mistyped path, not an empty log)."""
    url = settings.store_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not create and not path.is_file():
            raise ConfigError(f"GATEWAY_STORE_URL {url!r}: there is no database at {path}")
        return SqliteStore(path), SqliteAuditLog(path)
    if url.startswith(("redis://", "rediss://", "unix://")):
        # The store checks the server's durability; the audit log shares the server.
        store = RedisStore(url, require_durable=settings.redis_require_durable)
        return store, RedisAuditLog(url)
    if url.startswith(("postgresql://", "postgres://")):
        claims = PostgresStore(url)
        try:
            return claims, PostgresAuditLog(url)
        except BaseException:
            claims.close()
            raise
    raise ConfigError(
        f"GATEWAY_STORE_URL {url!r}: use sqlite:///path, postgresql://user@host:port/db or "
        "redis://host:port/db"
    )


def _transactional_file(settings: Settings) -> Path:
    """The SQLite file of dossiers and SI records: ``GATEWAY_DOSSIER_STORE_URL``, else the file
    of ``GATEWAY_STORE_URL``, else (a PostgreSQL or Redis store) ``dossiers.sqlite3``."""
    url = settings.dossier_store_url
    if url is None:
        sqlite = settings.store_url.startswith("sqlite:///")
        url = settings.store_url if sqlite else "sqlite:///dossiers.sqlite3"
    return Path(url.removeprefix("sqlite:///"))


def open_dossier_store(settings: Settings) -> DossierStore:
    """The transactional store of dossiers: PostgreSQL (``_transactional_postgres``), else the
    SQLite file (``_transactional_file``)."""
    url = _transactional_postgres(settings)
    if url is not None:
        return PostgresDossierStore(url)
    return SqliteDossierStore(_transactional_file(settings))


def _transactional_postgres(settings: Settings) -> str | None:
    """The PostgreSQL database of dossiers and SI records: ``GATEWAY_STORE_URL`` when it is one
    and ``GATEWAY_DOSSIER_STORE_URL`` does not name a SQLite file; else None (that file)."""
    url = settings.store_url
    postgres = url.startswith(("postgresql://", "postgres://"))
    return url if postgres and settings.dossier_store_url is None else None


def open_si_record_store(settings: Settings) -> SiRecordStore:
    """The citizens' SI records, in the dossiers' database: a finished dossier's benefit is
    written in the transaction of its move."""
    url = _transactional_postgres(settings)
    if url is not None:
        return PostgresSiRecordStore(url)
    return SqliteSiRecordStore(_transactional_file(settings))


def open_card_check_log(settings: Settings) -> CardCheckLog:
    """Who checked which card, beside the SI records."""
    url = _transactional_postgres(settings)
    if url is not None:
        return PostgresCardCheckLog(url)
    return SqliteCardCheckLog(_transactional_file(settings))


def open_limits(settings: Settings, auditor: Auditor, identity: SigningIdentity) -> Limits:
    """Rate and login limits in ``GATEWAY_REDIS_URL``'s Redis, shared by every process (Redis
    down: partners fail over to this process's counts; citizens and logins fail closed, 503);
    unset, in this process's memory, as the log says at startup."""
    login = settings.legacy_login_limits()
    local = MemoryRates(max_keys=_LOCAL_RATE_KEYS)
    rates = functools.partial(
        RateLimits,
        partner_rate=Rate.parse(settings.partner_rate_limit),
        citizen_rate=Rate.parse(settings.citizen_rate_limit),
        key=limit_key(identity),
    )
    if settings.redis_url is None:
        log.warning(
            "GATEWAY_REDIS_URL is not set: rate limits and legacy login limits are counted by "
            "each gateway process on its own (N processes: N times looser)"
        )
        return Limits(
            rates(partners=local, citizens=local),
            LoginLimiter.in_memory(login, auditor),
            shared=False,
        )
    client, breaker = connect(settings.redis_url, timeout=_LIMITS_TIMEOUT), Breaker()
    shared = RedisRates(client, breaker)
    log.info("rate limits and legacy login limits are shared through GATEWAY_REDIS_URL")
    return Limits(
        rates(partners=FailingOver(shared, local), citizens=shared),
        LoginLimiter.counted(
            login,
            auditor,
            lambda kind, window: RedisCounters(
                client, breaker, f"login:{kind}", window, max_keys=login.tracked
            ),
        ),
        shared=True,
        close=client.close,
    )


def open_lookup_cache(settings: Settings) -> AnswerCache:
    """The lookups' answers cached in ``GATEWAY_REDIS_URL``'s Redis, shared by every process
    (Redis down: every lookup misses), or, unset, in this process's memory."""
    ttl = settings.si_record_cache_ttl
    if settings.redis_url is None:
        return MemoryCache(max_entries=settings.si_record_cache_entries, ttl=ttl)
    return RedisCache(connect(settings.redis_url, timeout=_LIMITS_TIMEOUT), Breaker(), ttl=ttl)


@dataclass(frozen=True)
class StatusWorker:
    """What a worker of ``gateway worker`` (or the demo's) runs on: the dossier store whose
    outbox it drains, the portal's sink, its pacing."""

    store: DossierStore
    sink: DvcqgSink
    policy: WorkerPolicy

    def close(self) -> None:
        self.sink.close()
        self.store.close()


def status_worker(settings: Settings) -> StatusWorker:
    """The worker of ``GATEWAY_PORTAL_*`` and the delivery settings; a missing one stops here."""
    sink = DvcqgSink.from_settings(settings)
    policy = WorkerPolicy(
        delivery=DeliveryPolicy(
            attempts=settings.delivery_attempts,
            base=settings.delivery_backoff_base,
            cap=settings.delivery_backoff_cap,
        ),
        poll=settings.worker_poll_interval,
        reminder_interval=timedelta(seconds=settings.reminder_interval),
    )
    return StatusWorker(open_dossier_store(settings), sink, policy)


def _missing(contracts: Contracts, formats: tuple[BatchFormat | DossierFormat, ...]) -> list[str]:
    schemas = [name for fmt in formats for name in fmt.schema_names]
    return contracts.missing(schemas=[*schemas, *SCHEMAS.values()], wsdls=WSDLS.values())


def signing_identity(settings: Settings) -> SigningIdentity:
    if settings.signing_key is None or settings.signing_cert is None:
        raise ConfigError("GATEWAY_SIGNING_KEY and GATEWAY_SIGNING_CERT are required (receipts)")
    identity = SigningIdentity.from_files(settings.signing_key, settings.signing_cert)
    organization = identity.certificate.subject.rfc4514_string()
    if settings.environment != "development" and _DEV_PKI_ORGANIZATION in organization:
        raise ConfigError(
            "the signing certificate comes from the development PKI; it is refused outside "
            "GATEWAY_ENVIRONMENT=development"
        )
    return identity


def build(settings: Settings, *, clock: Clock | None = None) -> Gateway:
    """Build a gateway from settings; a mistake stops here with a ``ConfigError``."""
    metrics = Metrics()
    clock = clock or SystemClock()
    claims = Qd130Format(
        SignalPolicy(
            max_outpatient_facilities_per_day=settings.max_outpatient_facilities_per_day,
            max_units_per_day=settings.max_drug_units_per_day,
        )
    )
    checkin, assessment = CheckinFormat(), AssessmentFormat()
    dossier_format = EDossierFormat()
    # Everything that reads files comes first, so that a mistake there stops startup before a
    # store is opened.
    contracts = Contracts.load(settings.contracts)
    missing = _missing(contracts, (claims, checkin, assessment, dossier_format))
    if missing:
        raise ConfigError(f"contract {contracts.folder / missing[0]} is missing")
    partners = PartnerRegistry.from_file(settings.partners)
    routing = Routing(settings.routing)
    _check_departments(partners, routing)
    fetch = jwks_http.fetcher(timeout=settings.vneid_jwks_timeout)
    citizens = vneid.from_settings(settings, partners=partners, clock=clock, fetch=fetch)
    anchors = TrustAnchors.from_directory(settings.trust_store)
    identity = signing_identity(settings)
    citizen_key = CitizenKey.of_settings(settings, identity=identity, partners=partners)
    pseudonyms = citizen_key.pseudonyms()
    store, audit_log = open_storage(settings)
    auditor = Auditor(audit_log, clock, pseudonyms=pseudonyms)
    si_records = open_si_record_store(settings)
    limits = open_limits(settings, auditor, identity)
    # After every check that can refuse the start: then its error is the only line it prints.
    population = population_registry(settings)
    # Claims' cards are checked against the SI records only where they are loaded.
    claims = Qd130Format(claims.policy, register=si_records if settings.si_card_check else None)
    # Both flows run on the same parts; each adds its own ports.
    shared = vars(
        FlowDeps(
            anchors=anchors,
            policy=SignaturePolicy(),
            schemas=contracts.schemas,
            limits=settings.xml_limits(),
            identity=identity,
            clock=clock,
            metrics=metrics,
        )
    )
    return Gateway(
        settings=settings,
        partners=partners,
        citizens=citizens,
        contracts=contracts,
        pipeline=PipelineDeps(
            store=store, treatments=TreatmentFeed(si_records, claimed_treatment), **shared
        ),
        claims=claims,
        checkin=checkin,
        assessment=assessment,
        metrics=metrics,
        audit=auditor,
        dossiers=DossierDeps(
            store=open_dossier_store(settings),
            format=dossier_format,
            routing=routing,
            calendar=WorkingCalendar(),
            audit=auditor,
            population=population,
            **shared,
        ),
        si_records=si_records,
        card_checks=CardChecks(
            open_card_check_log(settings),
            clock,
            key=citizen_key.card_checks(),
            retention=timedelta(days=settings.card_check_retention_days),
        ),
        limits=limits,
        lookups=LookupDeps(
            store=si_records,
            cache=open_lookup_cache(settings),
            citizens=citizens,
            rates=limits.rates,
            pseudonyms=pseudonyms,
            partners=partners,
            audit=auditor,
            metrics=metrics,
            population=population,
        ),
    )


def population_registry(settings: Settings) -> PopulationClient | None:
    """The population database's client when ``GATEWAY_POPULATION_URL`` is set; unset, nobody
    named in a dossier or looked up is checked, which startup says in one line."""
    if settings.population_url is None:
        log.warning(
            "GATEWAY_POPULATION_URL is unset: persons in dossiers and lookups are not checked"
        )
        return None
    client = PopulationClient.from_settings(settings)
    log.info("persons in dossiers and lookups are checked with the population database (C06)")
    return client


def _check_departments(partners: PartnerRegistry, routing: Routing) -> None:
    """Every department a partner works for is one of the routing file's."""
    known = routing.table().departments
    for partner in partners.all():
        unknown = sorted(partner.departments - set(known))
        if unknown:
            raise ConfigError(
                f"partner {partner.id} works for {', '.join(unknown)}, not a department of the "
                f"routing file; its departments are {', '.join(known)}"
            )
