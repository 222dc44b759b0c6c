"""LegacyLogin's token checks: a passwordHash this process has checked costs no scrypt, a wrong
one is told from it without scrypt, and the memory of them is one entry per partner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.audit import Auditor
from gateway.audit.sqlite import SqliteAuditLog
from gateway.clock import SystemClock
from gateway.errors import Unauthorized
from gateway.identity.pseudonyms import Pseudonyms
from gateway.legacy import (
    LegacyLogin,
    LoginLimiter,
    LoginLimits,
    TokenSigner,
    legacy_password_hash,
    md5_upper,
)
from gateway.legacy.passwords import StoredHash
from gateway.partners import Partner, PartnerRegistry
from tests.conftest import Pki

NOW = datetime.now(UTC)
PASSWORD = md5_upper("mat-khau-01929")
HASH = legacy_password_hash(PASSWORD, n=2**4)  # cheap: thousands of partners share it


# More partners than the 4096 checked passwordHashes once kept, before all were forgotten at once.
MANY = 4100


def partner(number: int) -> Partner:
    return Partner(
        id=f"hospital-{number}",
        kind="hospital",
        name=f"Hospital {number}",
        services=frozenset({"claims.submit"}),
        legacy_username=f"{number}_BV",
        legacy_password_hash=HASH,
    )


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every scrypt check, by the value it checked."""
    seen: list[str] = []
    real = StoredHash.matches

    def matches(stored: StoredHash, presented: str) -> bool:
        seen.append(presented)
        return real(stored, presented)

    monkeypatch.setattr(StoredHash, "matches", matches)
    return seen


@pytest.fixture(scope="module")
def partners() -> PartnerRegistry:
    return PartnerRegistry([partner(n) for n in range(MANY)])


@pytest.fixture
def signer(pki: Pki) -> TokenSigner:
    return TokenSigner(pki.gateway)


@pytest.fixture
def login(partners: PartnerRegistry, signer: TokenSigner, tmp_path: Path) -> Iterator[LegacyLogin]:
    log = SqliteAuditLog(tmp_path / "audit.sqlite3")
    limiter = LoginLimiter.in_memory(
        LoginLimits(), Auditor(log, SystemClock(), pseudonyms=Pseudonyms(b"k" * 32))
    )
    yield LegacyLogin(partners, signer, limiter)
    log.close()


def test_after_a_login_the_token_checks_cost_no_scrypt(
    login: LegacyLogin, checks: list[str]
) -> None:
    grant = login.login(login.admit("0_BV", address="192.0.2.1"), PASSWORD, now=NOW)
    assert checks == [PASSWORD]
    for _ in range(3):
        presented = login.token(grant.access_token, grant.id_token, PASSWORD.lower(), now=NOW)
        assert presented.known
        assert login.caller(presented).id == "hospital-0"
    with pytest.raises(Unauthorized, match="passwordHash"):
        login.token(grant.access_token, grant.id_token, md5_upper("guess"), now=NOW)
    assert checks == [PASSWORD]


def test_a_token_another_worker_issued_costs_one_scrypt(
    login: LegacyLogin, partners: PartnerRegistry, signer: TokenSigner, checks: list[str]
) -> None:
    hospital = partners.get("hospital-1")
    assert hospital is not None
    grant = signer.issue(hospital, now=NOW)
    wrong = login.token(grant.access_token, grant.id_token, md5_upper("guess"), now=NOW)
    assert not wrong.known
    with pytest.raises(Unauthorized):
        login.caller(wrong)
    for _ in range(3):
        login.caller(login.token(grant.access_token, grant.id_token, PASSWORD, now=NOW))
    assert checks == [md5_upper("guess"), PASSWORD]


def test_every_partner_stays_checked_however_many_there_are(
    login: LegacyLogin, partners: PartnerRegistry, signer: TokenSigner, checks: list[str]
) -> None:
    grants = [signer.issue(p, now=NOW) for p in partners.all()]
    for _ in range(2):
        for grant in grants:
            login.caller(login.token(grant.access_token, grant.id_token, PASSWORD, now=NOW))
    assert len(checks) == len(grants)
