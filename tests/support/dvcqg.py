"""The DVCQG simulator on a loopback port, and sinks of the gateway pointed at it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from adapters.portal.dvcqg import DvcqgAccount, DvcqgSink
from adapters.portal.dvcqg_fields import Wording
from adapters.portal.simulator import Portal, create_app
from adapters.portal.statuses import load_statuses
from gateway.server import ServerThread

USERNAME = "vss-gateway"
AGENCY = "000.00.12.G24"
AUTH, INTEGRATION = "/api/session", "/api/sync"


@dataclass
class SimulatedPortal:
    portal: Portal
    server: ServerThread
    password: str  # made for this test run

    def account(self, *, password: str | None = None, timeout: float = 5.0) -> DvcqgAccount:
        return DvcqgAccount(
            url=self.server.url,
            auth_endpoint=AUTH,
            integration_endpoint=INTEGRATION,
            username=USERNAME,
            password=SecretStr(password or self.password),
            agency=AGENCY,
            timeout=timeout,
        )

    def sink(self, *, password: str | None = None, timeout: float = 5.0) -> DvcqgSink:
        wording = Wording(load_statuses(), contact_phone="19009068")
        return DvcqgSink(self.account(password=password, timeout=timeout), wording)


@contextmanager
def simulated_portal(*, started: bool = True, port: int = 0) -> Iterator[SimulatedPortal]:
    """The simulator (started, or ready to ``server.start()`` on ``port``), stopped after."""
    password = secrets.token_urlsafe(16)
    portal = Portal(username=USERNAME, password=password, agency=AGENCY)
    app = create_app(portal, auth_endpoint=AUTH, integration_endpoint=INTEGRATION)
    server = ServerThread(app, name="DVCQG simulator", port=port)
    if started:
        server.start()
    try:
        yield SimulatedPortal(portal, server, password)
    finally:
        server.stop()
