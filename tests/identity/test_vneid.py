"""VNeID ID tokens: what is accepted, every refusal of SPEC section 2 and issue 10, key rotation
picked up without a restart (a JWKS file rewritten, the simulator's URL rotating)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from adapters.vneid.simulator import Forgery, IdentityProvider
from gateway.config import Settings
from gateway.errors import ConfigError, Forbidden, Unauthorized
from gateway.identity import jwks_http, vneid
from gateway.partners import Partner, PartnerRegistry
from tests.support.portal_dossiers import MovableClock
from tests.support.vneid import (
    CITIZEN,
    CLIENT_ID,
    LEEWAY,
    NOBODY,
    T0,
    provider,
    verifier_of,
    write_jwks,
)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


@pytest.fixture
def idp(clock: MovableClock) -> IdentityProvider:
    return provider(clock)


@pytest.fixture
def jwks_file(idp: IdentityProvider, tmp_path: Path) -> Path:
    return write_jwks(idp, tmp_path / "jwks.json")


@pytest.fixture
def verifier(jwks_file: Path, clock: MovableClock) -> vneid.CitizenVerifier:
    return verifier_of(str(jwks_file), clock)


def refused(verifier: vneid.CitizenVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(token)
    return caught.value.detail


# --- accepted -----------------------------------------------------------------------------------


def test_rs256_token_names_its_citizen_level_id_and_expiry(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier
) -> None:
    token = idp.mint(CITIZEN, jti="token-1")
    assert verifier.verify(token) == vneid.CitizenAssertion(
        citizen_id=CITIZEN, level=2, token_id="token-1", expires_at=T0 + timedelta(minutes=10)
    )


def test_es256_token_is_accepted(idp: IdentityProvider, verifier: vneid.CitizenVerifier) -> None:
    assert verifier.verify(idp.mint(CITIZEN, alg="ES256")).citizen_id == CITIZEN


def test_so_dinh_danh_names_the_citizen_before_sub(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier
) -> None:
    token = idp.mint(CITIZEN, sub="079088001234")
    assert verifier.verify(token).citizen_id == CITIZEN


def test_sub_names_the_citizen_without_so_dinh_danh(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier
) -> None:
    token = idp.mint(CITIZEN, id_claim="sub")
    assert "SoDinhDanh" not in idp.claims(CITIZEN, id_claim="sub")
    assert verifier.verify(token).citizen_id == CITIZEN


def test_acr_gives_the_level_without_loas(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier
) -> None:
    token = idp.mint(CITIZEN, level=3, level_claim="acr")
    assert verifier.verify(token).level == 3


def test_loas_is_read_before_acr(idp: IdentityProvider, verifier: vneid.CitizenVerifier) -> None:
    with pytest.raises(Forbidden):
        verifier.verify(idp.mint(CITIZEN, loAs="LoA1", acr="LoA2"))


@pytest.mark.parametrize(
    ("value", "level"),
    [("LoA2", 2), ("loa3", 3), ("2", 2), (2, 2), (["LoA1", "LoA2"], 2)],
)
def test_level_spellings(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, value: object, level: int
) -> None:
    assert verifier.verify(idp.mint(CITIZEN, loAs=value)).level == level


def test_token_without_jti_is_named_by_its_digest(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier
) -> None:
    token = idp.mint(CITIZEN, jti=None)
    assert verifier.verify(token).token_id == "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def test_several_audiences_need_azp_naming_the_gateway(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier
) -> None:
    audiences = [CLIENT_ID, "another-client"]
    assert verifier.verify(idp.mint(CITIZEN, aud=audiences, azp=CLIENT_ID)).citizen_id == CITIZEN
    assert "(azp)" in refused(verifier, idp.mint(CITIZEN, aud=audiences))
    assert "(azp)" in refused(verifier, idp.mint(CITIZEN, aud=audiences, azp="another-client"))


def test_expiry_within_the_leeway_is_accepted(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, clock: MovableClock
) -> None:
    token = idp.mint(CITIZEN, lifetime=timedelta(minutes=10))
    clock.advance(600 + LEEWAY - 1)
    assert verifier.verify(token).citizen_id == CITIZEN
    clock.advance(1)
    assert refused(verifier, token) == "the citizen assertion has expired"


# --- refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forgery", "detail"),
    [
        ("alg-none", "the citizen assertion's algorithm is not accepted: RS256 or ES256"),
        # HS256 keyed with the public key
        ("hs256-public-key", "the citizen assertion's algorithm is not accepted: RS256 or ES256"),
        ("unknown-kid", "the citizen assertion's key (kid) is not one of VNeID's"),
        ("wrong-key", "the citizen assertion's signature does not verify"),  # another key
    ],
    ids=["alg-none", "hs256-public-key", "unknown-kid", "wrong-key"],
)
def test_forged_token_is_refused(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, forgery: Forgery, detail: str
) -> None:
    assert refused(verifier, idp.forge(forgery, CITIZEN)) == detail


def test_es256_token_naming_an_rsa_key_is_refused(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier
) -> None:
    claims = idp.claims(CITIZEN)
    es256 = idp.current("ES256")
    token = jwt.encode(claims, es256.private, algorithm="ES256", headers={"kid": idp.current().kid})
    assert refused(verifier, token) == "the citizen assertion's algorithm is not its key's"


def test_token_replayed_after_its_exp_is_refused(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, clock: MovableClock
) -> None:
    token = idp.mint(CITIZEN)
    assert verifier.verify(token).citizen_id == CITIZEN
    clock.advance(10 * 60 + LEEWAY)
    assert refused(verifier, token) == "the citizen assertion has expired"


@pytest.mark.parametrize(
    ("options", "detail"),
    [
        (
            {"issued_at": T0 - timedelta(minutes=20), "lifetime": timedelta(minutes=10)},
            "the citizen assertion has expired",
        ),
        ({"not_before": T0 + timedelta(minutes=5)}, "the citizen assertion is not valid yet (nbf)"),
        (
            {"issued_at": T0 + timedelta(minutes=5)},
            "the citizen assertion is issued in the future (iat)",
        ),
        ({"iss": "https://sso.elsewhere.test"}, "the citizen assertion was not issued by VNeID"),
        ({"aud": "another-client"}, "the citizen assertion was not issued for this gateway"),
        ({"nbf": True}, "the citizen assertion's nbf is not a number of seconds"),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "issued-in-the-future",
        "issuer",
        "audience",
        "nbf-not-a-number",
    ],
)
def test_token_with_a_wrong_claim_is_refused(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, options: dict[str, Any], detail: str
) -> None:
    assert refused(verifier, idp.mint(CITIZEN, **options)) == detail


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud"])
def test_token_without_a_required_claim_is_refused(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, claim: str
) -> None:
    token = idp.mint(CITIZEN, **{claim: None})
    assert refused(verifier, token) == f"the citizen assertion has no {claim} claim"


def test_level_1_is_forbidden(idp: IdentityProvider, verifier: vneid.CitizenVerifier) -> None:
    with pytest.raises(Forbidden) as caught:
        verifier.verify(idp.mint(CITIZEN, level=1))
    assert caught.value.detail == "a level-2 VNeID account is required"


@pytest.mark.parametrize("value", [None, "high", True, "LoA 2", ["high"]])
def test_token_without_a_readable_level_is_forbidden(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, value: object
) -> None:
    with pytest.raises(Forbidden, match="no level of assurance"):
        verifier.verify(idp.mint(CITIZEN, loAs=value))


@pytest.mark.parametrize(
    "value", ["12345", "0010990123456", "00109901234\n", "００１０９９０１２３４５", 1099012345]
)
def test_so_dinh_danh_must_be_12_digits(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, value: object
) -> None:
    token = idp.mint(CITIZEN, SoDinhDanh=value)
    assert "SoDinhDanh is not a 12-digit citizen ID" in refused(verifier, token)


def test_sub_that_is_no_citizen_id_is_refused(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier
) -> None:
    # Without SoDinhDanh, the opaque sub of VNeID's account is not a citizen ID.
    token = idp.mint(CITIZEN, SoDinhDanh=None)
    assert refused(verifier, token) == (
        "the citizen assertion names no 12-digit citizen ID (SoDinhDanh, sub)"
    )


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "e30.e30.", "x" * 9000])
def test_malformed_tokens_are_refused(verifier: vneid.CitizenVerifier, token: str) -> None:
    refused(verifier, token)


def test_refusals_never_quote_the_token(
    idp: IdentityProvider, verifier: vneid.CitizenVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = [
        idp.forge("alg-none", CITIZEN),
        idp.mint(CITIZEN, aud="another-client"),
        idp.mint(CITIZEN, level=1),
    ]
    for token in tokens:
        with pytest.raises((Unauthorized, Forbidden)) as caught:
            verifier.verify(token)
        assert CITIZEN not in caught.value.detail
        for part in token.split("."):
            assert not part or part not in caught.value.detail
            assert not part or part not in caplog.text


# --- configuration ------------------------------------------------------------------------------


def test_no_vneid_configured_refuses_every_token(
    idp: IdentityProvider, clock: MovableClock
) -> None:
    fetch = jwks_http.fetcher(timeout=5)
    unset = vneid.from_settings(Settings(), partners=NOBODY, clock=clock, fetch=fetch)
    with pytest.raises(Unauthorized, match="accepts no VNeID citizen assertion"):
        unset.verify(idp.mint(CITIZEN))


def test_a_partner_granted_lookups_needs_vneid_configured(clock: MovableClock) -> None:
    partner = Partner(id="vneid", kind="vneid", name="VNeID", services=frozenset({vneid.SERVICE}))
    fetch = jwks_http.fetcher(timeout=5)
    with pytest.raises(ConfigError, match=r"partner vneid is granted si_records\.lookup"):
        vneid.from_settings(
            Settings(), partners=PartnerRegistry([partner]), clock=clock, fetch=fetch
        )


def test_half_a_vneid_configuration_stops_startup(clock: MovableClock, jwks_file: Path) -> None:
    fetch = jwks_http.fetcher(timeout=5)
    with pytest.raises(ConfigError, match="are all required"):
        vneid.from_settings(
            Settings(vneid_jwks=str(jwks_file)), partners=NOBODY, clock=clock, fetch=fetch
        )


@pytest.mark.parametrize(
    "content",
    ["", "{", '{"keys": {}}', "[]", '{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}'],
)
def test_a_jwks_file_without_usable_keys_stops_startup(
    clock: MovableClock, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read the keys"):
        verifier_of(str(path), clock)


def test_a_missing_jwks_file_stops_startup(clock: MovableClock, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the keys"):
        verifier_of(str(tmp_path / "absent.json"), clock)


@pytest.mark.parametrize(
    "url", ["http://idp.example/jwks", "ftp://127.0.0.1/jwks", "https:///jwks"]
)
def test_jwks_url_must_be_https_or_loopback(clock: MovableClock, url: str) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_VNEID_JWKS"):
        verifier_of(url, clock)
