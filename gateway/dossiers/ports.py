"""The ports of the dossier flow: what it needs from a dossier format, its store and the portal.

The core (``gateway.dossiers``) knows these shapes only; the portal adapter (``adapters/portal``)
implements the format and the status sink, ``gateway.store`` the store, and the composition root
(``gateway.bootstrap``) wires them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from gateway.dossiers.lifecycle import Actor, State
from gateway.records.model import Subject
from gateway.sirecords.ports import GrantedBenefit
from gateway.store.ports import StoredReceipt
from gateway.trust.anchors import TrustAnchors
from gateway.trust.policy import SignaturePolicy
from gateway.trust.verify import SignerInfo
from gateway.xml.parser import XmlLimits
from gateway.xml.schemas import SchemaRegistry

# ---------------------------------------------------------------------------------------------
# The format: a signed VSS e-dossier (Hoso) in, a read dossier out.


@dataclass(frozen=True)
class Trust:
    """What verifying a dossier needs, at the moment it is received."""

    anchors: TrustAnchors
    policy: SignaturePolicy
    schemas: SchemaRegistry
    limits: XmlLimits
    at: datetime


ApplicantKind = Literal["citizen", "unit"]


@dataclass(frozen=True)
class Applicant:
    """Who the dossier is about and who signed it: a citizen (12-digit personal ID, ``CCCD``) or
    a unit (tax code, ``MST``), as the envelope signer's certificate names them."""

    kind: ApplicantKind
    id: str
    name: str


@dataclass(frozen=True)
class FormInfo:
    """One file of the dossier (``FileToKhai``): an XML form, verified, or an attachment."""

    code: str  # MaToKhai, e.g. TK1-TS
    file_name: str  # TenFile
    file_type: str  # LoaiFile, e.g. ".xml", ".pdf"
    sha256: str  # of the decoded file
    size: int  # of the decoded file, bytes
    signer: SignerInfo | None  # the form's own signature (XML forms); None for attachments


@dataclass(frozen=True)
class ReadDossier:
    """A dossier whose two signature levels, counts, lengths and forms were all verified and
    validated; the pipeline reads only this. ``procedure`` is the gateway's canonical code
    (SPEC section 3), already checked against the ``MaTTHC`` the portal sent."""

    procedure: str
    ma_thu_tuc: str  # the envelope's MaThuTuc, verbatim
    applicant: Applicant
    signer: SignerInfo  # the envelope's (CKy_Dvi)
    subject: Subject
    payload: dict[str, Any]
    forms: tuple[FormInfo, ...]


@dataclass(frozen=True)
class ReadDocuments:
    """Additional documents for an existing dossier, verified like a dossier's forms."""

    applicant: Applicant
    signer: SignerInfo
    forms: tuple[FormInfo, ...]
    payload: dict[str, Any]


class DossierFormat(Protocol):
    """The VSS electronic dossier: ``Hoso/NoiDung`` signed at ``Hoso/CKy_Dvi``, each XML form
    signed at its own ``Cky``."""

    name: str  # "VSS-EDOSSIER"
    version: str

    @property
    def schema_names(self) -> tuple[str, ...]:
        """Every XSD it validates with: loaded at startup."""

    def procedure_of(self, ma_tthc: str) -> str:
        """The canonical procedure of a DVCQG ``MaTTHC`` (or of a canonical code itself);
        raises ``RuleViolation`` for an unknown one."""

    def read(self, body: bytes, *, ma_tthc: str, trust: Trust) -> ReadDossier:
        """Verify, validate and normalize a whole dossier; raise the ``GatewayError`` of the
        first fault (nothing is partly accepted)."""

    def read_documents(self, body: bytes, *, dossier: Dossier, trust: Trust) -> ReadDocuments:
        """Verify additional documents (a ``Hoso`` envelope of the same procedure) for
        ``dossier``: signed by the same applicant; raise like ``read``."""

    def payload_schema(self) -> dict[str, Any]:
        """JSON Schema of the payload of dossier records."""


# ---------------------------------------------------------------------------------------------
# The store: dossiers, their history, their outbox and their department queue, in one
# transactional database.


@dataclass(frozen=True)
class HistoryEntry:
    """One status change: who, when, why, and what the move carried."""

    state: State
    at: datetime
    actor: Actor
    by: str  # partner id (department, portal) or "gateway"
    reason: str | None = None
    documents: tuple[str, ...] = ()  # supplement requested: the documents asked for
    due_date: date | None = None  # the due date (NgayHenTra) from this change on
    officer: str | None = None  # the officer who made the move (NguoiXuLy), when given


@dataclass(frozen=True)
class Dossier:
    """A dossier as stored: its identity, routing, state, due date and history."""

    id: str  # ULID, the gateway's
    partner_id: str  # the portal that submitted it
    ma_ho_so: str  # the portal's dossier code
    ma_tthc: str  # the portal's procedure code as sent
    procedure: str  # canonical procedure code
    department: str
    state: State
    received_at: datetime
    due_date: date  # NgayHenTra, Vietnam calendar date
    receipt_id: str
    record_id: str
    applicant: Applicant
    version: int  # bumped at every change; a change names the version it was decided on
    history: tuple[HistoryEntry, ...] = ()
    requested_documents: tuple[str, ...] = ()  # while supplement_requested
    supplement_due: date | None = None  # by when the applicant must send them
    finished_at: datetime | None = None  # when it reached a decided state
    reminded_at: datetime | None = None  # the last reminder of missing supplements


@dataclass(frozen=True)
class StatusChange:
    """What the portal must be told of one change; written to the outbox with the change."""

    dossier_id: str
    ma_ho_so: str
    kind: Literal["status", "progress"]  # DongBoHoSoMC / CapNhatTienDoHoSoMC
    body: dict[str, Any]  # the neutral facts (state, times, officer, documents...), JSON-able


@dataclass(frozen=True)
class OutboxMessage:
    """One message of the outbox: delivered in ``seq`` order within its dossier."""

    seq: int
    change: StatusChange
    idempotency_key: str
    attempts: int
    next_attempt_at: datetime
    status: Literal["pending", "delivered", "dead"]
    last_error: str | None = None


@dataclass(frozen=True)
class NewDossier:
    """Everything an accepted dossier writes, in one transaction: the dossier, its receipt,
    record and original, its first history entry, its outbox messages and its queue task."""

    dossier: Dossier
    receipt: StoredReceipt
    record_json: bytes
    original: bytes
    changes: tuple[StatusChange, ...]


@dataclass(frozen=True)
class NewDocuments:
    """Additional documents for a dossier: their receipt, record and original bytes."""

    receipt: StoredReceipt
    record_id: str  # what ``DossierStore.get_record`` finds ``record_json`` by
    record_json: bytes
    original: bytes


@dataclass(frozen=True)
class Claim:
    """A queue task handed to one worker until ``until`` (the visibility timeout) or its ack."""

    token: str
    dossier_id: str
    department: str
    worker: str
    until: datetime
    deliveries: int  # how many times this task was handed out (1 the first time)


@dataclass(frozen=True)
class Page:
    """A page of dossiers and the cursor of the next one (None: the last page)."""

    items: tuple[Dossier, ...]
    next_cursor: str | None = None


class DossierStore(Protocol):
    """Durable dossiers. Every write is one transaction, durable when the call returns; a state
    change and its outbox messages are written together or not at all."""

    def create(self, new: NewDossier) -> Dossier:
        """Store a new dossier; if this partner already has one with the same ``ma_ho_so`` or
        the same original SHA-256, store nothing and return that one."""

    def find(self, partner_id: str, *, ma_ho_so: str, sha256: str) -> Dossier | None:
        """The partner's dossier with this ``ma_ho_so`` or this original digest."""

    def get(self, dossier_id: str) -> Dossier | None: ...

    def get_receipt(self, receipt_id: str) -> StoredReceipt | None:
        """A dossier's receipt (``NewDossier.receipt``)."""

    def get_record(self, record_id: str) -> bytes | None:
        """The JSON of a dossier's common record, or of an additional documents' record."""

    def get_original(self, sha256: str) -> bytes | None:
        """The original signed bytes of a dossier or of additional documents."""

    def move(
        self,
        dossier_id: str,
        entry: HistoryEntry,
        *,
        version: int,
        changes: tuple[StatusChange, ...],
        requested_documents: tuple[str, ...] = (),
        supplement_due: date | None = None,
        benefit: GrantedBenefit | None = None,
    ) -> Dossier:
        """Apply one change decided on ``version``: history, state, due date, outbox, queue,
        and the ``benefit`` it grants added to the citizen's SI record (kept in the same
        database). Raises ``Conflict`` if the dossier changed since (the caller decides
        again)."""

    def add_documents(
        self,
        dossier_id: str,
        documents: NewDocuments,
        *,
        version: int,
        entry: HistoryEntry | None = None,
        changes: tuple[StatusChange, ...] = (),
    ) -> StoredReceipt:
        """Keep additional documents with the dossier (receipt, record, original) and, when
        ``entry`` is given, apply that change (decided on ``version``) in the same transaction.
        The same documents again (same SHA-256 for this dossier): store nothing and return
        their first receipt. Raises ``Conflict`` if the dossier changed since ``version``."""

    def search(
        self,
        *,
        state: State | None = None,
        department: str | None = None,
        late_at: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        """Dossiers by filter, oldest first; ``late_at``: only those late at that moment."""

    # The department queue: one task per dossier waiting on its department.
    def claim(
        self, department: str, *, worker: str, at: datetime, visibility: float
    ) -> Claim | None:
        """Hand the oldest available task to ``worker`` until ``at + visibility`` seconds;
        a task whose claim expired is available again. None when there is none."""

    def ack(self, token: str, *, at: datetime) -> bool:
        """Done with the task of this claim (if the claim is still held): it leaves the queue."""

    def queued(self, department: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """The department's routed, unfinished dossiers."""

    # Reminders of supplements not sent in time.
    def awaiting_supplement(self, *, overdue_on: date, reminded_before: datetime) -> list[Dossier]:
        """Dossiers in ``supplement_requested`` whose ``supplement_due`` is before
        ``overdue_on`` and that were not reminded since ``reminded_before``."""

    def remind(self, dossier_id: str, *, at: datetime, change: StatusChange) -> None:
        """Record a reminder at ``at`` and write its outbox message, in one transaction."""

    # The outbox, read by ``gateway worker``.
    def due_messages(self, *, at: datetime, limit: int) -> list[OutboxMessage]:
        """Pending messages whose time has come, each the first undelivered one of its dossier
        (a dossier's later messages wait for its earlier ones, dead ones included)."""

    def delivered(self, seq: int, *, at: datetime) -> None: ...

    def failed(self, seq: int, *, error: str, next_attempt_at: datetime | None) -> None:
        """Record a failed attempt; ``next_attempt_at`` None: the retry budget is spent (dead)."""

    def dead_letters(self, *, limit: int = 100) -> list[OutboxMessage]: ...

    def redrive(self, *, seq: int | None = None, at: datetime) -> int:
        """Make dead messages (one, or all) pending again, due at ``at``; how many."""

    # The kill switch of delivery, shared by every process on the store.
    def delivery_paused(self) -> bool: ...

    def pause_delivery(self, paused: bool) -> None: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------
# The portal: where status changes go.


@dataclass(frozen=True)
class Delivery:
    """The portal's answer to one message."""

    ok: bool
    error: str | None = None  # error_code and message, for the operator
    retry: bool = True  # False: the portal refused the message for good (it goes dead at once)


class StatusSink(Protocol):
    """Delivers one outbox message to the portal (DVCQG's sync services)."""

    def deliver(self, message: OutboxMessage, dossier: Dossier) -> Delivery:
        """Send it; transport failures are ``Delivery(ok=False)``, never exceptions."""
