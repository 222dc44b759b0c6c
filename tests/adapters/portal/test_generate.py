"""``gateway generate dossiers``: signed dossiers the format reads, with their MaHoSo and MaTTHC."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.dossiers.ports import DossierFormat, Trust
from gateway.errors import SignatureMissing
from gateway.trust.devpki import write_identity
from tests.adapters.portal.conftest import Applicants


def test_generated_dossiers_are_read_and_listed_with_their_portal_codes(
    tmp_path: Path, applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    write_identity(applicants.unit, tmp_path / "unit.key", tmp_path / "unit.pem")
    out = tmp_path / "out"
    code = main(
        ["generate", "dossiers", str(out), "--key", str(tmp_path / "unit.key"),
         "--cert", str(tmp_path / "unit.pem"), "--seed", "5"]
    )  # fmt: skip
    assert code == 0
    index = json.loads((out / "dossiers.json").read_text())
    assert len(index) == 10  # every procedure a unit may file
    for entry in index:
        assert re.fullmatch(r"000\.00\.01\.G24-\d{6}-\d{5}", entry["MaHoSo"])
        read = fmt.read((out / entry["file"]).read_bytes(), ma_tthc=entry["MaTTHC"], trust=trust)
        assert read.procedure == entry["procedure"]


def test_a_fault_on_request(
    tmp_path: Path, applicants: Applicants, fmt: DossierFormat, trust: Trust
) -> None:
    write_identity(applicants.citizen, tmp_path / "c.key", tmp_path / "c.pem")
    out = tmp_path / "out"
    files = ["--key", str(tmp_path / "c.key"), "--cert", str(tmp_path / "c.pem")]
    fault = ["--procedure", "BENEFIT_PENSION", "--fault", "unsigned-form"]
    args = ["generate", "dossiers", str(out), *files, *fault]
    assert main(args) == 0
    (entry,) = json.loads((out / "dossiers.json").read_text())
    assert entry["faults"] == ["unsigned-form"]
    with pytest.raises(SignatureMissing) as caught:
        fmt.read((out / entry["file"]).read_bytes(), ma_tthc=entry["MaTTHC"], trust=trust)
    assert caught.value.issues[-1].table == "DN01-HSB"
