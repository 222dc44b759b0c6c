"""docs/qd130-rules.md lists exactly the rule ids and signal codes of the code, with their scope."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.hospital import flags, history, rules

DOC = Path(__file__).resolve().parents[3] / "docs" / "qd130-rules.md"


def _table(heading: str) -> list[list[str]]:
    """The body rows of the first table after ``## heading``, cells stripped of backticks."""
    section = DOC.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|[-| ]+\|", line):
            rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]  # without the header


def test_the_rules_table_lists_every_rule_once_with_its_scope_and_source() -> None:
    documented = {(r[0], r[1], r[3]) for r in _table("Rules")}
    assert len(documented) == len(_table("Rules"))
    assert documented == {(rule.id, rule.scope, rule.source) for rule in rules.RULES}


def test_the_signals_table_lists_every_signal_code() -> None:
    assert {row[0] for row in _table("Signals")} == set(flags.SIGNALS) | set(history.SIGNALS)
