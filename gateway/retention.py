"""Retention: what of the claims and the audit log is past the period its settings keep it, and
dropping it (``gateway retention``; docs/retention.md).

The claims' side is the store's (``Pruner``: whole monthly partitions on PostgreSQL, rows in
bounded batches on SQLite). The audit log's side is here, and keeps one invariant: no entry is
dropped unless the chain verifies (its checkpoint's signature included) and a checkpoint of the
head at the cut, signed with the gateway's key, is stored first; the log then verifies from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from gateway.audit.chain import AuditHead
from gateway.audit.checkpoint import sign_checkpoint, start_of, verify_log
from gateway.audit.ports import AuditLog
from gateway.config import Settings
from gateway.errors import ConfigError, Conflict
from gateway.trust.sign import SigningIdentity

ClaimKind = Literal["originals", "records", "receipts"]
# The order a run drops them in: an original goes while its receipt still says when it came, a
# record before the receipt it points to.
CLAIM_KINDS: tuple[ClaimKind, ...] = ("originals", "records", "receipts")
_PAGE = 1000  # audit entries read at a time while looking for the cut


@dataclass(frozen=True)
class Periods:
    """How long each kind of data is kept (None: forever)."""

    originals: timedelta | None = None
    records: timedelta | None = None
    receipts: timedelta | None = None
    audit: timedelta | None = None

    @classmethod
    def of_settings(cls, settings: Settings) -> Periods:
        def days(value: int | None) -> timedelta | None:
            return None if value is None else timedelta(days=value)

        return cls(
            originals=days(settings.retention_originals),
            records=days(settings.retention_records),
            receipts=days(settings.retention_receipts),
            audit=days(settings.retention_audit),
        )

    def cuts(self, now: datetime) -> dict[ClaimKind, datetime | None]:
        """Per kind of claim data, the time before which it is past its period."""
        periods = {"originals": self.originals, "records": self.records, "receipts": self.receipts}
        return {kind: None if (p := periods[kind]) is None else now - p for kind in CLAIM_KINDS}


@dataclass(frozen=True)
class Expired:
    """One thing past its period: its kind, what it is (a partition, rows, entries), its rows."""

    kind: str
    what: str
    rows: int


class Pruner(Protocol):
    """A claims store's side of retention: what is past, and dropping it."""

    def expired(self, cuts: dict[ClaimKind, datetime | None]) -> list[Expired]:
        """What ``drop`` would drop for ``cuts``, in the order it would."""

    def drop(self, cuts: dict[ClaimKind, datetime | None]) -> list[Expired]:
        """Drop what is past ``cuts`` (bounded transactions); what was dropped."""

    def close(self) -> None: ...


def audit_cut(log: AuditLog, before: datetime) -> AuditHead | None:
    """The last entry (after the latest checkpoint) written before ``before``: the head of the
    checkpoint to make; None if there is none. Entries are read oldest first up to the first one
    not past its period, so the scan covers what is to go and one entry more."""
    cut: AuditHead | None = None
    after = start_of(log.checkpoint()).seq
    while page := log.entries(after_seq=after, limit=_PAGE):
        for entry in page:
            if entry.event().at >= before:
                return cut
            cut = AuditHead(entry.seq, entry.hash)
        after = page[-1].seq
    return cut


def _audit_expired(log: AuditLog, cut: AuditHead) -> Expired:
    first = start_of(log.checkpoint()).seq + 1
    what = f"entries {first} to {cut.seq}, behind a signed checkpoint of entry {cut.seq}"
    return Expired("audit", what, cut.seq - first + 1)


def plan(periods: Periods, now: datetime, pruner: Pruner, log: AuditLog) -> list[Expired]:
    """What a run at ``now`` would drop; changes nothing."""
    found = pruner.expired(periods.cuts(now))
    cut = None if periods.audit is None else audit_cut(log, now - periods.audit)
    return found if cut is None else [*found, _audit_expired(log, cut)]


def apply(
    periods: Periods,
    now: datetime,
    pruner: Pruner,
    log: AuditLog,
    *,
    identity: SigningIdentity | None,
) -> list[Expired]:
    """Drop what is past its period at ``now``; what was dropped. The audit log is cut only if
    its chain verifies up to now (``Conflict`` otherwise, the claims' drop already done), with
    ``identity`` signing the checkpoint (required when the audit log has a period)."""
    dropped = pruner.drop(periods.cuts(now))
    cut = None if periods.audit is None else audit_cut(log, now - periods.audit)
    if cut is None:
        return dropped
    if identity is None:
        raise ConfigError("dropping audit entries needs the gateway's signing key")
    report = verify_log(log, identity.certificate)
    if not report.ok:
        raise Conflict(
            f"the audit chain is broken ({report.reason}): no audit entry dropped; "
            "run gateway audit verify"
        )
    expired = _audit_expired(log, cut)
    removed = log.drop_through(sign_checkpoint(cut, at=now, identity=identity))
    return [*dropped, Expired("audit", expired.what, removed)]
