"""``gateway worker`` and ``gateway outbox`` as commands, against the DVCQG simulator over HTTP: a
portal submits dossiers and a department moves them over REST, the worker process pushes every
change to the simulator once and in order, through the portal down, the worker killed in the
middle of a delivery, dead letters re-driven by the operator and the kill switch."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.portal import dvcqg_protocol as p
from adapters.portal.simulator import Fault
from adapters.portal.statuses import load_statuses
from gateway.cli import main
from gateway.config import Settings
from gateway.dossiers.lifecycle import State
from gateway.dossiers.ports import DossierStore, OutboxMessage
from tests.conftest import Pki, Served, free_port
from tests.support.dvcqg import AGENCY, USERNAME, SimulatedPortal, simulated_portal
from tests.support.edossiers import citizen, moved, signed_dossier, submitted
from tests.support.process import CommandProcess, environment, wait_until

PATH = (State.ACCEPTED, State.PROCESSING, State.FINISHED, State.RESULT_DELIVERED)
STATUSES = load_statuses()
CODES = [STATUSES.code(state) for state in (State.RECEIVED, *PATH)]  # TrangThaiHoSo, in order
GATEWAY = [sys.executable, "-m", "gateway.cli"]


@pytest.fixture
def sim() -> Iterator[SimulatedPortal]:
    """The simulator on a port of its own, not started: a test starts it (or leaves it down)."""
    with simulated_portal(port=free_port(), started=False) as portal:
        yield portal


@pytest.fixture
def env(settings: Settings, sim: SimulatedPortal) -> dict[str, str]:
    """What ``gateway worker`` and ``gateway outbox`` read: the stores, the portal's account,
    and retries and polls short enough for a test."""
    return {
        **environment(settings),
        "GATEWAY_PORTAL_SYNC_URL": sim.server.url,
        "GATEWAY_PORTAL_USERNAME": USERNAME,
        "GATEWAY_PORTAL_PASSWORD": sim.password,
        "GATEWAY_PORTAL_AGENCY": AGENCY,
        "GATEWAY_PORTAL_TIMEOUT": "20",
        "GATEWAY_DELIVERY_ATTEMPTS": "1000",
        "GATEWAY_DELIVERY_BACKOFF_BASE": "0.1",
        "GATEWAY_DELIVERY_BACKOFF_CAP": "0.5",
        "GATEWAY_WORKER_POLL_INTERVAL": "0.05",
    }


def worker(env: dict[str, str], tmp_path: Path) -> CommandProcess:
    """``gateway worker``, started by ``with`` and killed at its end if still running."""
    return CommandProcess([*GATEWAY, "worker"], env=env, cwd=tmp_path)


def gateway(env: dict[str, str], *words: str) -> subprocess.CompletedProcess[str]:
    """``gateway WORDS...`` run to its end."""
    return subprocess.run(
        [*GATEWAY, *words], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def dossiers(served: Served, pki: Pki, count: int, *, path: tuple[State, ...] = PATH) -> list[str]:
    """``count`` dossiers submitted by the portal and moved along ``path`` by their department
    (each move writes its outbox messages): their MaHoSo, in order of submission."""
    identity = citizen(pki)
    codes = []
    with served.client("portal") as portal, served.client("benefits") as department:
        for n in range(count):
            made = signed_dossier(identity, number=200 + n)
            dossier_id = submitted(portal, made)
            for state in path:
                moved(department, dossier_id, to=str(state), officer="Lê Văn Tâm")
            codes.append(made.ma_ho_so)
    return codes


def undelivered(store: DossierStore) -> list[OutboxMessage]:
    """Each dossier's first message not yet delivered, then the dead ones."""
    later = datetime.now(UTC) + timedelta(days=365)
    return store.due_messages(at=later, limit=1000) + store.dead_letters()


def received(sim: SimulatedPortal, ma_ho_so: str) -> tuple[list[str], list[str]]:
    """The TrangThaiHoSo the simulator applied to the dossier, and its progress steps'."""
    got = sim.portal.received()
    steps = [step["TrangThai"] for step in got.steps if step["MaHoSo"] == ma_ho_so]
    return got.statuses.get(ma_ho_so, []), steps


def test_the_worker_delivers_every_change_once_and_in_order_once_the_portal_is_back(
    served: Served, pki: Pki, sim: SimulatedPortal, env: dict[str, str], tmp_path: Path
) -> None:
    store = served.gateway.dossiers.store
    with worker(env, tmp_path) as running:
        codes = dossiers(served, pki, 3)
        # Down: nothing listens on its port; every dossier's first message fails and waits.
        wait_until(
            lambda: len(m := undelivered(store)) == 3 and all(x.attempts >= 2 for x in m),
            what="every dossier's first message tried against the portal down",
        )
        sim.server.start()
        wait_until(lambda: not undelivered(store), what="the outbox delivered")
        for code in codes:
            assert received(sim, code) == (CODES, CODES)
        assert running.send(signal.SIGTERM) == 0, running.output()
    assert "Traceback" not in running.output()


def test_a_worker_killed_in_the_middle_of_a_delivery_and_started_again_applies_nothing_twice(
    served: Served, pki: Pki, sim: SimulatedPortal, env: dict[str, str], tmp_path: Path
) -> None:
    store = served.gateway.dossiers.store
    sim.server.start()
    # The first sync is done by the portal but answered late: the worker is killed before it
    # hears that it succeeded, so its message is still pending.
    sim.portal.inject(Fault(kind="delay", delay=3.0, times=1, service=p.DONG_BO_HO_SO))
    first, second = dossiers(served, pki, 2)
    with worker(env, tmp_path) as killed:
        wait_until(lambda: received(sim, first)[0] == CODES[:1], what="the first sync applied")
        killed.kill()
    [pending, _] = undelivered(store)
    assert (pending.change.ma_ho_so, pending.change.kind, pending.status) == (
        first,
        "status",
        "pending",
    )
    with worker(env, tmp_path) as again:
        wait_until(lambda: not undelivered(store), what="the outbox delivered after the restart")
        assert again.send(signal.SIGTERM) == 0, again.output()
    for code in (first, second):
        assert received(sim, code) == (CODES, CODES)
    # The killed worker's sync was sent again (same Idempotency-Key) and changed nothing.
    assert sim.portal.received().calls[p.DONG_BO_HO_SO] == 2 * len(CODES) + 1


def test_a_dead_message_is_listed_and_redriven_by_the_operator_then_delivered(
    served: Served, pki: Pki, sim: SimulatedPortal, env: dict[str, str]
) -> None:
    sim.server.start()
    sim.portal.inject(Fault(kind="error_code", code=p.Code.BAD_REQUEST))  # until reset
    [code] = dossiers(served, pki, 1, path=())  # received: a status and a progress message
    once = gateway(env, "worker", "--once")
    assert (once.returncode, once.stdout) == (0, "reminded 0; delivered 0, to retry 0, dead 1\n")

    dead = gateway(env, "outbox", "dead")
    assert dead.returncode == 0
    [line] = dead.stdout.splitlines()
    seq, ma_ho_so, kind, attempts, error = line.split("\t")
    assert (ma_ho_so, kind, attempts) == (code, "status", "1")
    assert error.startswith(f"error_code {p.Code.BAD_REQUEST}")

    unknown = gateway(env, "outbox", "redrive", "--seq", str(int(seq) + 100))
    assert (unknown.returncode, unknown.stdout) == (1, "0 dead message(s) pending again\n")
    one = gateway(env, "outbox", "redrive", "--seq", seq)
    assert (one.returncode, one.stdout) == (0, "1 dead message(s) pending again\n")
    assert gateway(env, "outbox", "dead").stdout == ""
    # Still refused: dead again at the next pass; all of them re-driven.
    assert gateway(env, "worker", "--once").stdout.endswith("dead 1\n")
    every = gateway(env, "outbox", "redrive", "--all")
    assert (every.returncode, every.stdout) == (0, "1 dead message(s) pending again\n")

    sim.portal.reset_faults()
    once = gateway(env, "worker", "--once")
    assert once.stdout == "reminded 0; delivered 2, to retry 0, dead 0\n"  # the dossier's both
    assert received(sim, code) == (CODES[:1], CODES[:1])
    assert gateway(env, "outbox", "dead").stdout == ""
    assert gateway(env, "outbox", "redrive", "--all").stdout == "0 dead message(s) pending again\n"


def test_pause_stops_a_running_worker_at_its_next_pass_and_resume_lets_it_go_on(
    served: Served,
    pki: Pki,
    sim: SimulatedPortal,
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = served.gateway.dossiers.store
    sim.server.start()
    # The dossier's first message is held up at the portal while the operator pauses.
    sim.portal.inject(Fault(kind="delay", delay=3.0, times=1, service=p.DONG_BO_HO_SO))
    with worker(env, tmp_path) as running:
        [code] = dossiers(served, pki, 1, path=())
        wait_until(lambda: received(sim, code)[0] == CODES[:1], what="the first sync applied")
        for name, value in env.items():
            if name.startswith("GATEWAY_"):
                monkeypatch.setenv(name, value)
        assert main(["outbox", "pause"]) == 0  # in this process: quicker than the portal's answer
        assert capsys.readouterr().out == "delivery paused: workers see it at their next pass\n"
        wait_until(
            lambda: "delivery to the portal paused" in running.output(),
            what="the worker's next pass paused",
        )
        # That pass found the progress step due and sent nothing.
        [waiting] = undelivered(store)
        assert (waiting.change.kind, waiting.attempts) == ("progress", 0)
        assert received(sim, code) == (CODES[:1], [])

        resume = gateway(env, "outbox", "resume")
        assert resume.stdout == "delivery resumed: workers see it at their next pass\n"
        wait_until(lambda: not undelivered(store), what="the outbox delivered after resume")
        assert received(sim, code) == (CODES[:1], CODES[:1])
        assert "delivery to the portal resumed" in running.output()
        assert running.send(signal.SIGTERM) == 0, running.output()
