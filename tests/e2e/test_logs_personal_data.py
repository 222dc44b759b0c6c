"""No personal identifier in the logs (reference/IDENTITY.md section 6.3): a served gateway, its
every logger at DEBUG through the one handler (``gateway.logs``), asked for a VNeID lookup and
the citizen's accesses, a hospital's card check, a claim batch and its records, and a dossier
and its reads, with the population database (zeep over HTTP) checking the persons: no log line
holds a citizen ID, a card number or a full name of the test data."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.population.citizens import citizen, current_address
from gateway import logs
from gateway.config import Settings
from gateway.logs import mask
from gateway.trust.sign import SigningIdentity
from tests.conftest import HOSPITAL, Pki, Served
from tests.e2e.test_si_record_accesses import (
    CARD,
    configured,
    lookup,
    seeded,
    vneid,
)
from tests.e2e.test_vss_portal import logged_in
from tests.e2e.test_vss_portal_card_check import STAFF
from tests.support import edossiers
from tests.support.population import simulated_population
from tests.support.vneid import CITIZEN, SimulatedProvider

NAME = "Nguyễn Thị Lan"  # CITIZEN's, and the dossiers' applicant's
HELD = (citizen(CITIZEN, NAME, born="1990-05-17", residence=current_address("01", "00004", "")),)


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, as the gateway's handler writes it."""
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    root.handlers[:] = [logs.handler(stream)]
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def personal(record: dict[str, Any]) -> set[str]:
    """The identifiers and name a stored claim record holds of its patient."""
    subject = record["subject"]
    found = {subject.get(k) for k in ("citizen_id", "hi_card_number", "si_number", "full_name")}
    return {value for value in found if value}


def test_no_citizen_id_card_number_or_name_reaches_a_log_line(
    settings: Settings,
    pki: Pki,
    vneid_sim: SimulatedProvider,
    applicant: SigningIdentity,
    batch: Any,
    written: io.StringIO,
) -> None:
    secrets_: set[str] = {CITIZEN, CARD, NAME, *STAFF.values(), edossiers.CITIZEN_ID}
    with simulated_population(HELD) as c06:
        gateway = seeded(c06.configured(configured(settings, pki, vneid_sim)))
        try:
            with Served(gateway) as served:
                lookup(served, vneid_sim)
                path = f"/api/v1/si-records/{CITIZEN}/accesses"
                assert vneid(served, path, vneid_sim.idp.mint(CITIZEN)).status_code == 200
                with logged_in(served) as hospital:
                    hospital.check_card(CARD, NAME, "17/05/1990", **STAFF)
                    hospital.check_card(CITIZEN, NAME, "17/05/1990", **STAFF)
                with served.client(HOSPITAL) as client:
                    receipt = client.post(
                        "/api/v1/claims",
                        content=batch(2),
                        headers={"Content-Type": "application/xml"},
                    ).json()
                    for result in receipt["results"]:
                        record = client.get(f"/api/v1/claims/{result['record_id']}").json()
                        secrets_ |= personal(record)
                made = edossiers.signed_dossier(applicant, number=1)
                with served.client("portal") as portal:
                    answer = edossiers.submit(portal, made)
                # C06 does not hold the dossier's person: refused once checked (and logged).
                assert answer.json()["code"] == "RULE_VIOLATION", answer.text
                served.wait_idle()
        finally:
            gateway.close()

    text = written.getvalue()
    # What was logged: the access log, C06's calls, DEBUG lines (IDs masked, not left out).
    assert f'"GET /api/v1/si-records/{mask(CITIZEN)} HTTP/1.1" 200' in text
    assert "C06 XacThucThongTinCongDan MaYeuCau=" in text and " DEBUG zeep." in text
    # The VSS portal's login credentials ride in the card check's query string.
    assert "KQNhanLichSuKCB2024?token=***&id_token=***&username=***&password=***" in text
    assert re.search(r"(token|username|password)=(?!\*\*\*)", text) is None
    leaked = sorted(s for s in secrets_ if s in text or s.upper() in text)
    assert leaked == [], [line for line in text.splitlines() if any(s in line for s in leaked)]
