"""The table from the gateway's dossier states to DVCQG's ``TrangThaiHoSo`` and step words.

Loaded once at startup from ``statuses.toml`` (packaged beside this module) or the file named by
``GATEWAY_PORTAL_STATUSES``; a table that leaves a state unmapped, names an unknown state or uses
a code outside 1..10 stops startup with a ``ConfigError`` saying which.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gateway.dossiers.lifecycle import State
from gateway.errors import ConfigError

_STATES = frozenset(str(state) for state in State)
_REMINDER = "reminder"


@dataclass(frozen=True)
class StatusTable:
    """Each state's ``TrangThaiHoSo`` ("1".."10") and ``NoiDungXuLy`` words."""

    codes: Mapping[State, str]
    steps: Mapping[State, str]
    reminder: str  # the words of a reminder step

    def code(self, state: str) -> str:
        return self.codes[State(state)]

    def step(self, state: str) -> str:
        return self.steps[State(state)]


def _section(data: dict[str, Any], name: str, keys: frozenset[str], where: str) -> dict[str, Any]:
    section = data.get(name)
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: no [{name}] table")
    missing = sorted(keys - section.keys())
    unknown = sorted(section.keys() - keys)
    if missing or unknown:
        raise ConfigError(
            f"{where}: [{name}] must map every dossier state and nothing else"
            + (f"; unmapped: {', '.join(missing)}" if missing else "")
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    return section


def parse_statuses(text: str, *, where: str) -> StatusTable:
    """The table in ``text`` (TOML); ``where`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not TOML: {exc}") from exc
    if unknown := sorted(data.keys() - {"statuses", "steps"}):
        raise ConfigError(f"{where}: unknown tables: {', '.join(unknown)}")
    codes = _section(data, "statuses", _STATES, where)
    steps = _section(data, "steps", _STATES | {_REMINDER}, where)
    for state, code in codes.items():
        if not (isinstance(code, int) and not isinstance(code, bool) and 1 <= code <= 10):
            raise ConfigError(f"{where}: {state} = {code!r} is not a TrangThaiHoSo (1..10)")
    for state, words in steps.items():
        if not (isinstance(words, str) and words.strip()):
            raise ConfigError(f"{where}: [steps] {state} must be non-empty text")
    return StatusTable(
        codes=MappingProxyType({State(s): str(c) for s, c in codes.items()}),
        steps=MappingProxyType({State(s): w for s, w in steps.items() if s != _REMINDER}),
        reminder=steps[_REMINDER],
    )


def load_statuses(path: Path | None = None) -> StatusTable:
    """The table of ``path``, or the packaged one."""
    if path is None:
        resource = importlib.resources.files(__package__).joinpath("statuses.toml")
        return parse_statuses(resource.read_text("utf-8"), where="statuses.toml")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"GATEWAY_PORTAL_STATUSES: cannot read {path}: {exc}") from exc
    return parse_statuses(text, where=str(path))
