"""The citizen key (GATEWAY_PSEUDONYM_KEY): read from a file kept like the signing key, refused
when open to others, short or not hex; required in production once a partner reads citizens'
data by citizen; derived from the signing key, with a warning, elsewhere."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.identity.citizen_key import CitizenKey, write_key
from gateway.partners import Partner, PartnerKind, PartnerRegistry
from tests.conftest import Pki

CITIZEN = "001190012345"


def registry(kind: PartnerKind, *services: str) -> PartnerRegistry:
    partner = Partner(id="p", kind=kind, name="P", services=frozenset(services))
    return PartnerRegistry([partner])


def key_of(pki: Pki, partners: PartnerRegistry, **settings: object) -> CitizenKey:
    return CitizenKey.of_settings(Settings(**settings), identity=pki.gateway, partners=partners)


def test_a_key_file_names_citizens_the_same_way_every_time_it_is_read(tmp_path: Path) -> None:
    path = write_key(tmp_path / "pseudonym.key")
    first, again = CitizenKey.from_file(path), CitizenKey.from_file(path)
    other = CitizenKey.from_file(write_key(tmp_path / "other.key"))

    pseudonym = first.pseudonyms().of(CITIZEN)
    assert pseudonym == again.pseudonyms().of(CITIZEN)
    assert pseudonym.key != other.pseudonyms().of(CITIZEN).key
    assert (len(pseudonym.key), pseudonym.masked) == (64, "********2345")
    assert first.card_checks() not in (first.derived(b"x"), other.card_checks())


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        ("ab" * 32, 0o644, "open to other users"),
        ("ab" * 31, 0o600, "31 bytes, at least 32"),
        ("not hex digits at all", 0o600, "not a key of hex digits"),
    ],
)
def test_a_key_file_open_to_others_short_or_not_hex_stops_startup(
    tmp_path: Path, text: str, mode: int, message: str
) -> None:
    path = tmp_path / "pseudonym.key"
    path.write_text(text, encoding="ascii")
    path.chmod(mode)

    with pytest.raises(ConfigError, match=message):
        CitizenKey.from_file(path)


@pytest.mark.parametrize(
    "partners", [registry("vneid", "si_records.lookup"), registry("hospital", "cards.check")]
)
def test_production_requires_the_key_once_a_partner_reads_citizens_data(
    pki: Pki, partners: PartnerRegistry
) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_PSEUDONYM_KEY is required in production: p "):
        key_of(pki, partners, environment="production")


@pytest.mark.parametrize("environment", ["production", "development"])
def test_unset_elsewhere_it_is_derived_from_the_signing_key_with_a_warning(
    pki: Pki, environment: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Development with a VNeID partner; production with a hospital that checks no card.
    partners = registry("vneid") if environment == "development" else registry("hospital")
    with caplog.at_level(logging.WARNING):
        derived = key_of(pki, partners, environment=environment)

    assert derived == key_of(pki, partners, environment=environment)
    assert "a new signing key loses every citizen's access history" in caplog.text
