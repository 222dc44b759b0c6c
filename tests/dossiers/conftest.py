"""Fixtures of the dossier flow's tests: a SQLite dossier store in the test's folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store.sqlite_dossiers import SqliteDossierStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteDossierStore]:
    opened = SqliteDossierStore(tmp_path / "dossiers.sqlite3")
    yield opened
    opened.close()
