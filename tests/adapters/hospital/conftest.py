"""Fixtures of the hospital adapter tests."""

from __future__ import annotations

import pytest

from tests.adapters.hospital.visits import FACILITY
from tests.support.dev_signing import DevSigning


@pytest.fixture(scope="package")
def hospital_signing() -> DevSigning:
    """The synthetic facility's signing identity under a throwaway CA, and that CA's anchors."""
    return DevSigning.issue(f"Bệnh viện {FACILITY}")
