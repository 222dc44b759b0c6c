"""The demo's dossier path as its banner shows it: a sample dossier submitted with the portal's
token, moved with its department's, and what the DVCQG simulator received, over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from gateway.demo import PORTAL, dossier_index

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
