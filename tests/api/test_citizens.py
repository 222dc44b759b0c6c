"""The VNeID caller over HTTP: the gateway's app with a probe route that takes ``citizen_caller``
and ``require_citizen`` as the lookup routes do, against the simulator's JWKS URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends

from gateway.api.citizens import ASSERTION_HEADER, CitizenCaller, citizen_caller, require_citizen
from gateway.bootstrap import build
from gateway.config import Settings
from tests.conftest import HOSPITAL, TOKENS, Served
from tests.support.vneid import (
    CITIZEN,
    OTHER_CITIZEN,
    VNEID,
    VNEID_TOKEN,
    SimulatedProvider,
    with_vneid,
)


@pytest.fixture
def served(settings: Settings, vneid_sim: SimulatedProvider) -> Iterator[Served]:
    gateway = build(with_vneid(settings, vneid_sim.jwks_url))
    server = Served(gateway)

    @server.app.get("/probe/{citizen_id}")
    async def probe(
        citizen_id: str, caller: Annotated[CitizenCaller, Depends(citizen_caller)]
    ) -> dict[str, Any]:
        require_citizen(caller, citizen_id)
        return {"partner": caller.partner.id, "level": caller.assertion.level}

    try:
        with server:
            yield server
    finally:
        gateway.close()


def probe(
    served: Served, token: str | None, *, citizen: str = CITIZEN, partner: str = VNEID
) -> httpx.Response:
    bearer = VNEID_TOKEN if partner == VNEID else TOKENS[partner]
    headers = {"Authorization": f"Bearer {bearer}"}
    if token is not None:
        headers[ASSERTION_HEADER] = token
    with httpx.Client(base_url=served.url, timeout=10) as client:
        return client.get(f"/probe/{citizen}", headers=headers)


def test_the_citizen_of_the_token_is_let_through(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    answer = probe(served, vneid_sim.idp.mint(CITIZEN))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"partner": VNEID, "level": 2}


def test_es256_token_after_a_rotation_is_let_through(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    assert probe(served, vneid_sim.idp.mint(CITIZEN)).status_code == 200  # keys held
    vneid_sim.idp.rotate("ES256")
    answer = probe(served, vneid_sim.idp.mint(CITIZEN, alg="ES256"))  # fetched again, off the loop
    assert answer.status_code == 200, answer.text


def test_another_citizen_is_forbidden(served: Served, vneid_sim: SimulatedProvider) -> None:
    answer = probe(served, vneid_sim.idp.mint(CITIZEN), citizen=OTHER_CITIZEN)
    assert answer.status_code == 403
    assert answer.json()["code"] == "FORBIDDEN"
    assert answer.json()["detail"] == "a citizen may read only their own record"


def test_level_1_is_forbidden(served: Served, vneid_sim: SimulatedProvider) -> None:
    answer = probe(served, vneid_sim.idp.mint(CITIZEN, level=1))
    assert (answer.status_code, answer.json()["code"]) == (403, "FORBIDDEN")


@pytest.mark.parametrize("forgery", ["alg-none", "hs256-public-key", "unknown-kid", "wrong-key"])
def test_forged_tokens_are_unauthorized_and_never_logged(
    served: Served,
    vneid_sim: SimulatedProvider,
    caplog: pytest.LogCaptureFixture,
    forgery: Any,
) -> None:
    token = vneid_sim.idp.forge(forgery, CITIZEN)
    answer = probe(served, token)
    served.wait_idle()
    assert (answer.status_code, answer.json()["code"]) == (401, "UNAUTHORIZED")
    for part in filter(None, token.split(".")):
        assert part not in answer.text
        assert part not in caplog.text


def test_no_assertion_is_unauthorized(served: Served) -> None:
    answer = probe(served, None)
    assert (answer.status_code, answer.json()["code"]) == (401, "UNAUTHORIZED")
    assert ASSERTION_HEADER in answer.json()["detail"]


def test_two_assertions_are_unauthorized(served: Served, vneid_sim: SimulatedProvider) -> None:
    token = vneid_sim.idp.mint(CITIZEN)
    headers = [
        ("Authorization", f"Bearer {VNEID_TOKEN}"),
        (ASSERTION_HEADER, token),
        (ASSERTION_HEADER, token),
    ]
    with httpx.Client(base_url=served.url, timeout=10) as client:
        answer = client.get(f"/probe/{CITIZEN}", headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "UNAUTHORIZED")


def test_a_partner_that_is_not_vneid_is_forbidden(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    answer = probe(served, vneid_sim.idp.mint(CITIZEN), partner=HOSPITAL)
    assert (answer.status_code, answer.json()["code"]) == (403, "FORBIDDEN")


def test_no_partner_credential_is_unauthorized(
    served: Served, vneid_sim: SimulatedProvider
) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        answer = client.get(
            f"/probe/{CITIZEN}", headers={ASSERTION_HEADER: vneid_sim.idp.mint(CITIZEN)}
        )
    assert (answer.status_code, answer.json()["code"]) == (401, "UNAUTHORIZED")


def test_the_openapi_description_names_the_assertion(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["citizenAssertion"] == {
        "type": "apiKey",
        "in": "header",
        "name": ASSERTION_HEADER,
        "description": "the citizen's OpenID Connect ID token from VNeID (RS256 or ES256, level 2)",
    }
