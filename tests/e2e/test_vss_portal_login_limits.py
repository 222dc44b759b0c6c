"""A login flood against the VSS-portal legacy login, over real HTTP: submissions never wait behind
password hashing, logins are limited per source address and in total before any scrypt work, a
wrong password locks a username only from the address that sent it, and the audit log records
each limit once, when it starts."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from gateway.api.vss_portal.routes import LOGIN_THREADS
from gateway.audit import Action, Result
from gateway.bootstrap import build
from gateway.config import Settings
from gateway.legacy import TokenSigner
from gateway.legacy.passwords import StoredHash
from tests.conftest import HOSPITAL, Pki, Served
from tests.e2e.test_vss_portal import (
    ACCOUNTS,
    MovableClock,
    claim_batch,
    hospital,
    legacy_partner_file,
    visit,
)
from tests.support.vss_portal_client import md5_upper

HOSPITAL_ADDRESS = "192.0.2.10"
ATTACKER = "198.51.100.66"
USERNAME, PASSWORD = ACCOUNTS[HOSPITAL]
assert PASSWORD is not None
Opener = Callable[..., Served]


class ScryptGate:
    """A test double of the password check: the hospital's own password is checked at once,
    every other one is held until ``opened`` is set; ``full`` is set once ``expected`` checks
    are held. ``calls`` counts every check, held or not."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, expected: int) -> None:
        self.opened, self.full = threading.Event(), threading.Event()
        self.calls = self.held = 0
        self._expected = expected
        self._lock = threading.Lock()
        real = StoredHash.matches
        passing = md5_upper(PASSWORD)

        def matches(stored: StoredHash, presented: str) -> bool:
            with self._lock:
                self.calls += 1
                held = presented != passing and not self.opened.is_set()
                self.held += held
                if self.held >= self._expected:
                    self.full.set()
            if held:
                self.opened.wait(timeout=120)  # only a failing test waits this long
            return real(stored, presented)

        monkeypatch.setattr(StoredHash, "matches", matches)


@pytest.fixture
def open_portal(settings: Settings, pki: Pki, clock: MovableClock) -> Iterator[Opener]:
    """``open_portal(**limits)``: the portal behind a trusted proxy on 127.0.0.1 (so that
    X-Forwarded-For names each test client's source address), with ``legacy_login_*``
    settings ``limits``."""
    opened: list[Served] = []

    def open_with(**limits: Any) -> Served:
        path = legacy_partner_file(pki, settings.partners.with_name("partners-legacy.toml"))
        update = {"partners": path, "trusted_proxies": ["127.0.0.1/32"], **limits}
        gateway = build(Settings(**{**settings.model_dump(), **update}), clock=clock)
        served = Served(gateway).__enter__()
        opened.append(served)
        return served

    yield open_with
    for served in opened:
        served.__exit__(None, None, None)
        served.gateway.close()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def take_token(served: Served, username: str, password: str, *, source: str) -> httpx.Response:
    """One ``token/take`` from ``source`` (as the trusted proxy forwards it)."""
    with httpx.Client(base_url=served.url, timeout=120) as http:
        return http.post(
            "/api/token/take",
            data={"username": username, "password": md5_upper(password)},
            headers={"X-Forwarded-For": source},
        )


def outcome(answer: httpx.Response) -> str:
    assert answer.status_code == 200
    code: str = answer.json()["maKetQua"]
    if code == "429":
        assert 1 <= int(answer.headers["retry-after"]) <= 300
    return code


def login_events(served: Served) -> list[tuple[str, str, str, str, str]]:
    """(who, channel, action, target, result) of the login events in the audit log."""
    events = [entry.event() for entry in served.gateway.audit.log.entries(limit=1000)]
    return [
        (e.partner, e.channel, e.action, e.target, e.result)
        for e in events
        if e.action.startswith("login.")
    ]


def random_username() -> str:
    return f"guess-{secrets.token_hex(6)}"


# --- Submissions never wait behind password hashing ---------------------------------------------


@pytest.mark.parametrize("issued", ["here", "by-another-worker"])
def test_submission_completes_while_a_login_flood_holds_every_login_thread(
    open_portal: Opener,
    pki: Pki,
    clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
    issued: str,
) -> None:
    portal = open_portal()
    client = hospital(portal)
    client.http.headers["X-Forwarded-For"] = HOSPITAL_ADDRESS
    client.http.timeout = httpx.Timeout(20)
    if issued == "here":
        assert client.take_token()["maKetQua"] == "200"
    else:
        # A token another worker process issued: this one has never checked its passwordHash,
        # so the submission needs one scrypt check, which must not wait for the login threads.
        partner = portal.gateway.partners.get(HOSPITAL)
        assert partner is not None
        grant = TokenSigner(portal.gateway.pipeline.identity).issue(partner, now=clock.now())
        client.access_token, client.id_token = grant.access_token, grant.id_token
    gate = ScryptGate(monkeypatch, expected=LOGIN_THREADS)
    flood = ThreadPoolExecutor(LOGIN_THREADS * 3)
    try:
        logins = [
            flood.submit(take_token, portal, random_username(), "x", source=f"203.0.113.{n}")
            for n in range(LOGIN_THREADS * 3)
        ]
        assert gate.full.wait(timeout=60), "the flood never held every login thread"
        answer = client.send("claims", claim_batch(pki, [visit(40)]))
        assert not gate.opened.is_set()  # it completed while every login thread was held
        assert answer["maKetQua"] == "200", answer
    finally:
        gate.opened.set()
        flood.shutdown()
        client.http.close()
    assert [outcome(login.result()) for login in logins] == ["401"] * len(logins)


# --- Limits per source address and in total -----------------------------------------------------


def test_random_usernames_from_one_address_are_refused_before_any_password_check(
    open_portal: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal = open_portal(legacy_login_per_source=3)
    gate = ScryptGate(monkeypatch, expected=1_000)
    gate.opened.set()  # count the checks, hold none
    answers = [
        outcome(take_token(portal, random_username(), "x", source=ATTACKER)) for _ in range(6)
    ]
    assert answers == ["401", "401", "401", "429", "429", "429"]
    assert gate.calls == 3  # the refused attempts cost no scrypt
    # Other addresses are not affected, and the hospital logs in.
    assert outcome(take_token(portal, random_username(), "x", source="198.51.100.67")) == "401"
    assert outcome(take_token(portal, USERNAME, PASSWORD, source=HOSPITAL_ADDRESS)) == "200"
    # Once, when the address reached its limit; not once per refused attempt.
    assert login_events(portal) == [
        ("-", "vss-portal", Action.LOGIN_LIMITED, f"login:*@{ATTACKER}", Result.DENIED)
    ]


def test_the_total_limit_holds_across_addresses_but_not_for_a_hospitals_known_address(
    open_portal: Opener,
) -> None:
    portal = open_portal(legacy_login_per_source=100, legacy_login_total=4)
    # The hospital logged in from its address before the flood.
    assert outcome(take_token(portal, USERNAME, PASSWORD, source=HOSPITAL_ADDRESS)) == "200"
    answers = [
        outcome(take_token(portal, random_username(), "x", source=f"198.51.100.{n}"))
        for n in range(1, 7)
    ]
    assert answers == ["401", "401", "401", "429", "429", "429"]
    # An hour later its token has expired: it logs in again, the flood notwithstanding.
    assert outcome(take_token(portal, USERNAME, PASSWORD, source=HOSPITAL_ADDRESS)) == "200"
    assert login_events(portal) == [
        ("-", "vss-portal", Action.LOGIN_LIMITED, "login:*@*", Result.DENIED)
    ]


# --- The lockout: per username and source address ------------------------------------------------


def test_wrong_passwords_from_one_address_lock_the_username_from_that_address_only(
    open_portal: Opener,
) -> None:
    portal = open_portal()
    for _ in range(10):
        assert outcome(take_token(portal, USERNAME, "guess", source=ATTACKER)) == "401"
    # From the attacker's address even the right password is refused now, for a while ...
    for _ in range(3):
        assert outcome(take_token(portal, USERNAME, PASSWORD, source=ATTACKER)) == "429"
    # ... but the hospital, from its own address, is not locked out.
    assert outcome(take_token(portal, USERNAME, PASSWORD, source=HOSPITAL_ADDRESS)) == "200"
    reader, reader_password = ACCOUNTS["reader"]
    assert reader_password is not None
    assert outcome(take_token(portal, reader, reader_password, source=ATTACKER)) == "200"
    assert login_events(portal) == [
        ("-", "vss-portal", Action.LOGIN_LOCKED, f"login:{USERNAME}@{ATTACKER}", Result.DENIED)
    ]


def test_a_locked_hospital_sees_429_with_retry_after(open_portal: Opener) -> None:
    portal = open_portal()
    for _ in range(10):
        take_token(portal, USERNAME, "guess", source=HOSPITAL_ADDRESS)
    answer = take_token(portal, USERNAME, PASSWORD, source=HOSPITAL_ADDRESS)
    assert answer.json() == {"maKetQua": "429", "APIKey": None}
    assert 240 < int(answer.headers["retry-after"]) <= 300


def test_ipv6_addresses_of_one_64_share_their_limit(open_portal: Opener) -> None:
    portal = open_portal()
    for n in range(10):
        take_token(portal, USERNAME, "guess", source=f"2001:db8:1:2::{n:x}")
    answer = take_token(portal, USERNAME, PASSWORD, source="2001:db8:1:2:ffff::1")
    assert outcome(answer) == "429"
    assert outcome(take_token(portal, USERNAME, PASSWORD, source="2001:db8:1:3::1")) == "200"
    assert [event[3] for event in login_events(portal)] == [f"login:{USERNAME}@2001:db8:1:2::/64"]
