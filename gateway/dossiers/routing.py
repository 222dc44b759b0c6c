"""The routing file (``GATEWAY_ROUTING``): each procedure's department and time limit, reloadable.

A running gateway re-reads the file when it changes (its modification time and size, looked at
no more often than every ``check_every`` seconds) or when asked (SIGHUP); a new file that does
not load is logged and the table in force is kept, so a typo never stops routing. At startup the
same mistake stops the gateway.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import ConfigError, Issue, RuleViolation

log = logging.getLogger(__name__)

DEFAULT = "routing.toml"  # packaged beside this module


@dataclass(frozen=True)
class Route:
    """Where a procedure's dossiers go and how long their department has."""

    procedure: str
    department: str
    working_days: int


@dataclass(frozen=True)
class RoutingTable:
    """One version of the routing file, checked whole."""

    departments: tuple[str, ...]
    routes: Mapping[str, Route]
    supplement_working_days: int

    def route(self, procedure: str) -> Route:
        """The route of ``procedure``; ``RuleViolation`` (``DOSSIER.NOT_ROUTED``) if none."""
        found = self.routes.get(procedure)
        if found is None:
            raise RuleViolation(
                f"procedure {procedure} is not routed to any department of VSS",
                issues=[
                    Issue(
                        message="the routing file names no department for this procedure",
                        rule="DOSSIER.NOT_ROUTED",
                        path="MaTTHC",
                    )
                ],
            )
        return found


# A department's name: it appears in URLs (/queues/{department}) and their queries.
DEPARTMENT_NAME = r"^[a-z][a-z0-9-]{0,63}$"


class _ProcedureEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str
    working_days: int = Field(ge=0, le=365)


class _RoutingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    departments: list[str] = Field(min_length=1)
    supplement_working_days: int = Field(ge=1, le=365)
    procedures: dict[str, _ProcedureEntry]


def parse(text: str, *, source: str) -> RoutingTable:
    """The table of a routing file's ``text``; ``ConfigError`` naming ``source`` if it is not
    one."""
    try:
        data = _RoutingFile.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"routing file {source}: {exc}") from exc
    departments = tuple(data.departments)
    bad = [name for name in departments if not _valid_name(name)]
    if bad or len(set(departments)) != len(departments):
        raise ConfigError(
            f"routing file {source}: departments must be distinct lowercase names "
            f"(letters, digits, '-'): {bad or departments}"
        )
    routes: dict[str, Route] = {}
    for procedure, entry in data.procedures.items():
        if entry.department not in departments:
            raise ConfigError(
                f"routing file {source}: procedure {procedure} goes to unknown department "
                f"{entry.department!r}; departments are {', '.join(departments)}"
            )
        routes[procedure] = Route(procedure, entry.department, entry.working_days)
    return RoutingTable(departments, MappingProxyType(routes), data.supplement_working_days)


def _valid_name(name: str) -> bool:
    return re.fullmatch(DEPARTMENT_NAME, name) is not None


def load(path: Path | None) -> RoutingTable:
    """The routing file at ``path``, or the packaged default when None."""
    if path is None:
        text = importlib.resources.files(__package__).joinpath(DEFAULT).read_text("utf-8")
        return parse(text, source=f"(packaged) {DEFAULT}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read routing file {path}: {exc}") from exc
    return parse(text, source=str(path))


class Routing:
    """The routing table in force, re-read when its file changes."""

    def __init__(
        self,
        path: Path | None,
        *,
        check_every: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._check_every = check_every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._seen = self._stamp()
        self._table = load(path)  # a broken file stops startup here
        self._checked = monotonic()
        self._asked = False

    def table(self) -> RoutingTable:
        """The table in force, after re-reading the file if it changed or a reload was asked."""
        if self.path is not None and (
            self._asked or self._monotonic() - self._checked >= self._check_every
        ):
            self._refresh()
        return self._table

    def route(self, procedure: str) -> Route:
        return self.table().route(procedure)

    def request_reload(self) -> None:
        """Re-read the file at the next lookup, changed or not (SIGHUP); safe in a signal
        handler."""
        self._asked = True

    def _stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _refresh(self) -> None:
        with self._lock:
            asked, self._asked = self._asked, False
            self._checked = self._monotonic()
            stamp = self._stamp()
            if stamp == self._seen and not asked:
                return
            self._seen = stamp
            try:
                self._table = load(self.path)
            except ConfigError as exc:
                log.error("routing file not reloaded, the previous table stays in force: %s", exc)
                return
            log.info("routing file %s reloaded: %d procedures", self.path, len(self._table.routes))
