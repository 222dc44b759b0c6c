"""Signed batch submission: intake → trust → validate → normalize → store → receipt, one step each.

Invariant: a receipt of status ``accepted`` or ``partially_accepted`` is returned only after the
store durably holds the receipt, every accepted item's record and the original bytes; a batch
refused as a whole stores its rejection receipt and nothing else. Resubmitting the exact bytes
for the same format returns the original receipt, marked duplicate, and stores nothing; the same
bytes sent as another format (to another endpoint) are judged as that format, which refuses
them. The items are stored only as judged against the history the store holds when they are
written: if another submission wrote to a list their judgement read, they are judged again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

import orjson
from lxml import etree
from ulid import ULID

from gateway.errors import Forbidden, GatewayError, Issue, SchemaInvalid, Unavailable
from gateway.metrics import Metrics
from gateway.partners import Partner
from gateway.pipeline.deps import FlowDeps
from gateway.pipeline.ports import BatchFormat, NormalizedItem, RejectedItem, ValidatedDocument
from gateway.pipeline.readset import ReadSet
from gateway.receipts import ErrorInfo, ItemResult, Receipt, signed_xml
from gateway.records.model import Channel, CommonRecord, Original, SignatureBlock, Source
from gateway.sirecords.feeds import ClaimFeed, NoTreatmentFeed
from gateway.store.ports import (
    IndexChanged,
    IndexEntry,
    IndexRead,
    Store,
    StoredReceipt,
    StoredRecord,
    Submission,
)
from gateway.trust.verify import VerifiedDocument, verify_enveloped
from gateway.xml.parser import parse


@dataclass(frozen=True)
class PipelineDeps(FlowDeps):
    """The ports and policies a submission needs; built once by the composition root."""

    store: Store
    # The SI records' side of accepted claims (their treatments); none where none are kept.
    treatments: ClaimFeed = field(default_factory=NoTreatmentFeed)

    def with_metrics(self, metrics: Metrics) -> PipelineDeps:
        return replace(self, metrics=metrics)


@dataclass(frozen=True)
class Outcome:
    """What a submission answers: the (original, if duplicate) receipt."""

    receipt: Receipt
    stored: StoredReceipt
    duplicate: bool


@dataclass(frozen=True)
class _Intake:
    body: bytes
    sha256: str
    partner: Partner
    channel: Channel
    received_at: datetime
    receipt_id: str


# How many times a batch is judged before the gateway gives up with 503: each new judgement means
# that another submission about the same visits or cards was stored meanwhile.
JUDGEMENTS = 5


def submit_batch(
    body: bytes, *, partner: Partner, channel: Channel, fmt: BatchFormat, deps: PipelineDeps
) -> Outcome:
    """Run a signed batch through the pipeline and return its receipt."""
    sha256 = hashlib.sha256(body).hexdigest()
    existing = deps.store.find_accepted(partner.id, sha256)
    if existing is not None:
        original = Receipt.model_validate_json(existing.json)
        # A duplicate is the same document asked the same thing. The format follows from the
        # document's root, so bytes accepted as one format are never accepted as another: the
        # store's key (partner, SHA-256) needs no format, but the answer does.
        if original.format.partition("/")[0] == fmt.name:
            deps.metrics.result("DUPLICATE")
            return Outcome(original, existing, duplicate=True)
    intake = _Intake(body, sha256, partner, channel, deps.clock.now(), str(ULID()))
    with _refusing(intake, fmt, deps):
        document = _trusted_document(intake, fmt, deps)
    for _ in range(JUDGEMENTS):
        history = ReadSet(deps.store)
        with _refusing(intake, fmt, deps), deps.metrics.step("normalize"):
            items = fmt.items(document, schemas=deps.schemas, limits=deps.limits, history=history)
        try:
            return _store_accepted(
                intake, fmt, document.verified, items, deps, read=history.reads()
            )
        except IndexChanged:
            deps.metrics.judged_again.inc()
    raise Unavailable(
        "other submissions about the same visits kept arriving while this batch was judged; "
        "nothing was stored",
        retry_after=1,
    )


@contextmanager
def _refusing(intake: _Intake, fmt: BatchFormat, deps: PipelineDeps) -> Iterator[None]:
    """A ``GatewayError`` refuses the batch as a whole, with a stored rejection receipt; an
    outage stores nothing (the partner sends the batch again)."""
    try:
        yield
    except Unavailable:
        raise
    except GatewayError as error:
        _reject(intake, fmt, error, deps)
        raise


def _trusted_document(intake: _Intake, fmt: BatchFormat, deps: PipelineDeps) -> ValidatedDocument:
    with deps.metrics.step("parse"):
        root = parse(intake.body, deps.limits)
    expected = fmt.signature_location[0]
    if root.tag != expected:
        # A document sent to the endpoint of another format: say so, rather than that its
        # signature is not where this format has it.
        raise SchemaInvalid(
            f"the document is a {etree.QName(root).localname}; {fmt.name} expects {expected}",
            issues=[Issue(message=f"the root element must be {expected}", path=f"/{root.tag}")],
        )
    with deps.metrics.step("verify"):
        verified = verify_enveloped(
            root,
            location=fmt.signature_location,
            anchors=deps.anchors,
            policy=deps.policy,
            at=intake.received_at,
        )
    if verified.signer.fingerprint not in intake.partner.certificates:
        raise Forbidden(
            f"the document is signed by a certificate not registered to {intake.partner.id}"
        )
    with deps.metrics.step("validate"):
        deps.schemas.validate(fmt.envelope_schema, verified.root)
    document = ValidatedDocument(verified=verified, schema=fmt.envelope_schema)
    foreign = fmt.facility_codes(document) - intake.partner.facility_codes
    if foreign:
        raise Forbidden(f"{intake.partner.id} may not submit for facility {sorted(foreign)}")
    return document


def _reject(intake: _Intake, fmt: BatchFormat, error: GatewayError, deps: PipelineDeps) -> None:
    receipt = _receipt(intake, fmt, status="rejected", results=[], error=ErrorInfo.of(error))
    deps.store.save_rejection(_stored(receipt, accepted=False, deps=deps))
    error.receipt_id = receipt.id
    deps.metrics.result(error.code)


def _store_accepted(
    intake: _Intake,
    fmt: BatchFormat,
    verified: VerifiedDocument,
    items: list[NormalizedItem | RejectedItem],
    deps: PipelineDeps,
    *,
    read: tuple[IndexRead, ...],
) -> Outcome:
    results: list[ItemResult] = []
    made: list[CommonRecord] = []
    records: list[StoredRecord] = []
    entries: list[IndexEntry] = []
    for index, item in enumerate(items, 1):
        if isinstance(item, RejectedItem):
            results.append(
                ItemResult(
                    index=index, key=item.key, status="rejected", errors=[ErrorInfo.of(item.error)]
                )
            )
            continue
        if item.same_as is not None:  # sent before, unchanged: the record it already is
            results.append(
                ItemResult(
                    index=index,
                    key=item.key,
                    status="accepted",
                    record_id=item.same_as,
                    duplicate=True,
                )
            )
            continue
        record = _record(intake, fmt, verified, item)
        made.append(record)
        records.append(
            StoredRecord(
                record.id,
                intake.receipt_id,
                intake.partner.id,
                orjson.dumps(record.model_dump(mode="json")),
            )
        )
        entries += fmt.index_entries(record, item)
        results.append(
            ItemResult(
                index=index,
                key=item.key,
                status="accepted",
                record_id=record.id,
                signals=list(item.signals),
            )
        )
    accepted = sum(result.status == "accepted" for result in results)
    status = "accepted" if accepted == len(items) else "partially_accepted"
    if not accepted:
        status = "rejected"
    receipt = _receipt(intake, fmt, status=status, results=results)
    stored = _stored(receipt, accepted=bool(accepted), deps=deps)
    with deps.metrics.step("store"):
        if accepted:
            winner = deps.store.save_accepted(
                Submission(
                    receipt=stored,
                    records=tuple(records),
                    original=intake.body,
                    index=tuple(entries),
                    read=read,
                )
            )
        else:
            deps.store.save_rejection(stored)
            winner = stored
    if winner.id != stored.id:  # the same bytes were accepted meanwhile by a concurrent call
        return Outcome(Receipt.model_validate_json(winner.json), winner, duplicate=True)
    with deps.metrics.step("si_records"):
        deps.treatments.accepted(made)
    for result in results:
        deps.metrics.result("ACCEPTED" if result.status == "accepted" else result.errors[0].code)
    return Outcome(receipt, stored, duplicate=False)


def _record(
    intake: _Intake, fmt: BatchFormat, verified: VerifiedDocument, item: NormalizedItem
) -> CommonRecord:
    return CommonRecord(
        id=str(ULID()),
        kind=fmt.record_kind,
        source=Source(
            partner_id=intake.partner.id, channel=intake.channel, facility_code=item.facility_code
        ),
        received_at=intake.received_at,
        signature=SignatureBlock.model_validate(verified.signer, from_attributes=True),
        original=Original(
            format=fmt.name,
            version=fmt.version,
            sha256=intake.sha256,
            size=len(intake.body),
            receipt_id=intake.receipt_id,
            item=item.key,
        ),
        subject=item.subject,
        payload=item.payload,
        signals=list(item.signals),
    )


def _receipt(
    intake: _Intake,
    fmt: BatchFormat,
    *,
    status: str,
    results: list[ItemResult],
    error: ErrorInfo | None = None,
) -> Receipt:
    return Receipt.model_validate(
        {
            "id": intake.receipt_id,
            "partner_id": intake.partner.id,
            "channel": intake.channel,
            "received_at": intake.received_at,
            "sha256": intake.sha256,
            "size": len(intake.body),
            "format": f"{fmt.name}/{fmt.version}",
            "status": status,
            "error": error,
            "results": results,
        }
    )


def _stored(receipt: Receipt, *, accepted: bool, deps: PipelineDeps) -> StoredReceipt:
    with deps.metrics.step("receipt"):
        xml = signed_xml(receipt, deps.identity)
    return receipt.stored(xml, accepted=accepted)
