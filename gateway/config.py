"""Settings of one gateway process (pydantic-settings), built once and passed in."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.legacy.limiter import LoginLimits
from gateway.limits.rates import Rate
from gateway.xml.parser import XmlLimits


class Settings(BaseSettings):
    """Environment variables ``GATEWAY_*`` (SPEC section 6) and an optional ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    environment: Literal["production", "development"] = "production"
    store_url: str = "sqlite:///gateway.sqlite3"
    # Queues, caches, rate limits and locks shared by several gateway processes (SPEC section 6).
    # Unset: each process keeps its own (its rate and login limits in its memory).
    redis_url: str | None = Field(default=None, pattern=r"^(rediss?|unix)://\S+$")
    # Requests per partner (the partner file's rate_limit, else this) and per partner and citizen
    # (the lookups'): "<count>/s", "/min" or "/h", that many at once, then at that rate.
    partner_rate_limit: str = "1000/s"
    citizen_rate_limit: str = "30/min"
    # Dossiers, their history, outbox and queues live in a transactional store: unset, the
    # database of GATEWAY_STORE_URL (a sqlite:/// file or PostgreSQL), or dossiers.sqlite3 beside
    # a Redis store, since Redis is not a store of record for dossiers; set, that SQLite file.
    dossier_store_url: str | None = Field(default=None, pattern=r"^sqlite:///.+$")
    # The citizens' SI records (si_* tables) live in the dossiers' database. With this on, a
    # claim's HI cards are checked against them (rules QD130-CARD-KNOWN, -SI-VALID, -HOLDER):
    # turn it on only where the records are loaded, or every claim is refused.
    si_card_check: bool = False
    # VNeID lookups' answers, cached by citizen pseudonym and record version for this many
    # seconds: in GATEWAY_REDIS_URL's Redis, shared, or, unset, in each process's memory (at
    # most si_record_cache_entries answers there). A change of a record is seen at once either
    # way (gateway/sirecords/cache.py); the TTL only bounds what the cache holds.
    si_record_cache_ttl: float = Field(default=300, gt=0, le=86400)
    si_record_cache_entries: int = Field(default=10_000, ge=1)
    # Days a hospital card check (POST /api/egw/KQNhanLichSuKCB2024) is kept in si_card_checks
    # with the name and citizen ID of the staff member who made it (personal data): 12 months,
    # the longest retention of access logs IDENTITY.md section 6.3 found asked for.
    card_check_retention_days: int = Field(default=365, ge=1, le=3650)
    # Retention (`gateway retention`, docs/retention.md): days each kind of data is kept, counted
    # from its reception (an audit entry: its time); unset, kept forever. Claims' originals,
    # common records and receipts; audit entries go only behind a signed checkpoint of the chain.
    retention_originals: int | None = Field(default=None, ge=1)
    retention_records: int | None = Field(default=None, ge=1)
    retention_receipts: int | None = Field(default=None, ge=1)
    retention_audit: int | None = Field(default=None, ge=1)
    partners: Path = Path("partners.toml")
    trust_store: Path = Path("certs")
    routing: Path | None = None
    # The national population database (C06, adapters/population): its SOAP endpoint (unset: no
    # person is checked), the gateway's NDXP account (user, secret and API key, X-Road-Client
    # member/subsystem), the MaCanBo of its automatic checks; seconds to wait for an answer,
    # retries of a call that got none, failed calls in a row that open the circuit breaker and
    # the seconds it stays open, calls in flight at once (one more is refused at once).
    population_url: str | None = Field(default=None, pattern=r"^https?://[^?#\s]+$")
    population_username: str | None = None
    population_secret: SecretStr | None = None
    population_api_key: SecretStr | None = None
    population_client: str | None = None
    population_officer: str | None = None
    population_timeout: float = Field(default=5, gt=0, le=60)
    population_retries: int = Field(default=1, ge=0, le=3)
    population_breaker_failures: int = Field(default=5, ge=1)
    population_breaker_cool_down: float = Field(default=30, gt=0)
    population_max_in_flight: int = Field(default=16, ge=1, le=256)
    # VNeID ID tokens (SPEC section 2, gateway/identity/vneid.py): the identity provider's keys,
    # a JWKS file (re-read when it changes) or an https URL (fetched again after
    # vneid_jwks_ttl seconds, at most vneid_jwks_timeout seconds each); the iss and aud a token
    # must carry; the clock skew allowed on exp, iat and nbf; and the least seconds between two
    # reloads for a token signed by a key not held yet (a rotation, or a made-up kid).
    vneid_jwks: str | None = None
    vneid_issuer: str | None = None
    vneid_client_id: str | None = None
    vneid_leeway: float = Field(default=30, ge=0, le=300)
    vneid_jwks_ttl: float = Field(default=300, gt=0)
    vneid_jwks_refresh: float = Field(default=30, ge=0)
    vneid_jwks_timeout: float = Field(default=5, gt=0)
    signing_key: Path | None = None
    signing_cert: Path | None = None
    # The citizen key (gateway/identity/citizen_key.py, docs/pseudonyms.md): a file of hex
    # digits, mode 0600 or 0640, under which citizens are named without their ID (audit log,
    # lookup cache, card checks). Required in production once a VNeID partner or a partner
    # granted cards.check exists; unset elsewhere, derived from the signing key with a warning.
    pseudonym_key: Path | None = None
    # Status to the portal (DVCQG's sync services, adapters/portal/dvcqg.py): the adapter's base
    # URL, its login and integration paths, the gateway's account there and its agency code
    # (madonvi). Unset URL: `gateway worker` refuses to start.
    portal_sync_url: str | None = Field(default=None, pattern=r"^https?://[^?#\s]+$")
    portal_auth_endpoint: str = Field(default="/api/session", pattern=r"^/\S*$")
    portal_integration_endpoint: str = Field(default="/api/sync", pattern=r"^/\S*$")
    portal_username: str | None = None
    portal_password: SecretStr | None = None
    portal_agency: str | None = None  # madonvi, VSS's agency code on DVCQG
    # Seconds to wait for each answer of the portal; a later answer is a failed attempt.
    portal_timeout: float = Field(default=30, gt=0)
    # SoDienThoai is mandatory on DVCQG and the dossier does not carry the applicant's: VSS's
    # hotline, until the dossier format gives one.
    portal_contact_phone: str = "19009068"
    # The state -> TrangThaiHoSo table: by default the packaged adapters/portal/statuses.toml.
    portal_statuses: Path | None = None
    # Outbox delivery: attempts before a message is dead (the retry budget), the exponential
    # backoff's first and largest delay (seconds, full jitter), the worker's poll interval and
    # how often a dossier still waiting on supplements past their deadline is reminded.
    delivery_attempts: int = Field(default=12, ge=1)
    delivery_backoff_base: float = Field(default=2.0, gt=0)
    delivery_backoff_cap: float = Field(default=3600.0, gt=0)
    worker_poll_interval: float = Field(default=2.0, gt=0)
    reminder_interval: float = Field(default=86400.0, gt=0)
    # The XSDs and WSDLs: by default the ones the installed package carries.
    contracts: Path | None = None
    # Addresses of reverse proxies allowed to forward a verified client certificate.
    trusted_proxies: list[str] = Field(default_factory=list)
    # The address partners use (SPEC section 6), written into WSDLs and absolute links. Unset:
    # the address and port the server's own socket has, never the Host header a client sends.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    # Seconds a client has to send a request's head, and to send the next piece of its body.
    header_read_timeout: float = Field(default=10, gt=0)
    body_read_timeout: float = Field(default=30, gt=0)
    # Open connections of one source address (an IPv6 /64) per worker process; a trusted proxy,
    # whose address all its clients share, is not counted.
    max_connections_per_source: int = Field(default=32, ge=1)
    # Who reads /metrics: these networks, or whoever shows the token of this hash (sha256:<hex>).
    metrics_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    metrics_token_hash: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")

    @field_validator("trusted_proxies", "metrics_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # a ValueError stops startup
        return value

    @field_validator("partner_rate_limit", "citizen_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        Rate.parse(value)  # a ValueError stops startup
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    # Redis must persist every write before the receipt is sent (appendonly yes,
    # appendfsync always); turn this off only for throwaway test databases.
    redis_require_durable: bool = True
    # Documents up to this size (and of few tags) are processed on the event loop, others in at
    # most ``pipeline_threads`` worker threads (see gateway/api/work.py): 128 KiB of real visits
    # took 23 ms, 512 KiB 0.1 s. One thread: a second thread in the same process contends with
    # the first for the GIL, 18 % more CPU per HOSO of 100-HOSO batches, and is faster only by
    # taking a core that another worker would use better (`gateway serve --workers N`;
    # bench/README.md, "Workers"). Inline on SQLite only: with a PostgreSQL or Redis store every
    # document goes to a thread, where its waits on the server stop no other connection.
    pipeline_inline_bytes: int = Field(default=128 * 1024, ge=0)
    pipeline_threads: int = Field(default=1, ge=1)
    # Documents over this size are processed in a pipeline process instead of a thread, so that
    # their garbage collections cannot stall the server (gateway/api/processes.py); 0: never.
    pipeline_process_bytes: int = Field(default=4 * 1024 * 1024, ge=0)
    # Fraud signal: outpatient visits of one card at more facilities than this on one day.
    max_outpatient_facilities_per_day: int = Field(default=2, ge=1)
    # Fraud signal: more units of one drug line per day of stay than this.
    max_drug_units_per_day: Decimal = Field(default=Decimal(100), gt=0)
    max_body_bytes: int = XmlLimits.max_bytes
    max_depth: int = XmlLimits.max_depth
    max_elements: int = XmlLimits.max_elements
    max_attributes: int = XmlLimits.max_attributes
    max_attribute_length: int = XmlLimits.max_attribute_length
    max_base64_bytes: int = XmlLimits.max_base64_bytes
    # The VSS-portal legacy login (LoginLimits, gateway/legacy/limiter.py): attempts let through
    # to the password check per minute, from one source address (an IPv6 /64) and in all; failed
    # logins of one username from one source address that lock them for the lockout's seconds;
    # keys of each kind held (in memory, or in GATEWAY_REDIS_URL's Redis when it is set).
    legacy_login_per_source: int = Field(default=LoginLimits.per_source, ge=1)
    legacy_login_total: int = Field(default=LoginLimits.total, ge=1)
    legacy_login_failures: int = Field(default=LoginLimits.failures, ge=1)
    legacy_login_lockout: int = Field(default=int(LoginLimits.lockout.total_seconds()), ge=1)
    legacy_login_tracked: int = Field(default=LoginLimits.tracked, ge=1)

    @model_validator(mode="after")
    def _login_limits_hold(self) -> Settings:
        self.legacy_login_limits()  # a ValueError stops startup
        return self

    def legacy_login_limits(self) -> LoginLimits:
        return LoginLimits(
            per_source=self.legacy_login_per_source,
            total=self.legacy_login_total,
            failures=self.legacy_login_failures,
            lockout=timedelta(seconds=self.legacy_login_lockout),
            tracked=self.legacy_login_tracked,
        )

    def xml_limits(self) -> XmlLimits:
        return XmlLimits(
            max_bytes=self.max_body_bytes,
            max_depth=self.max_depth,
            max_elements=self.max_elements,
            max_attributes=self.max_attributes,
            max_attribute_length=self.max_attribute_length,
            max_base64_bytes=self.max_base64_bytes,
        )
