"""The hash chain: how an entry is linked to the one before it, and how a whole log is checked.

An entry is the event plus its sequence number, as canonical JSON (orjson, sorted keys, no
whitespace), and ``hash = sha256(prev_hash || json)`` in hex, where ``prev_hash`` is the hex hash
of the entry before (64 zeros for the first) as ASCII. The head (last sequence number and hash)
is kept apart from the entries, so removing entries from the end is seen too.

Invariant: changing, removing, inserting or reordering any stored entry, or cutting the log
short of its head, makes ``verify`` fail at that entry (or, when its stored hash was rewritten
to match, at the next one). Rewriting every entry from some point on *and* the head is not
detectable from inside the store: keep copies of the head elsewhere (``gateway audit verify``
prints it) and check the log still holds them (``check_anchor``, ``verify --anchor``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from gateway.audit.events import AuditEvent

GENESIS = "0" * 64
PAGE = 1000  # entries read at a time while verifying


def canonical(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


@dataclass(frozen=True)
class AuditHead:
    """The last entry's sequence number and hash (0 and ``GENESIS`` for an empty log)."""

    seq: int = 0
    hash: str = GENESIS


@dataclass(frozen=True)
class AuditEntry:
    """One stored entry: its place, its canonical JSON and its chain hash."""

    seq: int
    body: bytes
    hash: str

    def event(self) -> AuditEvent:
        return AuditEvent.from_dict(orjson.loads(self.body))


def link(head: AuditHead, event: AuditEvent) -> AuditEntry:
    """The entry that follows ``head``."""
    seq = head.seq + 1
    body = canonical({**event.as_dict(), "seq": seq})
    return AuditEntry(seq, body, chain_hash(head.hash, body))


@dataclass(frozen=True)
class AuditReport:
    """What ``verify`` found: how many entries hold together, the first broken one and why, and
    the end of the sound chain (the head to keep a copy of elsewhere)."""

    count: int
    ok: bool
    first_broken_seq: int | None = None
    reason: str | None = None
    head: AuditHead = AuditHead()


def _unreadable(entry: AuditEntry, expected: int) -> str | None:
    """Why ``entry`` cannot be the entry numbered ``expected``, judged by its content alone."""
    try:
        data = orjson.loads(entry.body)
        if not isinstance(data, dict):
            return f"entry {expected} is not a JSON object"
        AuditEvent.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        return f"entry {expected} is not a readable audit entry ({exc})"
    if canonical(data) != entry.body:
        return f"entry {expected} is not in canonical form (it was rewritten)"
    numbered = data.get("seq")
    if numbered != expected or entry.seq != expected:
        return (
            f"entry {expected} is missing or out of place: the entry stored there is numbered "
            f"{numbered}"
        )
    return None


# ``read(after_seq, limit)``: up to ``limit`` entries after ``after_seq``, in order.
ReadPage = Callable[[int, int], list[AuditEntry]]


def stored_bytes(value: object) -> bytes:
    """A column written as bytes, as a database returns it: bytes, or a view of them; one
    edited by hand may come back as text (or worse)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def entries_of(rows: Iterable[Sequence[Any]]) -> list[AuditEntry]:
    """Entries from stored rows of (seq, entry, hash)."""
    return [
        AuditEntry(int(seq), stored_bytes(entry), str(hash_hex)) for seq, entry, hash_hex in rows
    ]


def head_of(seq: object, hash_hex: object) -> AuditHead:
    """A head as stored; ``ValueError`` if it is not one."""
    if not isinstance(seq, int | str) or not isinstance(hash_hex, str) or len(hash_hex) != 64:
        raise ValueError(f"the audit head ({seq!r}, {hash_hex!r}) is unreadable")
    return AuditHead(int(seq), hash_hex)


def verify(
    read_head: Callable[[], AuditHead], read: ReadPage, *, start: AuditHead = AuditHead()
) -> AuditReport:
    """Walk the chain from the entry after ``start`` (the genesis, or a checkpoint retention
    left where it dropped the entries before it) to the last one stored, then check that it
    reaches the head (read before the walk; entries appended meanwhile chain on and are checked
    too). The entries up to ``start`` count as sound: the checkpoint's signature vouches for
    them (``gateway.audit.checkpoint``)."""
    try:
        head: AuditHead | None = read_head()
    except ValueError:
        head = None
    prev, checked = start.hash, start.seq
    hash_at_head = start.hash
    while page := read(checked, PAGE):
        for entry in page:
            expected = checked + 1
            reason = _unreadable(entry, expected)
            if reason is None and chain_hash(prev, entry.body) != entry.hash:
                reason = f"entry {expected} does not match its hash (changed after it was written)"
            if reason is not None:
                return AuditReport(checked, False, expected, reason, AuditHead(checked, prev))
            prev, checked = entry.hash, expected
            if head is not None and checked == head.seq:
                hash_at_head = entry.hash
    end = AuditHead(checked, prev)
    if head is None:
        return AuditReport(checked, False, None, "the head is unreadable", end)
    if head.seq == 0 and checked > 0:
        # A log has its head from its first entry on: a missing one was removed, which would
        # hide entries cut from the end (a false alarm only while the very first is appended).
        return AuditReport(checked, False, None, f"the head is missing ({checked} entries)", end)
    if checked < head.seq:
        reason = (
            f"entries {checked + 1} to {head.seq} are missing (the log ends at entry {checked}, "
            f"its head says {head.seq})"
        )
        return AuditReport(checked, False, checked + 1, reason, end)
    if hash_at_head != head.hash:
        reason = f"entry {head.seq} is not the one the head names (its hash differs)"
        return AuditReport(checked, False, head.seq, reason, end)
    return AuditReport(checked, True, head=end)


def check_anchor(report: AuditReport, anchor: AuditHead, read: ReadPage) -> AuditReport:
    """``report`` (of a sound chain), broken if the log no longer holds ``anchor``: a head an
    earlier ``verify`` printed and someone kept outside the store. A sound chain that reaches
    the anchor's hash at the anchor's place has every entry up to it unchanged; one that does
    not was rewritten from there or before, head included."""
    found = read(anchor.seq - 1, 1) if anchor.seq > 0 else []
    if anchor.seq == 0 or (found and found[0].hash == anchor.hash):
        return report
    reason = (
        f"entry {anchor.seq} is not the one a copy of an earlier head names: the log was "
        f"rewritten at or before entry {anchor.seq}"
    )
    return replace(report, ok=False, first_broken_seq=anchor.seq, reason=reason)
