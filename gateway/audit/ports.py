"""The audit-log port: append-only, hash-chained storage of audit events."""

from __future__ import annotations

from typing import Protocol

from gateway.audit.chain import AuditEntry, AuditHead, AuditReport
from gateway.audit.events import AuditEvent


class AuditLog(Protocol):
    """Append-only: there is no way to change or remove an entry through this port."""

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
        """Check the whole chain against its head (``gateway.audit.chain.verify``)."""

    def close(self) -> None: ...
