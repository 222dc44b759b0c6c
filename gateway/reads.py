"""Reads of stored personal data on a partner's behalf: only its own records and receipts, each
read written to the audit log before anything leaves. REST and SOAP are thin entrypoints over
these functions, so neither can read without an audit event.

A read of a claim record (or its original) names the patient, by pseudonym and the ID's last
four digits, so that it is among the patient's accesses: the record's citizen ID (``SO_CCCD``),
else the holder of its HI card in the SI records. It names nobody when neither is known (no ID,
a card the SI records do not hold), nor when the record is not given out (not found). A receipt
or a page of signals is about a whole batch or facility: not attributed to any one citizen.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import orjson

from gateway.audit import Action, card_target, target
from gateway.errors import Forbidden, NotFound
from gateway.partners import Partner, require_service
from gateway.records.model import Channel, Subject, card_signals, facility_signals
from gateway.sirecords.model import CITIZEN_ID
from gateway.store.ports import Store, StoredReceipt, StoredRecord

if TYPE_CHECKING:
    from gateway.bootstrap import Gateway


def _own_record(store: Store, partner: Partner, record_id: str) -> StoredRecord:
    # Another partner's record is "not found": its existence is not the caller's business.
    record = store.get_record(record_id)
    if record is None or record.partner_id != partner.id:
        raise NotFound(f"no claim record {record_id}")
    return record


def _patient(gateway: Gateway, record: StoredRecord) -> str | None:
    """The citizen a claim record is about: its citizen ID, else its card's holder."""
    subject = Subject.model_validate(orjson.loads(record.json).get("subject") or {})
    if subject.citizen_id is not None and re.fullmatch(CITIZEN_ID, subject.citizen_id):
        return subject.citizen_id
    held = gateway.si_records.held_card(subject.hi_card_number) if subject.hi_card_number else None
    return None if held is None else held.citizen_id


def record(gateway: Gateway, partner: Partner, record_id: str, *, channel: Channel) -> StoredRecord:
    """The common record ``record_id``, if ``partner`` stored it."""
    what = target("record", record_id)
    with gateway.audit.reading(partner, channel, Action.RECORD_READ, what) as access:
        require_service(partner, "claims.read")
        found = _own_record(gateway.pipeline.store, partner, record_id)
        access.concerns(_patient(gateway, found))
    return found


def original(gateway: Gateway, partner: Partner, record_id: str, *, channel: Channel) -> bytes:
    """The signed bytes that record ``record_id`` came from, unchanged."""
    what = target("record", record_id)
    with gateway.audit.reading(partner, channel, Action.RECORD_ORIGINAL_READ, what) as access:
        require_service(partner, "claims.read")
        store = gateway.pipeline.store
        found = _own_record(store, partner, record_id)
        access.concerns(_patient(gateway, found))
        body = store.get_original(orjson.loads(found.json)["original"]["sha256"])
        if body is None:
            raise NotFound(f"no original for claim record {record_id}")
    return body


def receipt(
    gateway: Gateway, partner: Partner, receipt_id: str, *, channel: Channel
) -> StoredReceipt:
    """Receipt ``receipt_id`` of a claim batch or of a dossier, if it was issued to ``partner``
    (no service needed beyond that)."""
    what = target("receipt", receipt_id)
    with gateway.audit.reading(partner, channel, Action.RECEIPT_READ, what):
        stored = gateway.pipeline.store.get_receipt(
            receipt_id
        ) or gateway.dossiers.store.get_receipt(receipt_id)
        if stored is None or stored.partner_id != partner.id:
            raise NotFound(f"no receipt {receipt_id}")
        return stored


def signals(
    gateway: Gateway,
    partner: Partner,
    *,
    facility: str | None = None,
    card: str | None = None,
    channel: Channel,
    start: int = 0,
    limit: int | None = None,
) -> list[bytes]:
    """The signals of one facility, or of one HI card (give exactly one), oldest first, from
    position ``start``, at most ``limit``."""
    if facility is not None:
        name, what = facility_signals(facility), target("facility", facility)
    elif card is not None:
        name, what = card_signals(card), card_target(card)
    else:
        raise ValueError("signals of a facility or of a card")
    with gateway.audit.reading(partner, channel, Action.SIGNALS_READ, what):
        require_service(partner, "signals.read")
        # A hospital sees its own facilities' signals, never a card's history elsewhere.
        if partner.kind == "hospital" and (
            facility is None or facility not in partner.facility_codes
        ):
            raise Forbidden(f"{partner.id} may read the signals of its own facilities only")
        return gateway.pipeline.store.entries(name, start=start, limit=limit)
