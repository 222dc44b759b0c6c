"""The partner registry (SPEC section 2): a strict partner file and source-network checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError, Forbidden
from gateway.partners import Partner, PartnerRegistry, require_service, token_hash

FP_A = "a" * 64
FP_B = "b" * 64
TOKEN_A = token_hash("token-a-" + "x" * 24)
TOKEN_B = token_hash("token-b-" + "y" * 24)


def _partner(
    partner_id: str = "hospital-01929",
    *,
    certificates: str = f'["{FP_A}"]',
    tokens: str = f'["{TOKEN_A}"]',
    extra: str = "",
) -> str:
    return f"""
[[partners]]
id = "{partner_id}"
kind = "hospital"
name = "Test General Hospital"
services = ["claims.submit", "claims.read"]
facility_codes = ["01929"]
certificates = {certificates}
tokens = {tokens}
{extra}
"""


def _load(tmp_path: Path, text: str) -> PartnerRegistry:
    path = tmp_path / "partners.toml"
    path.write_text(text, encoding="utf-8")
    return PartnerRegistry.from_file(path)


def test_valid_partner_file_indexes_partners_by_token_and_certificate(tmp_path: Path) -> None:
    colon_fp = ":".join(FP_B[i : i + 2] for i in range(0, 64, 2)).upper()
    registry = _load(
        tmp_path,
        _partner()
        + _partner("hospital-79001", certificates=f'["{colon_fp}"]', tokens=f'["{TOKEN_B}"]'),
    )
    assert [p.id for p in registry.all()] == ["hospital-01929", "hospital-79001"]
    first = registry.get("hospital-01929")
    assert first is not None
    assert first.facility_codes == frozenset({"01929"})
    assert registry.by_token("token-a-" + "x" * 24) is first
    assert registry.by_token("token-c-unknown") is None
    assert registry.by_certificate(FP_A.upper()) is first
    second = registry.by_certificate(FP_B)  # registered with colons, in upper case
    assert second is not None and second.id == "hospital-79001"
    assert registry.by_certificate("c" * 64) is None
    assert registry.get("nobody") is None


def test_unknown_top_level_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown keys"):
        _load(tmp_path, "version = 2\n" + _partner())


def test_unknown_partner_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="servces"):
        _load(tmp_path, _partner(extra='servces = ["claims.submit"]'))


def test_raw_token_instead_of_its_hash_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="never tokens"):
        _load(tmp_path, _partner(tokens='["tok-hospital-01929-aaaaaaaaaaaaaaaaaaaa"]'))


def test_token_hash_in_upper_case_hex_is_accepted(tmp_path: Path) -> None:
    upper = "sha256:" + TOKEN_A.removeprefix("sha256:").upper()
    registry = _load(tmp_path, _partner(tokens=f'["{upper}"]'))
    partner = registry.by_token("token-a-" + "x" * 24)
    assert partner is not None and partner.id == "hospital-01929"


@pytest.mark.parametrize(
    "token",
    ["sha256:" + "a" * 63, "sha256:" + "g" * 64, "sha1:" + "a" * 64, "a" * 64],
    ids=["short", "not-hex", "wrong-algorithm", "no-prefix"],
)
def test_malformed_token_hash_is_a_config_error(tmp_path: Path, token: str) -> None:
    with pytest.raises(ConfigError, match="tokens"):
        _load(tmp_path, _partner(tokens=f'["{token}"]'))


@pytest.mark.parametrize(
    "fp", ["a" * 63, "a" * 65, "z" * 64, ""], ids=["short", "long", "not-hex", "empty"]
)
def test_bad_certificate_fingerprint_is_a_config_error(tmp_path: Path, fp: str) -> None:
    with pytest.raises(ConfigError, match="SHA-256 fingerprints"):
        _load(tmp_path, _partner(certificates=f'["{fp}"]'))


def test_duplicate_partner_id_is_a_config_error(tmp_path: Path) -> None:
    text = _partner() + _partner(certificates=f'["{FP_B}"]', tokens=f'["{TOKEN_B}"]')
    with pytest.raises(ConfigError, match="configured twice"):
        _load(tmp_path, text)


def test_token_hash_registered_to_two_partners_is_a_config_error(tmp_path: Path) -> None:
    text = _partner() + _partner("hospital-79001", certificates=f'["{FP_B}"]')
    with pytest.raises(ConfigError, match="token is registered to both"):
        _load(tmp_path, text)


def test_certificate_registered_to_two_partners_is_a_config_error(tmp_path: Path) -> None:
    text = _partner() + _partner("hospital-79001", tokens=f'["{TOKEN_B}"]')
    with pytest.raises(ConfigError, match="certificate is registered to both"):
        _load(tmp_path, text)


@pytest.mark.parametrize(
    "extra",
    ['kind = "bank"', 'source_networks = ["not-a-network"]'],
    ids=["unknown-kind", "bad-network"],
)
def test_invalid_partner_value_is_a_config_error(tmp_path: Path, extra: str) -> None:
    text = _partner(extra=extra).replace('kind = "hospital"\n', "")
    with pytest.raises(ConfigError):
        _load(tmp_path, text)


def test_unreadable_partner_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        PartnerRegistry.from_file(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="cannot read"):
        _load(tmp_path, "[[partners]\nid = ")


def _networked(*networks: str) -> Partner:
    return Partner.model_validate(
        {
            "id": "elsewhere",
            "kind": "hospital",
            "name": "Hospital behind a registered network",
            "services": ["claims.submit"],
            "source_networks": list(networks),
        }
    )


def test_partner_without_source_networks_is_allowed_from_any_address() -> None:
    partner = _networked()
    assert partner.allows_address("198.51.100.7") is True
    assert partner.allows_address("2001:db8::1") is True
    assert partner.allows_address(None) is True


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("203.0.113.1", True),
        ("203.0.113.255", True),
        ("203.0.114.1", False),
        ("127.0.0.1", False),
        ("2001:db8::1", False),
        ("::ffff:203.0.113.7", True),  # an IPv4 client on a dual-stack socket
        ("::ffff:198.51.100.7", False),
        ("not-an-address", False),
        ("", False),
        (None, False),
    ],
)
def test_ipv4_source_network_admits_only_its_addresses(address: str | None, allowed: bool) -> None:
    assert _networked("203.0.113.0/24").allows_address(address) is allowed


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("2001:db8::1", True),
        ("2001:db8:ffff::42", True),
        ("2001:db9::1", False),
        ("::1", False),
        ("203.0.113.1", False),
    ],
)
def test_ipv6_source_network_admits_only_its_addresses(address: str, allowed: bool) -> None:
    assert _networked("2001:db8::/32").allows_address(address) is allowed


def test_mixed_source_networks_admit_either_family() -> None:
    partner = _networked("203.0.113.0/24", "2001:db8::/32")
    assert partner.allows_address("203.0.113.9") is True
    assert partner.allows_address("2001:db8::9") is True
    assert partner.allows_address("198.51.100.9") is False


def test_service_not_granted_is_forbidden() -> None:
    partner = _networked()
    require_service(partner, "claims.submit")
    with pytest.raises(Forbidden, match=r"claims\.read"):
        require_service(partner, "claims.read")
