"""The VNeID simulator over HTTP, as the demo drives it: discovery leads to the JWKS, tokens it
mints verify there, forgeries do not, and rotation keeps the retired key until it is dropped."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.clock import SystemClock
from gateway.errors import Unauthorized
from tests.support.vneid import CITIZEN, ISSUER, SimulatedProvider, simulated_provider, verifier_of


@pytest.fixture
def sim() -> Iterator[SimulatedProvider]:
    with simulated_provider(SystemClock()) as running:
        yield running


@pytest.fixture
def client(sim: SimulatedProvider) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.server.url, timeout=10) as http:
        yield http


def kids(client: httpx.Client) -> set[str]:
    return {key["kid"] for key in client.get("/jwks").json()["keys"]}


def test_discovery_names_the_issuer_and_a_jwks_that_verifies_its_tokens(
    client: httpx.Client,
) -> None:
    discovery = client.get("/.well-known/openid-configuration").json()
    assert discovery["issuer"] == ISSUER
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    verifier = verifier_of(discovery["jwks_uri"], SystemClock())
    for alg in ("RS256", "ES256"):
        minted = client.post("/_simulator/tokens", json={"SoDinhDanh": CITIZEN, "alg": alg})
        assert verifier.verify(minted.json()["id_token"]).citizen_id == CITIZEN


@pytest.mark.parametrize("forgery", ["alg-none", "hs256-public-key", "unknown-kid", "wrong-key"])
def test_forgeries_from_the_simulator_do_not_verify(
    client: httpx.Client, sim: SimulatedProvider, forgery: str
) -> None:
    minted = client.post("/_simulator/tokens", json={"SoDinhDanh": CITIZEN, "forgery": forgery})
    with pytest.raises(Unauthorized):
        verifier_of(sim.jwks_url, SystemClock()).verify(minted.json()["id_token"])


def test_rotation_keeps_the_retired_key_until_it_is_dropped(client: httpx.Client) -> None:
    before = kids(client)
    new = client.post("/_simulator/rotate", json={"alg": "RS256"}).json()["kid"]
    assert kids(client) == before | {new}
    assert client.post("/_simulator/keys/drop-retired").status_code == 204
    assert len(kids(client)) == 2 and new in kids(client)


def test_token_requests_are_bounded(client: httpx.Client) -> None:
    assert client.post("/_simulator/tokens", json={"SoDinhDanh": "12345"}).status_code == 422
    assert (
        client.post("/_simulator/tokens", json={"SoDinhDanh": CITIZEN, "level": 9}).status_code
        == 422
    )
