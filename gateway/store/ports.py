"""The store port: what the pipeline and the API need from durable storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredReceipt:
    """A receipt as stored: its JSON form and the gateway-signed XML form."""

    id: str
    partner_id: str
    sha256: str
    accepted: bool
    json: bytes
    xml: bytes


@dataclass(frozen=True)
class StoredRecord:
    """A common record as stored (its JSON), with its owner for access checks."""

    id: str
    receipt_id: str
    partner_id: str
    json: bytes


@dataclass(frozen=True)
class IndexEntry:
    """One value appended to a named, append-only list (a visit index, a signal list): the
    store keeps each list in the order it was written and never rewrites it."""

    name: str
    value: bytes


@dataclass(frozen=True)
class IndexRead:
    """What judging a submission read of one index list: the list held at most ``length``
    values then. Lists only grow, so what was read still holds while the list holds no more."""

    name: str
    length: int


class IndexChanged(Exception):
    """Raised by ``save_accepted`` when an index list that the submission was judged against
    has grown since it was read: nothing was stored; judge the submission again. Another
    worker's submission about the same visit or card won the race; the pipeline catches this,
    a partner never sees it."""

    def __init__(self, name: str) -> None:
        super().__init__(f"index list {name!r} changed after it was read")
        self.name = name


@dataclass(frozen=True)
class Submission:
    """Everything one accepted submission writes, in one atomic, durable step, and the index
    lists its judgement read (``read``): it is stored only if none of them has grown since."""

    receipt: StoredReceipt
    records: tuple[StoredRecord, ...]
    original: bytes
    index: tuple[IndexEntry, ...] = ()
    read: tuple[IndexRead, ...] = ()


class IndexReader(Protocol):
    """Reads the append-only lists that accepted submissions wrote."""

    def entries(self, name: str, *, start: int = 0, limit: int | None = None) -> list[bytes]:
        """The values of list ``name`` from position ``start`` (0 = oldest), at most ``limit``
        of them (all when None), oldest first; empty if there is none."""


class Store(Protocol):
    """Durable storage. Every ``save_*`` returns only once its data is durable."""

    def find_accepted(self, partner_id: str, sha256: str) -> StoredReceipt | None:
        """The receipt of an accepted submission of exactly these bytes by this partner."""

    def save_accepted(self, submission: Submission) -> StoredReceipt:
        """Store all of it or nothing; if the same bytes were accepted meanwhile, return that
        receipt instead and store nothing; else if a list of ``submission.read`` holds more
        than its length, raise ``IndexChanged`` and store nothing."""

    def save_rejection(self, receipt: StoredReceipt) -> None:
        """Store the receipt of a rejected submission (no record, no original)."""

    def get_receipt(self, receipt_id: str) -> StoredReceipt | None: ...

    def get_record(self, record_id: str) -> StoredRecord | None: ...

    def get_original(self, sha256: str) -> bytes | None: ...

    def entries(self, name: str, *, start: int = 0, limit: int | None = None) -> list[bytes]:
        """Values of index list ``name`` from ``start``, at most ``limit``, oldest first."""

    def ping(self) -> None:
        """Raise ``Unavailable`` unless the store answers."""

    def close(self) -> None: ...
