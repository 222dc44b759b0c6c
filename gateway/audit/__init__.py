"""The tamper-evident audit log of reads of personal data (SPEC section 6), and of the legacy
login's lockouts and limits.

Why these fields (reference/IDENTITY.md sections 3.2, 3.3 and 6.3): Decree 13/2023/ND-CP asks
the controller to "record and keep a system log of the processing of personal data" (as two
compliance texts paraphrase it; Law 91/2025 replaces the Decree from 2026 and keeps the duty to
prove lawful processing), and HI claims are health data, a *sensitive* category. Every read of a
claim record, an original, a receipt or a list of signals is such processing. Each event says
who (the partner), what (action and target), when (the injected clock, RFC 3339 UTC), through
which channel and with which result (``ok``, ``not_found``, ``denied``): enough to answer a data
subject who asks who read their data (Art. 9), to list what a leaked credential read inside the
72 hours a breach notification allows (Art. 23), and for the periodic reviews of access logs to
important data that the security levels ask for (monthly to quarterly at levels 4-5). Nothing
offers to change or delete an entry: retention (``gateway retention``, docs/retention.md) drops
entries past their period only behind a signed checkpoint of the head at the cut, from which the
chain still verifies. The log holds no personal identifier in clear (section 6.3: "never log raw
personal data"): card numbers are masked as in the ordinary logs.

The legacy login (``gateway.legacy``) records when it starts refusing logins: ``login.locked``
(a username from one source address, after too many failures) and ``login.limited`` (one source
address, or all of them, over its limit), who being ``NOBODY`` and the target naming the username
and source address (``login_target``). Only the start of each refusal is written, so that a flood
of refused attempts writes a bounded number of events.

    events.py    AuditEvent, Action, Result, targets (masked)
    chain.py     canonical JSON, sha256(prev_hash || json), verify
    ports.py     the AuditLog port (append, head, entries, verify; no update; drop_through
                 a signed checkpoint only)
    checkpoint.py  signed checkpoints of the head where retention cut the log
    auditor.py   Auditor.reading: the one way entrypoints audit a read; Auditor.refusing
    sqlite.py    SqliteAuditLog (tables in the store's database)
    redis.py     RedisAuditLog (a list and a head key, optimistic transactions)
    postgres.py  PostgresAuditLog (tables of the store of record, an advisory lock per append)

Only the composition root imports ``sqlite``, ``redis`` and ``postgres``.
"""

from gateway.audit.auditor import Auditor
from gateway.audit.chain import AuditEntry, AuditHead, AuditReport
from gateway.audit.events import (
    NOBODY,
    Action,
    AuditEvent,
    Result,
    card_target,
    citizen_target,
    login_target,
    target,
)
from gateway.audit.ports import AuditLog

__all__ = [
    "NOBODY",
    "Action",
    "AuditEntry",
    "AuditEvent",
    "AuditHead",
    "AuditLog",
    "AuditReport",
    "Auditor",
    "Result",
    "card_target",
    "citizen_target",
    "login_target",
    "target",
]
