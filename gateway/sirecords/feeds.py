"""What the claim and dossier flows add to the SI records: a treatment per accepted claim record,
a benefit per benefit dossier that is finished.

Treatments are written after the claim store's commit (the claim store may be Redis or another
file than the SI records'), idempotent by record id: a failure is logged with the record ids and
does not change the partner's answer, since the claims are stored. Benefits are written by the
dossier store in the transaction of the move that finishes the dossier (``DossierStore.move``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol

from gateway.errors import GatewayError
from gateway.records.model import CommonRecord
from gateway.sirecords.model import Benefit
from gateway.sirecords.ports import ClaimedTreatment, SiRecordStore

log = logging.getLogger(__name__)

# Procedures whose finished dossier grants a benefit (SPEC section 3, the benefits department).
BENEFIT_PREFIX = "BENEFIT_"

TreatmentOf = Callable[[CommonRecord], ClaimedTreatment | None]


class ClaimFeed(Protocol):
    """Told of the records of every accepted claim, once they are stored."""

    def accepted(self, records: Sequence[CommonRecord]) -> None: ...


class TreatmentFeed:
    """Adds the treatments of accepted claim records to the SI records; ``treatment_of`` is
    the claim format's reading of a record (None: not a treatment)."""

    def __init__(self, store: SiRecordStore, treatment_of: TreatmentOf) -> None:
        self._store = store
        self._treatment_of = treatment_of

    def accepted(self, records: Sequence[CommonRecord]) -> None:
        claimed = [found for r in records if (found := self._treatment_of(r)) is not None]
        try:
            self._store.record_treatments(claimed)
        except GatewayError:
            log.exception(
                "the SI records did not take the treatments of records %s; the claims are stored",
                ", ".join(r.id for r in records),
            )


class NoTreatmentFeed:
    """Where no SI records are kept: claims add nothing."""

    def accepted(self, records: Sequence[CommonRecord]) -> None:
        return None


def benefit_of(
    *, dossier_id: str, ma_ho_so: str, procedure: str, decided_on: date
) -> Benefit | None:
    """The benefit a finished dossier grants, if its procedure is a benefit's."""
    if not procedure.startswith(BENEFIT_PREFIX):
        return None
    return Benefit(
        dossier_id=dossier_id, ma_ho_so=ma_ho_so, procedure=procedure, decided_on=decided_on
    )
