"""The demo's paths as its banner shows them, over HTTP: a sample dossier submitted with the
portal's token, moved with its department's, and what the DVCQG simulator received; an ID token
minted at the VNeID simulator and the SI-record lookup VNeID sends with it; a hospital's card
check with its VSS-portal login."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from gateway.api.citizens import ASSERTION_HEADER
from gateway.demo import (
    DEMO_CARD,
    DEMO_CITIZEN,
    DEMO_CITIZEN_BORN,
    HOSPITALS,
    PORTAL,
    DemoHospital,
    dossier_index,
)
from gateway.demo_identity import STAFF, VNEID
from tests.support.vss_portal_client import VssPortalClient

MOVES = ("accepted", "processing", "finished")
# received, then each of MOVES: TrangThaiHoSo 1, 2, 4, 9, in that order.
AT_PORTAL = ["1", "2", "4", "9"]


def as_partner(url: str, folder: Path, partner: str) -> httpx.Client:
    """A client of the gateway at ``url`` with the token the demo keeps for ``partner``."""
    token = (folder / f"{partner}.token").read_text(encoding="utf-8").strip()
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def submit(url: str, folder: Path, file: str) -> httpx.Response:
    """The sample dossier ``file``, with its MaHoSo and MaTTHC, sent as the portal."""
    entry = dossier_index(folder)[file]
    with as_partner(url, folder, PORTAL) as portal:
        return portal.post(
            "/api/v1/dossiers",
            params={"MaHoSo": entry["MaHoSo"], "MaTTHC": entry["MaTTHC"]},
            content=(folder / file).read_bytes(),
            headers={"Content-Type": "application/xml"},
        )


def move(url: str, folder: Path, dossier_id: str, department: str, *states: str) -> None:
    """Moves of ``dossier_id`` to each of ``states``, made by ``department``; each succeeds."""
    with as_partner(url, folder, department) as clerk:
        for state in states:
            moved = clerk.post(f"/api/v1/dossiers/{dossier_id}/transitions", json={"to": state})
            assert moved.status_code == 200, moved.text


def statuses_at_portal(portal_url: str, ma_ho_so: str, expected: list[str]) -> list[str]:
    """The TrangThaiHoSo that the simulated portal received for ``ma_ho_so``, read over HTTP
    once they are ``expected`` or the demo's worker had 30 seconds to deliver them."""
    deadline = time.monotonic() + 30
    while True:
        received = httpx.get(f"{portal_url}/_simulator/received", timeout=10).json()
        statuses: list[str] = received["statuses"].get(ma_ho_so, [])
        if statuses == expected or time.monotonic() > deadline:
            return statuses
        time.sleep(0.2)


def id_token(vneid_url: str, citizen: str = DEMO_CITIZEN) -> str:
    """A level-2 ID token of ``citizen``, minted by the demo's VNeID simulator."""
    minted = httpx.post(f"{vneid_url}/_simulator/tokens", json={"SoDinhDanh": citizen}, timeout=10)
    assert minted.status_code == 200, minted.text
    token: str = minted.json()["id_token"]
    return token


def look_up(url: str, folder: Path, citizen: str, token: str) -> httpx.Response:
    """VNeID's lookup of ``citizen``'s SI record, with the citizen's ID ``token``."""
    with as_partner(url, folder, VNEID) as vneid:
        return vneid.get(f"/api/v1/si-records/{citizen}", headers={ASSERTION_HEADER: token})


def check_card(url: str, folder: Path, hospital: DemoHospital = HOSPITALS[0]) -> dict[str, Any]:
    """The demo citizen's card checked by ``hospital``, with its VSS-portal login."""
    password = (folder / f"{hospital.partner_id}.password").read_text(encoding="utf-8").strip()
    with VssPortalClient(
        url, hospital.username, password, ma_tinh=hospital.province, ma_cskcb=hospital.facility
    ) as client:
        assert client.take_token()["maKetQua"] == "200"
        name, staff_id = STAFF
        return client.check_card(
            DEMO_CARD,
            "NGUYỄN THỊ LAN",
            f"{DEMO_CITIZEN_BORN:%d/%m/%Y}",
            ho_ten_cb=name,
            cccd_cb=staff_id,
        )
