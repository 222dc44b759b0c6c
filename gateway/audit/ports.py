"""The audit-log port: append-only, hash-chained storage of audit events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from gateway.audit.chain import AuditEntry, AuditHead, AuditReport
from gateway.audit.events import AuditEvent

if TYPE_CHECKING:
    from gateway.audit.checkpoint import Checkpoint


class AuditLog(Protocol):
    """Append-only: there is no way to change an entry through this port, and the only way to
    remove any is ``drop_through`` a signed checkpoint of the head at the cut (retention)."""

    def append(self, event: AuditEvent) -> AuditEntry:
        """Link ``event`` after the current head and return only once it is durable; concurrent
        appends, from threads or processes, form one chain."""

    def head(self) -> AuditHead:
        """The last entry's sequence number and hash, as the log records them."""

    def entries(self, after_seq: int = 0, limit: int = 100) -> list[AuditEntry]:
        """Up to ``limit`` entries numbered after ``after_seq``, oldest first, as stored."""

    def of_citizen(
        self, citizen: str, *, before_seq: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Up to ``limit`` entries whose event names ``citizen`` (a pseudonym), numbered before
        ``before_seq`` (None: the newest), newest first: the accesses to one citizen's data,
        found by an index."""

    def verify(self) -> AuditReport:
        """Check the chain against its head (``gateway.audit.chain.verify``), from the latest
        checkpoint on (its signature is checked by ``gateway.audit.checkpoint.verify_log``)."""

    def checkpoint(self) -> Checkpoint | None:
        """The latest checkpoint stored by ``drop_through``; None if nothing was ever dropped."""

    def drop_through(self, checkpoint: Checkpoint, *, batch: int = 1000) -> int:
        """Store ``checkpoint`` (its head an entry of this log), then remove the entries up to
        and including its seq, ``batch`` at a time; the number removed."""

    def close(self) -> None: ...
