"""Fixtures of the whole-flow tests: the applicant of their dossiers, gateways served as processes
of their own."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.trust.sign import SigningIdentity
from tests.conftest import Pki, free_port
from tests.support.edossiers import citizen
from tests.support.process import ServerProcess, environment


@pytest.fixture(scope="module")
def applicant(pki: Pki) -> SigningIdentity:
    """A citizen who signs the module's dossiers (``UID=CCCD:...``)."""
    return citizen(pki)


@pytest.fixture
def gateways(settings: Settings, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Two ``gateway serve`` processes sharing the SQLite stores of ``settings``."""
    servers = []
    for _ in range(2):
        port = free_port()
        argv = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
        servers.append(
            ServerProcess(
                argv, url=f"http://127.0.0.1:{port}", env=environment(settings), cwd=tmp_path
            )
        )
    with servers[0], servers[1]:
        yield servers
