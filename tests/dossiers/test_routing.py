"""The routing file: checked whole at startup, reloaded when it changes, kept when broken."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from gateway.dossiers.routing import Routing, load
from gateway.errors import ConfigError, RuleViolation

# SPEC section 3: every canonical procedure and its department.
SPEC_ROUTES = {
    "SI_VOLUNTARY_REGISTRATION": "collection",
    "HI_HOUSEHOLD_RENEWAL": "collection",
    "REISSUE_SI_BOOK": "book-and-card",
    "REISSUE_HI_CARD": "book-and-card",
    "PERSONAL_INFO_ADJUSTMENT": "book-and-card",
    "CERTIFICATE_OF_COVERAGE": "book-and-card",
    "BENEFIT_SICKNESS": "benefits",
    "BENEFIT_MATERNITY": "benefits",
    "BENEFIT_WORK_INJURY": "benefits",
    "BENEFIT_SURVIVOR": "benefits",
    "BENEFIT_PENSION": "benefits",
    "BENEFIT_LUMP_SUM": "benefits",
    "BENEFIT_UNEMPLOYMENT": "benefits",
    "UNPAID_CONTRIBUTION_REPORT": "inspection",
}

SMALL = """
departments = ["benefits", "collection"]
supplement_working_days = 10
[procedures.BENEFIT_SICKNESS]
department = "benefits"
working_days = 6
"""


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # A new modification time even within the file system's timestamp granularity.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_the_packaged_file_routes_every_spec_procedure_to_its_department() -> None:
    table = load(None)
    assert {p: r.department for p, r in table.routes.items()} == SPEC_ROUTES
    assert all(route.working_days > 0 for route in table.routes.values())
    assert "health-insurance" in table.departments
    assert table.supplement_working_days > 0


def test_an_unrouted_procedure_is_refused_with_its_rule() -> None:
    table = load(None)
    with pytest.raises(RuleViolation) as caught:
        table.route("BENEFIT_MARTIAN")
    issue = caught.value.issues[0]
    assert (issue.rule, issue.path) == ("DOSSIER.NOT_ROUTED", "MaTTHC")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SMALL + "colour = 'blue'\n", "colour"),
        (SMALL + "[procedures.X]\ndepartment = 'archive'\nworking_days = 1\n", "'archive'"),
        (SMALL + "[procedures.Y]\ndepartment = 'benefits'\nworking_days = 1\nfoo = 1\n", "foo"),
        (SMALL.replace("working_days = 6", "working_days = -1"), "working_days"),
        (SMALL.replace('"collection"', '"Collection Dept"'), "lowercase"),
        (SMALL.replace('"collection"', '"benefits"'), "distinct"),
        ("departments = [", "routing file"),
    ],
)
def test_a_broken_file_stops_startup(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "routing.toml"
    write(path, text)
    with pytest.raises(ConfigError, match=message):
        Routing(path)


def test_a_missing_file_stops_startup(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read routing file"):
        Routing(tmp_path / "nowhere.toml")


def test_a_changed_file_is_read_again_after_the_check_interval(tmp_path: Path) -> None:
    path, ticker = tmp_path / "routing.toml", Ticker()
    write(path, SMALL)
    routing = Routing(path, check_every=2.0, monotonic=ticker)
    assert routing.route("BENEFIT_SICKNESS").working_days == 6
    write(path, SMALL.replace("working_days = 6", "working_days = 9"))
    ticker.now = 1.0
    assert routing.route("BENEFIT_SICKNESS").working_days == 6  # not looked at yet
    ticker.now = 2.5
    assert routing.route("BENEFIT_SICKNESS").working_days == 9


def test_a_broken_new_file_keeps_the_table_in_force_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, ticker = tmp_path / "routing.toml", Ticker()
    write(path, SMALL)
    routing = Routing(path, check_every=1.0, monotonic=ticker)
    write(path, SMALL + "[procedures.X]\ndepartment = 'archive'\nworking_days = 1\n")
    ticker.now = 5.0
    with caplog.at_level(logging.ERROR, logger="gateway.dossiers.routing"):
        assert routing.route("BENEFIT_SICKNESS").department == "benefits"
    assert "previous table stays in force" in caplog.text
    assert "'archive'" in caplog.text
    # Once fixed, the new table is taken.
    write(path, SMALL.replace("working_days = 6", "working_days = 4"))
    ticker.now = 10.0
    assert routing.route("BENEFIT_SICKNESS").working_days == 4


def test_a_reload_asked_for_reads_the_file_at_once(tmp_path: Path) -> None:
    path, ticker = tmp_path / "routing.toml", Ticker()
    write(path, SMALL)
    routing = Routing(path, check_every=60.0, monotonic=ticker)
    path.write_text(SMALL.replace("working_days = 6", "working_days = 3"), encoding="utf-8")
    routing.request_reload()  # what SIGHUP does
    assert routing.route("BENEFIT_SICKNESS").working_days == 3


def test_an_unchanged_file_is_not_parsed_again(tmp_path: Path) -> None:
    path, ticker = tmp_path / "routing.toml", Ticker()
    write(path, SMALL)
    routing = Routing(path, check_every=1.0, monotonic=ticker)
    before = routing.table()
    ticker.now = 30.0
    assert routing.table() is before
