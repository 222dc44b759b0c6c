"""The provider's keys: a rotation picked up without a restart (a JWKS file rewritten, the
simulator's JWKS URL rotating), unknown kids fetching at most once per interval, the keys held
when the provider is down, and the keys a JWKS may hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from adapters.vneid.simulator import SigningKey
from gateway.errors import Unauthorized, Unavailable
from gateway.identity import jwks_http
from gateway.identity.jwks import FetchNeeded, JwksCache, JwksUrl, parse
from gateway.identity.vneid import CitizenVerifier, VneidPolicy, VneidVerifier
from tests.support.portal_dossiers import MovableClock
from tests.support.vneid import (
    CITIZEN,
    CLIENT_ID,
    ISSUER,
    T0,
    SimulatedProvider,
    provider,
    simulated_provider,
    verifier_of,
    write_jwks,
)

TTL, INTERVAL = 300, 30
UNKNOWN_KID = "the citizen assertion's key (kid) is not one of VNeID's"


class CountingFetch:
    """The gateway's fetch over httpx, counting the JWKS documents asked for."""

    def __init__(self) -> None:
        self.calls = 0
        self._fetch = jwks_http.fetcher(timeout=5)

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        return self._fetch(url)


def url_verifier(
    sim: SimulatedProvider, clock: MovableClock, fetch: CountingFetch
) -> VneidVerifier:
    cache = JwksCache(
        JwksUrl(sim.jwks_url, fetch),
        clock=clock,
        ttl=timedelta(seconds=TTL),
        refresh_interval=timedelta(seconds=INTERVAL),
    )
    return VneidVerifier(VneidPolicy(ISSUER, CLIENT_ID), cache, clock)


def refused(verifier: CitizenVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(token)
    return caught.value.detail


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


@pytest.fixture
def sim(clock: MovableClock) -> Iterator[SimulatedProvider]:
    with simulated_provider(clock) as running:
        yield running


def test_jwks_file_rewritten_is_picked_up_without_restart(
    clock: MovableClock, tmp_path: Path
) -> None:
    idp = provider(clock)
    jwks_file = write_jwks(idp, tmp_path / "jwks.json")
    verifier = verifier_of(str(jwks_file), clock)
    old_token = idp.mint(CITIZEN)
    assert verifier.verify(old_token).citizen_id == CITIZEN

    idp.rotate()
    new_token = idp.mint(CITIZEN)
    write_jwks(idp, jwks_file)
    # Both verify: the new key is read from the rewritten file, the old one is still published.
    assert verifier.verify(new_token).citizen_id == CITIZEN
    assert verifier.verify(old_token).citizen_id == CITIZEN

    idp.drop_retired()
    write_jwks(idp, jwks_file)
    # No unknown-kid reload is due (one happened just now): the file's change alone drops it.
    assert refused(verifier, old_token) == UNKNOWN_KID
    assert verifier.verify(new_token).citizen_id == CITIZEN


def test_jwks_file_rewritten_in_place_is_picked_up(clock: MovableClock, tmp_path: Path) -> None:
    idp = provider(clock)
    jwks_file = write_jwks(idp, tmp_path / "jwks.json")
    verifier = verifier_of(str(jwks_file), clock)
    old_token = idp.mint(CITIZEN)
    idp.rotate()
    idp.drop_retired()
    jwks_file.write_text(json.dumps(idp.jwks()), encoding="utf-8")
    assert refused(verifier, old_token) == UNKNOWN_KID


def test_jwks_file_half_written_keeps_the_keys_held(clock: MovableClock, tmp_path: Path) -> None:
    idp = provider(clock)
    jwks_file = write_jwks(idp, tmp_path / "jwks.json")
    verifier = verifier_of(str(jwks_file), clock)
    jwks_file.write_text('{"keys": [', encoding="utf-8")
    assert verifier.verify(idp.mint(CITIZEN)).citizen_id == CITIZEN


def test_simulator_rotation_is_picked_up_without_restart(
    sim: SimulatedProvider, clock: MovableClock
) -> None:
    fetch = CountingFetch()
    verifier = url_verifier(sim, clock, fetch)
    day = timedelta(days=1)
    old_kid, old_token = sim.idp.current().kid, sim.idp.mint(CITIZEN, lifetime=day)
    assert verifier.verify(old_token).citizen_id == CITIZEN

    sim.idp.rotate()
    new_token = sim.idp.mint(CITIZEN, lifetime=day)
    # A kid not held: the JWKS is fetched again at once, within the TTL.
    assert verifier.verify(new_token).citizen_id == CITIZEN
    assert verifier.verify(old_token).citizen_id == CITIZEN  # retired, still published
    assert fetch.calls == 2

    clock.advance(timedelta(hours=1).total_seconds())  # the simulator stops publishing it
    assert old_kid not in {key["kid"] for key in sim.idp.jwks()["keys"]}
    assert refused(verifier, old_token) == UNKNOWN_KID  # the TTL ran out: fetched again
    assert verifier.verify(new_token).citizen_id == CITIZEN


def test_unknown_kids_fetch_the_jwks_at_most_once_per_interval(
    sim: SimulatedProvider, clock: MovableClock
) -> None:
    fetch = CountingFetch()
    verifier = url_verifier(sim, clock, fetch)
    for _ in range(5):
        assert refused(verifier, sim.idp.forge("unknown-kid", CITIZEN)) == UNKNOWN_KID
    assert fetch.calls == 2  # the first keys, then one reload for an unknown kid
    clock.advance(INTERVAL)
    refused(verifier, sim.idp.forge("unknown-kid", CITIZEN))
    assert fetch.calls == 3


def test_keys_to_fetch_are_left_to_a_thread(sim: SimulatedProvider, clock: MovableClock) -> None:
    fetch = CountingFetch()
    verifier = url_verifier(sim, clock, fetch)
    token = sim.idp.mint(CITIZEN)
    with pytest.raises(FetchNeeded):
        verifier.verify(token, fetch=False)
    assert fetch.calls == 0
    verifier.verify(token)
    assert verifier.verify(token, fetch=False).citizen_id == CITIZEN  # held: no I/O
    sim.idp.rotate()
    with pytest.raises(FetchNeeded):  # a kid not held: only a fetch can tell
        verifier.verify(sim.idp.mint(CITIZEN), fetch=False)
    clock.advance(TTL)
    with pytest.raises(FetchNeeded):  # the TTL ran out
        verifier.verify(token, fetch=False)


def test_provider_down_before_any_key_is_unavailable(clock: MovableClock) -> None:
    idp = provider(clock)
    with simulated_provider(clock) as sim:
        url = sim.jwks_url
    cache = JwksCache(JwksUrl(url, jwks_http.fetcher(timeout=2)), clock=clock)
    verifier = VneidVerifier(VneidPolicy(ISSUER, CLIENT_ID), cache, clock)
    with pytest.raises(Unavailable, match="keys cannot be read"):
        verifier.verify(idp.mint(CITIZEN))


def test_provider_down_after_the_ttl_keeps_the_keys_held(clock: MovableClock) -> None:
    fetch = CountingFetch()
    with simulated_provider(clock) as sim:
        verifier = url_verifier(sim, clock, fetch)
        token = sim.idp.mint(CITIZEN, lifetime=timedelta(hours=1))
        verifier.verify(token)
    clock.advance(TTL)
    assert verifier.verify(token).citizen_id == CITIZEN
    assert fetch.calls == 2
    verifier.verify(token)
    assert fetch.calls == 2  # not asked again before the refresh interval


def test_jwks_holds_only_rs256_and_es256_signing_keys_with_a_kid() -> None:
    rsa_key, ec_key = SigningKey.new("RS256"), SigningKey.new("ES256")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak = RSAAlgorithm.to_jwk(small.public_key(), as_dict=True) | {"kid": "weak"}
    document = {
        "keys": [
            rsa_key.public_jwk(),
            ec_key.public_jwk(),
            rsa_key.public_jwk() | {"kid": "for-encryption", "use": "enc"},
            rsa_key.public_jwk() | {"kid": "rs384", "alg": "RS384"},
            ec_key.public_jwk() | {"kid": "ps256-on-ec", "alg": "PS256"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {k: v for k, v in rsa_key.public_jwk().items() if k != "kid"},
            weak,
            "not a key",
        ]
    }
    keys = parse(json.dumps(document).encode())
    assert {kid: key.algorithm_name for kid, key in keys.items()} == {
        rsa_key.kid: "RS256",
        ec_key.kid: "ES256",
    }
