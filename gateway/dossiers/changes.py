"""What the portal is told of a dossier's change, in the gateway's own neutral terms.

Each change of state writes two outbox messages in the transaction of the change: ``status`` (the
whole dossier as it now stands, which DVCQG's ``DongBoHoSoMC`` takes) and ``progress`` (the step
just made, for ``CapNhatTienDoHoSoMC``). The portal adapter turns these facts into DVCQG's
vocabulary (``TrangThaiHoSo``, ``yyyyMMddHHmmss`` in Vietnam time) when it delivers them, so the
outbox keeps what happened, not one partner's spelling of it.
"""

from __future__ import annotations

from typing import Any

from gateway.dossiers.lifecycle import DECIDED, State
from gateway.dossiers.ports import Dossier, HistoryEntry, StatusChange


def _step(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "state": str(entry.state),
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "by": entry.by,
        "officer": entry.officer,
        "reason": entry.reason,
        "documents": list(entry.documents),
        "due_date": entry.due_date.isoformat() if entry.due_date else None,
    }


def changes(
    before: Dossier | None, after: Dossier, entry: HistoryEntry
) -> tuple[StatusChange, ...]:
    """The messages of one change: ``before`` is the dossier as it was (None for a new one),
    ``after`` as the change leaves it."""
    status = {
        "state": str(after.state),
        "procedure": after.procedure,
        "ma_tthc": after.ma_tthc,
        "applicant": {
            "kind": after.applicant.kind,
            "id": after.applicant.id,
            "name": after.applicant.name,
        },
        "department": after.department,
        "received_at": after.received_at.isoformat(),
        "due_date": after.due_date.isoformat(),
        "previous_due_date": (
            before.due_date.isoformat() if before and before.due_date != after.due_date else None
        ),
        "finished_at": after.finished_at.isoformat() if after.finished_at else None,
        "requested_documents": list(after.requested_documents),
        "supplement_due": after.supplement_due.isoformat() if after.supplement_due else None,
        "step": _step(entry),
    }
    return (
        StatusChange(after.id, after.ma_ho_so, "status", status),
        StatusChange(after.id, after.ma_ho_so, "progress", _step(entry)),
    )


def reminder(dossier: Dossier, entry: HistoryEntry) -> StatusChange:
    """A progress step reminding the applicant of the documents still missing (``entry`` says
    when, and by whom: the gateway)."""
    step = _step(entry)
    step["state"] = str(State.SUPPLEMENT_REQUESTED)
    step["reminder"] = True
    step["documents"] = list(dossier.requested_documents)
    step["due_date"] = dossier.supplement_due.isoformat() if dossier.supplement_due else None
    return StatusChange(dossier.id, dossier.ma_ho_so, "progress", step)


def decided(state: State) -> bool:
    """Whether reaching ``state`` sets the dossier's ``finished_at``."""
    return state in DECIDED
