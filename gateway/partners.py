"""The partner registry (SPEC section 2): who may call which service, with which credentials."""

from __future__ import annotations

import hashlib
import ipaddress
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.errors import ConfigError, Forbidden
from gateway.limits.rates import Rate

PartnerKind = Literal["portal", "hospital", "vneid", "department"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Partner(BaseModel):
    """One partner as configured; unknown keys are a startup error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    kind: PartnerKind
    name: str
    services: frozenset[str]
    facility_codes: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()  # departments only: whose queues it works
    certificates: frozenset[str] = frozenset()
    tokens: frozenset[str] = frozenset()
    source_networks: tuple[IPNetwork, ...] = ()
    legacy_username: str | None = None
    legacy_password_hash: str | None = None
    # Requests per period ("100/s", "6000/min"): unset, GATEWAY_PARTNER_RATE_LIMIT.
    rate_limit: str | None = None

    @field_validator("certificates")
    @classmethod
    def _fingerprints(cls, value: frozenset[str]) -> frozenset[str]:
        normalized = frozenset(v.lower().replace(":", "") for v in value)
        if any(len(v) != 64 or not _is_hex(v) for v in normalized):
            raise ValueError("certificates are SHA-256 fingerprints: 64 hex digits")
        return normalized

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            Rate.parse(value)  # its ValueError names the mistake
        return value

    @field_validator("tokens")
    @classmethod
    def _token_hashes(cls, value: frozenset[str]) -> frozenset[str]:
        if any(
            not v.startswith("sha256:") or len(v) != 71 or not _is_hex(v[7:].lower()) for v in value
        ):
            raise ValueError('tokens are "sha256:<64 hex digits>" hashes, never tokens')
        return frozenset(v[7:].lower() for v in value)

    def may(self, service: str) -> bool:
        return service in self.services

    def allows_address(self, address: str | None) -> bool:
        """True when no source network is configured or ``address`` lies in one of them."""
        if not self.source_networks:
            return True
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # an IPv4 client seen on a dual-stack socket
        return any(ip in network for network in self.source_networks)


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdef" for c in value)


def token_hash(token: str) -> str:
    """What the partner file stores for an API token: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class PartnerRegistry:
    """Partners indexed by id, token hash and certificate fingerprint."""

    def __init__(self, partners: list[Partner]) -> None:
        self._by_id: dict[str, Partner] = {}
        self._by_token: dict[str, Partner] = {}
        self._by_cert: dict[str, Partner] = {}
        for partner in partners:
            if partner.id in self._by_id:
                raise ConfigError(f"partner id {partner.id!r} is configured twice")
            self._by_id[partner.id] = partner
            for digest in partner.tokens:
                self._register(self._by_token, digest, partner, "token")
            for fp in partner.certificates:
                self._register(self._by_cert, fp, partner, "certificate")

    @staticmethod
    def _register(index: dict[str, Partner], key: str, partner: Partner, what: str) -> None:
        if key in index:
            raise ConfigError(f"a {what} is registered to both {index[key].id} and {partner.id}")
        index[key] = partner

    @classmethod
    def from_file(cls, path: Path) -> PartnerRegistry:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read partner file {path}: {exc}") from exc
        unknown = set(data) - {"partners"}
        if unknown:
            raise ConfigError(f"partner file {path}: unknown keys {sorted(unknown)}")
        try:
            partners = [Partner.model_validate(p) for p in data.get("partners", [])]
        except ValidationError as exc:
            raise ConfigError(f"partner file {path}: {exc}") from exc
        return cls(partners)

    def get(self, partner_id: str) -> Partner | None:
        return self._by_id.get(partner_id)

    def by_token(self, token: str) -> Partner | None:
        return self._by_token.get(hashlib.sha256(token.encode()).hexdigest())

    def by_certificate(self, fingerprint: str) -> Partner | None:
        return self._by_cert.get(fingerprint.lower())

    def all(self) -> list[Partner]:
        return list(self._by_id.values())


def require_service(partner: Partner, service: str) -> None:
    """Raise ``Forbidden`` unless ``partner`` is granted ``service``."""
    if not partner.may(service):
        raise Forbidden(f"partner {partner.id} is not granted {service}")
