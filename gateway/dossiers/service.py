"""Dossiers: submission, added documents, lifecycle moves, and reads, one function each.

Invariant: a receipt of status ``received`` is returned only after the store durably holds the
dossier, its receipt, record and original bytes, its first history entry, its outbox messages and
its queue task, all in one transaction; a dossier refused for any reason stores nothing. The same
dossier again from the same portal (same bytes, or same ``MaHoSo``) returns the original receipt,
marked duplicate. Every state change is decided on the version it read and written with its
outbox messages in one transaction; a change that lost a race is decided again on the new state.
A partner sees only the dossiers it may act on (the portal that sent them, the departments they
are routed to); any other id is "not found", so that ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from ulid import ULID

from gateway.audit import Action, Auditor, target
from gateway.dossiers.calendar import WorkingCalendar, vietnam_date
from gateway.dossiers.changes import changes, decided
from gateway.dossiers.lifecycle import DECIDED, FINAL, Actor, State, check_move
from gateway.dossiers.ports import (
    Claim,
    Dossier,
    DossierFormat,
    DossierStore,
    HistoryEntry,
    NewDocuments,
    NewDossier,
    Page,
    ReadDossier,
    StatusChange,
    Trust,
)
from gateway.dossiers.routing import Routing
from gateway.errors import Conflict, Forbidden, Issue, NotFound, RuleViolation, XmlMalformed
from gateway.identity.population import CITIZEN_ID, Inquiry, Person, PopulationRegistry, masked
from gateway.partners import Partner, require_service
from gateway.pipeline.deps import FlowDeps
from gateway.receipts import DossierReceipt, signed_dossier_xml
from gateway.records.model import (
    Channel,
    CommonRecord,
    Original,
    SignatureBlock,
    Source,
    Subject,
)
from gateway.records.model import Routing as RecordRouting
from gateway.sirecords.feeds import benefit_of
from gateway.sirecords.ports import GrantedBenefit
from gateway.store.ports import StoredReceipt
from gateway.trust.verify import SignerInfo

# The portal's dossier code: the receiving agency's electronic identifier (``G24``,
# ``000.00.01.H22``), the date it was received (yyMMdd) and a five-digit number.
MA_HO_SO = r"^[A-Z0-9]{1,12}(\.[A-Z0-9]{1,12}){0,5}-[0-9]{6}-[0-9]{5}$"
# A DVCQG procedure code (``1.009101``) or the gateway's canonical code.
MA_TTHC = r"^[A-Za-z0-9._-]{1,64}$"
# How many times a change that lost a race with another change is decided again.
DECISIONS = 5
# Bounds of a queue claim's visibility timeout, in seconds.
MIN_VISIBILITY, MAX_VISIBILITY = 1.0, 3600.0
# How far ahead a date that a move names may be: a supplement deadline and a new due date are
# weeks away, and a far one would have the working calendar count holidays for every year to it.
FURTHEST = timedelta(days=366)
# The longest name of a document a supplement request asks for (DVCQG's TenGiayTo takes 2000).
MAX_DOCUMENT_NAME = 500


@dataclass(frozen=True)
class DossierDeps(FlowDeps):
    """The ports and policies of the dossier flow; built once by the composition root."""

    store: DossierStore
    format: DossierFormat
    routing: Routing
    calendar: WorkingCalendar
    audit: Auditor
    # The national population database; None (GATEWAY_POPULATION_URL unset): nobody is checked.
    # Not a null registry: one that answered "matched" for everyone would be a lie to reuse.
    population: PopulationRegistry | None = None

    def trust(self, at: datetime) -> Trust:
        return Trust(self.anchors, self.policy, self.schemas, self.limits, at)


@dataclass(frozen=True)
class Submitted:
    """What a submission (or added documents) answers: the receipt, the first one if this is a
    duplicate, and the dossier as it now stands."""

    receipt: DossierReceipt
    stored: StoredReceipt
    dossier: Dossier
    duplicate: bool


class Move(BaseModel):
    """A lifecycle move asked for by a department (or, for a withdrawal, the portal)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: State
    reason: str | None = Field(
        default=None, max_length=2000, description="why (required to refuse or stop)"
    )
    documents: list[Annotated[str, Field(max_length=MAX_DOCUMENT_NAME)]] = Field(
        default_factory=list,
        max_length=100,
        description="supplement_requested: the documents the applicant must send",
    )
    due_date: date | None = Field(
        default=None,
        description="supplement_requested: the new due date (NgayHenTra), today to 366 days "
        "ahead; by default the procedure's time limit counted again from the supplement's "
        "deadline",
    )
    supplement_due: date | None = Field(
        default=None,
        description="supplement_requested: by when the applicant must send them, today to "
        "366 days ahead; by default the routing file's supplement_working_days from today",
    )
    officer: str | None = Field(
        default=None, max_length=200, description="who made the move (NguoiXuLy)"
    )


@dataclass(frozen=True)
class Claimed:
    """A queue task handed to a worker, with its dossier."""

    claim: Claim
    dossier: Dossier


# --------------------------------------------------------------------------------------------
# Submission


def submit(
    body: bytes,
    *,
    partner: Partner,
    channel: Channel,
    ma_ho_so: str,
    ma_tthc: str,
    deps: DossierDeps,
) -> Submitted:
    """Verify, route and store a signed dossier from a portal; answer its receipt."""
    _require_portal(partner, "dossiers.submit")
    _check_codes(ma_ho_so, ma_tthc)
    sha256 = hashlib.sha256(body).hexdigest()
    existing = deps.store.find(partner.id, ma_ho_so=ma_ho_so, sha256=sha256)
    if existing is not None:
        return _duplicate(existing, deps)
    received_at = deps.clock.now()
    with deps.metrics.step("dossier.read"):
        read = deps.format.read(body, ma_tthc=ma_tthc, trust=deps.trust(received_at))
    route = deps.routing.route(read.procedure)
    due = deps.calendar.due_date(received_at, route.working_days)
    _check_persons(read, ma_tthc=ma_tthc, deps=deps)
    entry = HistoryEntry(State.RECEIVED, received_at, "gateway", "gateway", due_date=due)
    dossier = Dossier(
        id=str(ULID()),
        partner_id=partner.id,
        ma_ho_so=ma_ho_so,
        ma_tthc=ma_tthc,
        procedure=read.procedure,
        department=route.department,
        state=State.RECEIVED,
        received_at=received_at,
        due_date=due,
        receipt_id=str(ULID()),
        record_id=str(ULID()),
        applicant=read.applicant,
        version=1,
        history=(entry,),
    )
    receipt = _receipt(
        dossier,
        body,
        sha256,
        receipt_id=dossier.receipt_id,
        at=received_at,
        channel=channel,
        deps=deps,
    )
    record = _record(
        dossier.record_id,
        receipt,
        read.signer,
        read.subject,
        read.payload,
        channel=channel,
        deps=deps,
    )
    stored = _stored(receipt, deps)
    with deps.metrics.step("dossier.store"):
        created = deps.store.create(
            NewDossier(
                dossier=dossier,
                receipt=stored,
                record_json=record,
                original=body,
                changes=changes(None, dossier, entry),
            )
        )
    if created.id != dossier.id:  # the same dossier was stored meanwhile by a concurrent call
        return _duplicate(created, deps)
    deps.metrics.result("DOSSIER_RECEIVED")
    return Submitted(receipt, stored, created, duplicate=False)


def _require_portal(partner: Partner, service: str) -> None:
    require_service(partner, service)
    if partner.kind != "portal":
        raise Forbidden(f"only a portal submits dossiers and their documents; {partner.id} is not")


def _check_codes(ma_ho_so: str, ma_tthc: str) -> None:
    if re.fullmatch(MA_HO_SO, ma_ho_so) is None or not _valid_day(ma_ho_so.split("-")[-2]):
        raise XmlMalformed(
            f"MaHoSo {ma_ho_so[:64]!r} is not {{agency id}}-{{yyMMdd}}-{{NNNNN}}",
            issues=[Issue(message="not a dossier code of the portal", path="MaHoSo")],
        )
    if re.fullmatch(MA_TTHC, ma_tthc) is None:
        raise XmlMalformed(
            "MaTTHC is not a procedure code",
            issues=[Issue(message="not a procedure code", path="MaTTHC")],
        )


def _valid_day(yymmdd: str) -> bool:
    try:
        datetime.strptime(yymmdd, "%y%m%d")  # a calendar date, no instant
    except ValueError:
        return False
    return True


def _persons(read: ReadDossier) -> list[tuple[Person, str]]:
    """Who a dossier names by personal ID, and where in its record: the person its form is
    about, and the citizen who filed it when that is someone else (known by their
    certificate's name only)."""
    persons = []
    subject, applicant = read.subject, read.applicant
    if subject.citizen_id and CITIZEN_ID.fullmatch(subject.citizen_id) and subject.full_name:
        person = Person(subject.citizen_id, subject.full_name, subject.date_of_birth)
        persons.append((person, "subject.citizen_id"))
    if applicant.kind == "citizen" and applicant.id != subject.citizen_id:
        persons.append((Person(applicant.id, applicant.name), "applicant.id"))
    return persons


def _check_persons(read: ReadDossier, *, ma_tthc: str, deps: DossierDeps) -> None:
    """Every person the dossier names is who the population database says (``RuleViolation``
    otherwise); the database not answering is ``Unavailable``, before anything is stored."""
    if deps.population is None:
        return
    for person, path in _persons(read):
        with deps.metrics.step("dossier.population"):
            verdict = deps.population.verify(person, inquiry=Inquiry(service=ma_tthc))
        if not verdict.matched:
            raise _violation(
                f"the name or birth given for personal ID {masked(person.citizen_id)} is not "
                "what the national population database holds",
                rule="DOSSIER.PERSON_MISMATCH",
                path=path,
            )


def _duplicate(dossier: Dossier, deps: DossierDeps) -> Submitted:
    stored = deps.store.get_receipt(dossier.receipt_id)
    if stored is None:  # the store holds a dossier's receipt in the dossier's transaction
        raise RuntimeError(f"dossier {dossier.id} has no receipt {dossier.receipt_id}")
    deps.metrics.result("DUPLICATE")
    return Submitted(
        DossierReceipt.model_validate_json(stored.json), stored, dossier, duplicate=True
    )


def _receipt(
    dossier: Dossier,
    body: bytes,
    sha256: str,
    *,
    receipt_id: str,
    at: datetime,
    channel: Channel,
    deps: DossierDeps,
    kind: Literal["dossier", "documents"] = "dossier",
) -> DossierReceipt:
    """The receipt of ``body``, received ``at``: the dossier itself or documents added to it."""
    return DossierReceipt(
        id=receipt_id,
        partner_id=dossier.partner_id,
        channel=channel,
        received_at=at,
        sha256=sha256,
        size=len(body),
        format=f"{deps.format.name}/{deps.format.version}",
        kind=kind,
        dossier_id=dossier.id,
        ma_ho_so=dossier.ma_ho_so,
        procedure=dossier.procedure,
        department=dossier.department,
        due_date=dossier.due_date,
    )


def _record(
    record_id: str,
    receipt: DossierReceipt,
    signer: SignerInfo,
    subject: Subject,
    payload: dict[str, object],
    *,
    channel: Channel,
    deps: DossierDeps,
) -> bytes:
    record = CommonRecord(
        id=record_id,
        kind="dossier",
        source=Source(partner_id=receipt.partner_id, channel=channel),
        received_at=receipt.received_at,
        signature=SignatureBlock.model_validate(signer, from_attributes=True),
        original=Original(
            format=deps.format.name,
            version=deps.format.version,
            sha256=receipt.sha256,
            size=receipt.size,
            receipt_id=receipt.id,
            item=receipt.ma_ho_so,
        ),
        subject=subject,
        payload=payload,
        routing=RecordRouting(department=receipt.department),
    )
    return orjson.dumps(record.model_dump(mode="json"))


def _stored(receipt: DossierReceipt, deps: DossierDeps) -> StoredReceipt:
    with deps.metrics.step("receipt"):
        xml = signed_dossier_xml(receipt, deps.identity)
    return receipt.stored(xml, accepted=True)


# --------------------------------------------------------------------------------------------
# Added documents


def add_documents(
    dossier_id: str, body: bytes, *, partner: Partner, channel: Channel, deps: DossierDeps
) -> Submitted:
    """Verify and keep documents the portal adds to its dossier; a dossier waiting on
    supplements goes back to processing in the same transaction."""
    _require_portal(partner, "dossiers.submit")
    dossier = _visible(deps.store.get(dossier_id), partner, dossier_id)
    if dossier.state in FINAL:
        raise Conflict(f"dossier {dossier_id} is {dossier.state}: it takes no more documents")
    received_at = deps.clock.now()
    with deps.metrics.step("dossier.read"):
        read = deps.format.read_documents(body, dossier=dossier, trust=deps.trust(received_at))
    sha256 = hashlib.sha256(body).hexdigest()
    receipt = _receipt(
        dossier,
        body,
        sha256,
        receipt_id=str(ULID()),
        at=received_at,
        channel=channel,
        deps=deps,
        kind="documents",
    )
    record_id = str(ULID())
    record = _record(
        record_id,
        receipt,
        read.signer,
        _subject_of(dossier, deps),
        read.payload,
        channel=channel,
        deps=deps,
    )
    stored = _stored(receipt, deps)
    documents = NewDocuments(receipt=stored, record_id=record_id, record_json=record, original=body)
    forms = tuple(form.code for form in read.forms)
    for _ in range(DECISIONS):
        entry = None
        found: tuple[StatusChange, ...] = ()
        if dossier.state == State.SUPPLEMENT_REQUESTED:
            # The applicant's supplements arrived: the portal's move back to processing.
            entry = HistoryEntry(
                State.PROCESSING,
                received_at,
                "portal",
                partner.id,
                reason="supplements received",
                documents=forms,
                due_date=dossier.due_date,
            )
            found = changes(dossier, _after(dossier, entry), entry)
        try:
            with deps.metrics.step("dossier.store"):
                kept = deps.store.add_documents(
                    dossier.id,
                    documents,
                    version=dossier.version,
                    entry=entry,
                    changes=found,
                )
        except Conflict:
            dossier = _visible(deps.store.get(dossier_id), partner, dossier_id)
            continue
        now = deps.store.get(dossier.id) or dossier
        if kept.id != stored.id:  # these documents were kept before
            first = DossierReceipt.model_validate_json(kept.json)
            return Submitted(first, kept, now, duplicate=True)
        return Submitted(receipt, stored, now, duplicate=False)
    raise _busy(dossier_id)


def _subject_of(dossier: Dossier, deps: DossierDeps) -> Subject:
    """The subject of the dossier's own record: added documents are about the same person."""
    record = deps.store.get_record(dossier.record_id)
    if record is None:
        return Subject()
    return Subject.model_validate(orjson.loads(record)["subject"])


def _busy(dossier_id: str) -> Conflict:
    return Conflict(f"dossier {dossier_id} kept changing while this change was decided; try again")


def _after(
    dossier: Dossier,
    entry: HistoryEntry,
    *,
    requested: tuple[str, ...] = (),
    supplement_due: date | None = None,
) -> Dossier:
    """The dossier as ``entry`` leaves it."""
    return replace(
        dossier,
        state=entry.state,
        due_date=entry.due_date or dossier.due_date,
        version=dossier.version + 1,
        history=(*dossier.history, entry),
        requested_documents=requested,
        supplement_due=supplement_due,
        finished_at=entry.at if decided(entry.state) else dossier.finished_at,
    )


# --------------------------------------------------------------------------------------------
# Lifecycle moves


def transition(dossier_id: str, move: Move, *, partner: Partner, deps: DossierDeps) -> Dossier:
    """Move a dossier through its lifecycle: a department for the dossiers of its departments,
    the portal (withdrawal) for its own."""
    require_service(partner, "dossiers.transition")
    actor = _actor(partner)
    for _ in range(DECISIONS):
        dossier = _visible(deps.store.get(dossier_id), partner, dossier_id)
        check_move(dossier.state, move.to, actor)
        at = deps.clock.now()
        entry, requested, supplement_due = _decide(
            dossier, move, actor=actor, by=partner.id, at=at, deps=deps
        )
        after = _after(dossier, entry, requested=requested, supplement_due=supplement_due)
        try:
            with deps.metrics.step("dossier.store"):
                return deps.store.move(
                    dossier.id,
                    entry,
                    version=dossier.version,
                    changes=changes(dossier, after, entry),
                    requested_documents=requested,
                    supplement_due=supplement_due,
                    benefit=_benefit(dossier, entry, deps),
                )
        except Conflict:
            continue  # another change came first: decide again on the dossier as it now is
    raise _busy(dossier_id)


def _benefit(dossier: Dossier, entry: HistoryEntry, deps: DossierDeps) -> GrantedBenefit | None:
    """The benefit a move to finished grants: to the citizen who applied, or (a unit's
    dossier) the citizen the dossier is about."""
    if entry.state != State.FINISHED:
        return None
    granted = benefit_of(
        dossier_id=dossier.id,
        ma_ho_so=dossier.ma_ho_so,
        procedure=dossier.procedure,
        decided_on=vietnam_date(entry.at),
    )
    if granted is None:
        return None
    citizen = _citizen_of(dossier, deps)
    return None if citizen is None else GrantedBenefit(citizen, granted)


def _citizen_of(dossier: Dossier, deps: DossierDeps) -> str | None:
    """The citizen a dossier is about: the citizen who applied, or (a unit's dossier) the
    citizen its record names. One only: a citizen's dossier about someone else (a survivor's
    claim) is attributed to the applicant."""
    if dossier.applicant.kind == "citizen":
        return dossier.applicant.id
    return _subject_of(dossier, deps).citizen_id


def _actor(partner: Partner) -> Actor:
    if partner.kind == "department":
        return "department"
    if partner.kind == "portal":
        return "portal"
    raise Forbidden(f"{partner.id} is neither a department nor a portal: it moves no dossier")


def _violation(message: str, *, rule: str, path: str) -> RuleViolation:
    return RuleViolation(message, issues=[Issue(message=message, rule=rule, path=path)])


def _check_ahead(name: str, value: date, *, today: date) -> None:
    """A date a move names is from today on, and within ``FURTHEST`` of it."""
    if value < today:
        raise _violation(f"{name} {value} is in the past", rule="DOSSIER.DATE_PAST", path=name)
    if value > today + FURTHEST:
        raise _violation(
            f"{name} {value} is more than {FURTHEST.days} days ahead",
            rule="DOSSIER.DATE_RANGE",
            path=name,
        )


def _decide(
    dossier: Dossier, move: Move, *, actor: Actor, by: str, at: datetime, deps: DossierDeps
) -> tuple[HistoryEntry, tuple[str, ...], date | None]:
    """The history entry of ``move``, the documents it requests and by when."""
    today = vietnam_date(at)
    asking = move.to == State.SUPPLEMENT_REQUESTED
    if not asking and (move.documents or move.due_date or move.supplement_due):
        raise _violation(
            "documents, due_date and supplement_due go with supplement_requested only",
            rule="DOSSIER.MOVE_FIELDS",
            path="to",
        )
    if move.to in (State.REFUSED, State.STOPPED) and not (move.reason or "").strip():
        raise _violation(
            f"a dossier is {move.to} only with the reason", rule="DOSSIER.REASON", path="reason"
        )
    due: date | None = None
    requested: tuple[str, ...] = ()
    supplement_due: date | None = None
    if asking:
        requested = tuple(d.strip() for d in move.documents if d.strip())
        if not requested:
            raise _violation(
                "a supplement request names the documents it asks for",
                rule="DOSSIER.SUPPLEMENT_DOCUMENTS",
                path="documents",
            )
        table = deps.routing.table()
        supplement_due = move.supplement_due or deps.calendar.add_working_days(
            today, table.supplement_working_days
        )
        _check_ahead("supplement_due", supplement_due, today=today)
        # The procedure's whole time limit again, from the day the supplements are due.
        due = move.due_date or deps.calendar.add_working_days(
            supplement_due, table.route(dossier.procedure).working_days
        )
        _check_ahead("due_date", due, today=today)
        if due < supplement_due:
            raise _violation(
                "the new due date comes before the supplements are due",
                rule="DOSSIER.DUE_BEFORE_SUPPLEMENT",
                path="due_date",
            )
    entry = HistoryEntry(
        move.to,
        at,
        actor,
        by,
        reason=move.reason,
        documents=requested,
        due_date=due,
        officer=move.officer,
    )
    return entry, requested, supplement_due


# --------------------------------------------------------------------------------------------
# Reads: a dossier, pages of dossiers, a department's queue and its tasks


def _visible(dossier: Dossier | None, partner: Partner, dossier_id: str) -> Dossier:
    """``dossier`` if ``partner`` may see it: the portal that sent it, a department it is
    routed to. Otherwise "not found", as for an unknown id."""
    if dossier is not None and (
        (partner.kind == "portal" and dossier.partner_id == partner.id)
        or (partner.kind == "department" and dossier.department in partner.departments)
    ):
        return dossier
    raise NotFound(f"no dossier {dossier_id}")


def view(
    dossier_id: str, *, partner: Partner, deps: DossierDeps, channel: Channel = "rest"
) -> Dossier:
    """One dossier with its full history; the read names the dossier's citizen
    (``_citizen_of``), so that it is among their accesses."""
    what = target("dossier", dossier_id)
    with deps.audit.reading(partner, channel, Action.DOSSIER_READ, what) as access:
        require_service(partner, "dossiers.read")
        dossier = _visible(deps.store.get(dossier_id), partner, dossier_id)
        access.concerns(_citizen_of(dossier, deps))
    return dossier


def is_late(dossier: Dossier, *, at: datetime) -> bool:
    """As the portal measures it: decided after its due date, or not decided and past it."""
    if dossier.state in DECIDED:
        return (
            dossier.finished_at is not None and vietnam_date(dossier.finished_at) > dossier.due_date
        )
    if dossier.state in FINAL:
        return False
    return vietnam_date(at) > dossier.due_date


def search(
    *,
    partner: Partner,
    deps: DossierDeps,
    state: State | None = None,
    department: str | None = None,
    late: bool = False,
    cursor: str | None = None,
    limit: int = 50,
    channel: Channel = "rest",
) -> Page:
    """Dossiers of one of the partner's departments, by state and lateness, oldest first. A
    page is about many citizens: its read names none of them (nor does a queue's)."""
    what = target("department", department or "-")
    with deps.audit.reading(partner, channel, Action.DOSSIERS_LISTED, what):
        require_service(partner, "dossiers.read")
        department = _department(partner, department, deps)
        late_at = deps.clock.now() if late else None
        return deps.store.search(
            state=state, department=department, late_at=late_at, cursor=cursor, limit=limit
        )


def _department(partner: Partner, department: str | None, deps: DossierDeps) -> str:
    """The department a department partner works on: the one it names (one of its own), or
    its only one."""
    if partner.kind != "department":
        raise Forbidden(f"{partner.id} is not a department: it reads no department's dossiers")
    if department is None:
        if len(partner.departments) != 1:
            raise XmlMalformed(
                f"{partner.id} works for several departments: name one",
                issues=[Issue(message="name a department", path="department")],
            )
        (department,) = partner.departments
    if department not in deps.routing.table().departments:
        raise NotFound(f"no department {department}")
    if department not in partner.departments:
        raise Forbidden(f"{partner.id} does not work for {department}")
    return department


def queue(
    department: str,
    *,
    partner: Partner,
    deps: DossierDeps,
    cursor: str | None = None,
    limit: int = 50,
    channel: Channel = "rest",
) -> Page:
    """The department's routed, unfinished dossiers."""
    what = target("queue", department)
    with deps.audit.reading(partner, channel, Action.DOSSIERS_LISTED, what):
        require_service(partner, "queues.read")
        department = _department(partner, department, deps)
        return deps.store.queued(department, cursor=cursor, limit=limit)


def claim(
    department: str,
    *,
    partner: Partner,
    deps: DossierDeps,
    worker: str,
    visibility: float,
    channel: Channel = "rest",
) -> Claimed | None:
    """Hand the department's next task to ``worker`` of ``partner`` for ``visibility`` seconds
    (until acknowledged, or given to another worker once that time has passed)."""
    if not MIN_VISIBILITY <= visibility <= MAX_VISIBILITY:
        raise XmlMalformed(
            f"visibility is {MIN_VISIBILITY:g} to {MAX_VISIBILITY:g} seconds",
            issues=[Issue(message="out of bounds", path="visibility")],
        )
    what = target("queue", department)
    with deps.audit.reading(partner, channel, Action.DOSSIER_CLAIMED, what) as access:
        require_service(partner, "queues.claim")
        department = _department(partner, department, deps)
        task = deps.store.claim(
            department, worker=f"{partner.id}/{worker}", at=deps.clock.now(), visibility=visibility
        )
        if task is None:
            return None
        dossier = deps.store.get(task.dossier_id)
        if dossier is None:
            raise RuntimeError(f"queue task {task.token} names no dossier {task.dossier_id}")
        access.concerns(_citizen_of(dossier, deps))
    return Claimed(task, dossier)


def ack(token: str, *, department: str, partner: Partner, deps: DossierDeps) -> None:
    """Done with the task of this claim: it leaves the queue if its dossier left department work
    (refused, supplement requested, finished, ...), else it is available again at once.
    ``Conflict`` if the claim is no longer held (its time passed, and the task may be another
    worker's now)."""
    require_service(partner, "queues.claim")
    _department(partner, department, deps)
    if not deps.store.ack(token, at=deps.clock.now()):
        raise Conflict(
            "this claim is no longer held: its visibility timeout passed or it was acknowledged"
        )
