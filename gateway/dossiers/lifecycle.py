"""The dossier lifecycle: its states and the moves between them, richer than the portal's.

The portal (DVCQG) knows ten statuses (``TrangThaiHoSo`` 1–10); the portal adapter maps each state
here to one of them through its configuration table. A move not listed here is refused with
``409 CONFLICT`` and the moves that the dossier's state allows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from gateway.errors import Conflict

Actor = Literal["gateway", "portal", "department"]


class State(StrEnum):
    RECEIVED = "received"  # signed, verified, routed to its department; not yet examined
    ACCEPTED = "accepted"  # the department took it in: complete and in order
    REFUSED = "refused"  # not taken in (incomplete, not VSS's), with the reason
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"  # waiting on documents from the applicant
    PAYMENT_REQUESTED = "payment_requested"  # waiting on a contribution or fee to be paid
    WITHDRAWN = "withdrawn"  # the applicant withdrew it through the portal
    STOPPED = "stopped"  # processing stopped (by law: the applicant died, a court case, ...)
    FINISHED = "finished"  # decided: the result exists
    RESULT_DELIVERED = "result_delivered"  # the result reached the applicant


# Who may make each move: departments examine and decide; the portal speaks for the applicant
# (withdrawal, supplements sent); the gateway itself only receives.
MOVES: dict[State, dict[State, frozenset[Actor]]] = {
    State.RECEIVED: {
        State.ACCEPTED: frozenset({"department"}),
        State.REFUSED: frozenset({"department"}),
        State.WITHDRAWN: frozenset({"portal"}),
    },
    State.ACCEPTED: {
        State.PROCESSING: frozenset({"department"}),
        State.STOPPED: frozenset({"department"}),
        State.WITHDRAWN: frozenset({"portal"}),
    },
    State.PROCESSING: {
        State.SUPPLEMENT_REQUESTED: frozenset({"department"}),
        State.PAYMENT_REQUESTED: frozenset({"department"}),
        State.FINISHED: frozenset({"department"}),
        State.STOPPED: frozenset({"department"}),
        State.WITHDRAWN: frozenset({"portal"}),
    },
    State.SUPPLEMENT_REQUESTED: {
        # The portal's move when the applicant's documents arrive; the department's when it goes
        # on without them.
        State.PROCESSING: frozenset({"department", "portal"}),
        State.STOPPED: frozenset({"department"}),
        State.WITHDRAWN: frozenset({"portal"}),
    },
    State.PAYMENT_REQUESTED: {
        State.PROCESSING: frozenset({"department"}),
        State.STOPPED: frozenset({"department"}),
        State.WITHDRAWN: frozenset({"portal"}),
    },
    State.FINISHED: {State.RESULT_DELIVERED: frozenset({"department"})},
    State.REFUSED: {},
    State.WITHDRAWN: {},
    State.STOPPED: {},
    State.RESULT_DELIVERED: {},
}

# States in which the dossier waits on its department (it is in the department's queue).
DEPARTMENT_WORK = frozenset({State.RECEIVED, State.ACCEPTED, State.PROCESSING})
# States after which nothing more happens.
FINAL = frozenset(state for state, moves in MOVES.items() if not moves)
# States in which the decision is made: the portal's on-time measure compares their time with
# the due date (NgayKetThucXuLy <= NgayHenTra).
DECIDED = frozenset({State.FINISHED, State.RESULT_DELIVERED, State.REFUSED})


def allowed_moves(state: State, actor: Actor) -> list[State]:
    """The states ``actor`` may move a dossier in ``state`` to, in a stable order."""
    return [to for to, actors in MOVES[state].items() if actor in actors]


def check_move(state: State, to: State, actor: Actor) -> None:
    """Raise ``Conflict`` (with the allowed moves) unless ``actor`` may move ``state`` → ``to``."""
    if actor in MOVES[state].get(to, frozenset()):
        return
    allowed = [str(s) for s in allowed_moves(state, actor)]
    raise Conflict(
        f"a dossier that is {state} cannot be moved to {to} by the {actor}; "
        f"allowed: {', '.join(allowed) or 'none'}",
        allowed=allowed,
    )
