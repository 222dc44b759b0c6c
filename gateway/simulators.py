"""What the partner simulators (``adapters/*/simulator.py``) share: the fault injected for their
next calls, its admin endpoints, and serving one as a process."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

from gateway.config import Settings


class InjectedFault(BaseModel):
    """A fault for a simulator's next ``times`` calls of the kind it names, or until reset."""

    times: int | None = Field(default=None, ge=1)  # None: until reset

    def applies_to(self, call: str) -> bool:
        """Whether a call of ``call`` (an operation, a service) gets this fault."""
        raise NotImplementedError


F = TypeVar("F", bound=InjectedFault)


class FaultySimulator(Generic[F]):
    """A simulator's state lock and the fault its next calls get, for tests (``inject``) and the
    demo (``POST /_simulator/faults``, ``add_fault_routes``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: F | None = None

    def inject(self, fault: F) -> None:
        with self._lock:
            self._fault = fault.model_copy()

    def reset_faults(self) -> None:
        with self._lock:
            self._fault = None

    def _faulted(self, call: str) -> F | None:
        """The fault of a call of ``call``, if any, counted down; the caller holds the lock."""
        fault = self._fault
        if fault is None or not fault.applies_to(call):
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._fault = None
        return fault


def add_fault_routes(app: FastAPI, simulator: FaultySimulator[F], model: type[F]) -> None:
    """``POST /_simulator/faults`` (a ``model`` in the body: inject it) and ``DELETE`` (reset)."""

    async def inject(fault: Any) -> None:
        simulator.inject(fault)

    inject.__annotations__["fault"] = model  # FastAPI reads the body's model from here
    app.post("/_simulator/faults", status_code=204)(inject)

    @app.delete("/_simulator/faults", status_code=204)
    async def reset() -> None:
        simulator.reset_faults()


def serve(
    argv: list[str] | None,
    from_settings: Callable[[Settings], tuple[object, FastAPI]],
    *,
    description: str,
    port: int,
) -> None:
    """Serve the simulator that ``from_settings`` makes for the gateway's settings, as a
    process (``--host``, ``--port``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    args = parser.parse_args(argv)
    _, app = from_settings(Settings())
    uvicorn.run(app, host=args.host, port=args.port, log_config=None)
