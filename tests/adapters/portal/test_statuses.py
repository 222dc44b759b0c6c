"""The state -> TrangThaiHoSo table: the packaged one is complete, a bad one stops startup."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from adapters.portal.statuses import load_statuses
from gateway.dossiers.lifecycle import State
from gateway.errors import ConfigError

PACKAGED = importlib.resources.files("adapters.portal").joinpath("statuses.toml").read_text()


def test_the_packaged_table_maps_every_state_as_dvcqg_numbers_them() -> None:
    table = load_statuses()
    assert {str(state): table.code(state) for state in State} == {
        "received": "1",
        "accepted": "2",
        "refused": "3",
        "processing": "4",
        "supplement_requested": "5",
        "payment_requested": "6",
        "withdrawn": "7",
        "stopped": "8",
        "finished": "9",
        "result_delivered": "10",
    }
    assert all(table.step(state) for state in State)
    assert table.reminder


def test_a_file_named_in_settings_replaces_the_packaged_one(tmp_path: Path) -> None:
    path = tmp_path / "statuses.toml"
    path.write_text(PACKAGED.replace("finished = 9 ", "finished = 10"), "utf-8")
    assert load_statuses(path).code(State.FINISHED) == "10"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("stopped = 8 ", "# stopped = 8"),
            "[statuses] must map every dossier state and nothing else; unmapped: stopped",
        ),
        (("[steps]", "archived = 11\n[steps]"), "unknown: archived"),
        (("finished = 9 ", "finished = 11"), "finished = 11 is not a TrangThaiHoSo (1..10)"),
        (("finished = 9 ", 'finished = "9"'), "finished = '9' is not a TrangThaiHoSo"),
        (('reminder = "', 'remind = "'), "unmapped: reminder; unknown: remind"),
        (("[steps]", "[step]"), "unknown tables: step"),
        (("[statuses]", "[statuses"), "not TOML"),
    ],
)
def test_a_bad_table_is_refused_with_what_is_wrong(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    assert edit[0] in PACKAGED
    path = tmp_path / "statuses.toml"
    path.write_text(PACKAGED.replace(*edit), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_statuses(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_PORTAL_STATUSES: cannot read"):
        load_statuses(tmp_path / "absent.toml")
