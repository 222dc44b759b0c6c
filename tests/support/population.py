"""The population-database simulator on a loopback port, and clients of the gateway for it."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from adapters.population.citizens import SAMPLE, Citizen
from adapters.population.client import PopulationAccount, PopulationClient
from adapters.population.simulator import Population, create_app
from gateway.config import Settings
from gateway.resilience import Guard, GuardPolicy
from gateway.server import ServerThread
from gateway.xml.contracts import default_folder

USERNAME, CLIENT, OFFICER = "vss-gateway", "VN/GOV/000.00.12.G24/vss-gateway", "vss-gateway"
PATH = "/population"


@dataclass
class SimulatedPopulation:
    population: Population
    server: ServerThread
    secret: str  # made for this test run
    api_key: str

    @property
    def url(self) -> str:
        return f"{self.server.url}{PATH}"

    def account(self, *, timeout: float = 5.0, secret: str | None = None) -> PopulationAccount:
        return PopulationAccount(
            url=self.url,
            username=USERNAME,
            secret=SecretStr(secret or self.secret),
            api_key=SecretStr(self.api_key),
            client=CLIENT,
            officer=OFFICER,
            timeout=timeout,
        )

    def client(
        self, policy: GuardPolicy | None = None, *, timeout: float = 5.0, guard: Guard | None = None
    ) -> PopulationClient:
        """A client of the simulator; no pause between retries unless the guard says so."""
        guard = guard or Guard(policy or GuardPolicy(backoff=0))
        wsdl = default_folder() / "wsdl" / "population.wsdl"
        return PopulationClient(self.account(timeout=timeout), guard, wsdl=wsdl)

    def configured(self, settings: Settings, **update: object) -> Settings:
        """``settings`` with the GATEWAY_POPULATION_* of a gateway using the simulator."""
        return settings.model_copy(
            update={
                "population_url": self.url,
                "population_username": USERNAME,
                "population_secret": SecretStr(self.secret),
                "population_api_key": SecretStr(self.api_key),
                "population_client": CLIENT,
                "population_officer": OFFICER,
                **update,
            }
        )


@contextmanager
def simulated_population(
    citizens: Iterable[Citizen] = SAMPLE, *, started: bool = True, port: int = 0
) -> Iterator[SimulatedPopulation]:
    """The simulator (started, or ready to ``server.start()`` on ``port``), stopped after."""
    secret, api_key = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    population = Population(citizens, username=USERNAME, secret=secret, api_key=api_key)
    server = ServerThread(create_app(population, path=PATH), name="C06 simulator", port=port)
    if started:
        server.start()
    try:
        yield SimulatedPopulation(population, server, secret, api_key)
    finally:
        server.stop()
