"""The VNeID identity provider for tests: the simulator on a loopback port or as a JWKS file, a
VNeID partner, and settings of a gateway that accepts the provider's tokens."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.vneid.simulator import IdentityProvider, create_app
from gateway.clock import Clock
from gateway.config import Settings
from gateway.identity import jwks_http, vneid
from gateway.identity.vneid import CitizenVerifier
from gateway.partners import PartnerRegistry, token_hash
from gateway.server import ServerThread

ISSUER = "https://sso.vneid.test"
CLIENT_ID = "vss-gateway"
CITIZEN = "001099012345"
OTHER_CITIZEN = "079088001234"
VNEID = "vneid"
VNEID_TOKEN = "tok-vneid-" + "v" * 20
T0 = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
LEEWAY = 30
NOBODY = PartnerRegistry([])


def provider(clock: Clock) -> IdentityProvider:
    return IdentityProvider(issuer=ISSUER, client_id=CLIENT_ID, clock=clock)


def verifier_of(
    jwks: str, clock: Clock, *, partners: PartnerRegistry = NOBODY, **more: Any
) -> CitizenVerifier:
    """The verifier a gateway builds for these GATEWAY_VNEID_* settings."""
    settings = Settings(
        vneid_jwks=jwks, vneid_issuer=ISSUER, vneid_client_id=CLIENT_ID, vneid_leeway=LEEWAY, **more
    )
    fetch = jwks_http.fetcher(timeout=5)
    return vneid.from_settings(settings, partners=partners, clock=clock, fetch=fetch)


def write_jwks(idp: IdentityProvider, path: Path) -> Path:
    """The provider's JWKS written as an operator would: a new file moved over the old one."""
    written = path.with_suffix(".tmp")
    written.write_text(json.dumps(idp.jwks()), encoding="utf-8")
    os.replace(written, path)
    return path


@dataclass
class SimulatedProvider:
    idp: IdentityProvider
    server: ServerThread

    @property
    def jwks_url(self) -> str:
        return f"{self.server.url}/jwks"


@contextmanager
def simulated_provider(clock: Clock) -> Iterator[SimulatedProvider]:
    """The simulator served on a free loopback port until the block ends."""
    idp = provider(clock)
    with ServerThread(create_app(idp), name="VNeID simulator") as server:
        yield SimulatedProvider(idp, server)


def with_vneid(settings: Settings, jwks: str, **more: object) -> Settings:
    """``settings`` whose partner file also holds the VNeID partner (granted the lookups) and
    whose GATEWAY_VNEID_* accept the provider's tokens."""
    partners = settings.partners.with_name("partners-vneid.toml")
    partners.write_text(
        settings.partners.read_text(encoding="utf-8")
        + f"""
[[partners]]
id = "{VNEID}"
kind = "vneid"
name = "VNeID backend"
services = ["si_records.lookup"]
tokens = ["{token_hash(VNEID_TOKEN)}"]
""",
        encoding="utf-8",
    )
    update = {
        "partners": partners,
        "vneid_jwks": jwks,
        "vneid_issuer": ISSUER,
        "vneid_client_id": CLIENT_ID,
        **more,
    }
    return settings.model_copy(update=update)
