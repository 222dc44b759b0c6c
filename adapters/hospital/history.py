"""A visit's history across batches: resent versions, check-in links and cross-record signals.

Every accepted claim or check-in is written to append-only index lists, atomically with its
record: by facility and visit key (``visit-key:{facility}:{MA_LK}``) and by HI card
(``visit-card:{card}``); its signals go to ``signals-facility:{facility}`` and
``signals-card:{card}``. A new visit is judged against those lists. The lists are read before
the new records are written, so two batches about the same visit or card arriving at once (at
two workers) would miss each other; the pipeline therefore reads them through a read set
(``gateway.pipeline.readset``) and the store writes a batch only if none of the lists it read has
grown meanwhile, else the batch is judged again against what is there now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from gateway.records.model import CommonRecord, Signal, card_signals, facility_signals
from gateway.store.ports import IndexEntry, IndexReader

RESENT_CHANGED = "RESENT_CHANGED"
OVERLAPPING_STAY = "OVERLAPPING_STAY"
OUTPATIENT_FACILITIES = "OUTPATIENT_FACILITIES"
SIGNALS: dict[str, str] = {
    RESENT_CHANGED: "the visit (facility, MA_LK) was accepted before with other content; this "
    "record is its next version, linked to the previous one",
    OVERLAPPING_STAY: "the card was in an inpatient stay at another facility during this stay",
    OUTPATIENT_FACILITIES: "the card had outpatient visits at more facilities on one day than "
    "the configured limit",
}

# MA_LOAI_KCB (QĐ 824/QĐ-BYT App. 1, QD130.md C4): stays with a bed, and outpatient care.
INPATIENT = frozenset({"03", "04", "06", "09"})
OUTPATIENT = frozenset({"01", "02", "05", "07", "08"})


@dataclass(frozen=True)
class SignalPolicy:
    """Thresholds of the fraud and abuse signals (configurable, GATEWAY_* settings)."""

    # More distinct facilities than this for outpatient visits of one card on one day is flagged.
    max_outpatient_facilities_per_day: int = 2
    # More units of one drug line per day of stay than this is flagged (flags.QUANTITY_CEILING).
    max_units_per_day: Decimal = Decimal(100)


@dataclass(frozen=True)
class Visit:
    """What the index keeps of a visit (the JSON of one index entry)."""

    record_id: str
    kind: str
    facility: str
    key: str
    content_sha256: str
    cards: tuple[str, ...]
    care_type: str | None
    arrived_at: str | None
    discharged_at: str | None
    received_at: str

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__)

    @classmethod
    def from_json(cls, data: bytes) -> Visit:
        fields = orjson.loads(data)
        fields["cards"] = tuple(fields["cards"])
        return cls(**fields)


@dataclass(frozen=True)
class Judgement:
    """What the history says of a new visit."""

    signals: tuple[Signal, ...] = ()
    links: dict[str, Any] | None = None
    same_as: str | None = None  # the record this visit repeats unchanged


def key_list(facility: str, key: str) -> str:
    return f"visit-key:{facility}:{key}"


def card_list(card: str) -> str:
    return f"visit-card:{card}"


def cards_of(payload: dict[str, Any]) -> tuple[str, ...]:
    return tuple(c["number"] for c in payload.get("cards", []) if c.get("number"))


def _visits(history: IndexReader, name: str) -> list[Visit]:
    return [Visit.from_json(entry) for entry in history.entries(name)]


def judge(
    payload: dict[str, Any],
    *,
    facility: str,
    key: str,
    content_sha256: str,
    history: IndexReader,
    policy: SignalPolicy,
) -> Judgement:
    """Signals and links of a claim visit, from the visits accepted before it."""
    earlier = _visits(history, key_list(facility, key))
    claims = [v for v in earlier if v.kind == "hi_claim"]
    if claims and claims[-1].content_sha256 == content_sha256:
        return Judgement(same_as=claims[-1].record_id)
    signals: list[Signal] = []
    links: dict[str, Any] = {}
    check_ins = [v for v in earlier if v.kind == "hi_checkin"]
    if check_ins:
        links["check_in"] = {
            "record_id": check_ins[-1].record_id,
            "received_at": check_ins[-1].received_at,
        }
    if claims:
        links["version"] = len(claims) + 1
        links["previous_version"] = claims[-1].record_id
        signals.append(
            Signal(
                code=RESENT_CHANGED,
                reason=f"visit {key} was sent before with other content (record "
                f"{claims[-1].record_id}); this is version {len(claims) + 1}",
            )
        )
    current = _visit_of(payload, facility=facility, key=key, content_sha256=content_sha256)
    for card in current.cards:
        others = [
            v
            for v in _visits(history, card_list(card))
            if v.kind == "hi_claim" and not (v.facility == facility and v.key == key)
        ]
        signals += _overlapping_stays(card, current, others)
        signals += _outpatient_day(card, current, others, policy)
    return Judgement(signals=tuple(signals), links=links or None)


def _visit_of(
    payload: dict[str, Any],
    *,
    facility: str,
    key: str,
    content_sha256: str,
    record_id: str = "",
    kind: str = "hi_claim",
    received_at: str = "",
) -> Visit:
    visit = payload.get("visit", {})
    return Visit(
        record_id=record_id,
        kind=kind,
        facility=facility,
        key=key,
        content_sha256=content_sha256,
        cards=cards_of(payload),
        care_type=visit.get("care_type_code"),
        arrived_at=visit.get("arrived_at"),
        discharged_at=visit.get("discharged_at"),
        received_at=received_at,
    )


def _overlapping_stays(card: str, current: Visit, others: list[Visit]) -> list[Signal]:
    if current.care_type not in INPATIENT or not current.arrived_at or not current.discharged_at:
        return []
    start = datetime.fromisoformat(current.arrived_at)
    end = datetime.fromisoformat(current.discharged_at)
    return [
        Signal(
            code=OVERLAPPING_STAY,
            reason=f"card {card} was in an inpatient stay at facility {v.facility} from "
            f"{v.arrived_at} to {v.discharged_at} (record {v.record_id}), overlapping this one",
        )
        for v in others
        if v.facility != current.facility
        and v.care_type in INPATIENT
        and v.arrived_at
        and v.discharged_at
        and datetime.fromisoformat(v.arrived_at) < end
        and start < datetime.fromisoformat(v.discharged_at)
    ]


def _outpatient_day(
    card: str, current: Visit, others: list[Visit], policy: SignalPolicy
) -> list[Signal]:
    if current.care_type not in OUTPATIENT or not current.arrived_at:
        return []
    day = current.arrived_at[:10]
    facilities = {current.facility} | {
        v.facility
        for v in others
        if v.care_type in OUTPATIENT and v.arrived_at and v.arrived_at[:10] == day
    }
    if len(facilities) <= policy.max_outpatient_facilities_per_day:
        return []
    return [
        Signal(
            code=OUTPATIENT_FACILITIES,
            reason=f"card {card} had outpatient visits at {len(facilities)} facilities on {day} "
            f"({', '.join(sorted(facilities))}); the limit is "
            f"{policy.max_outpatient_facilities_per_day}",
        )
    ]


def index_entries(record: CommonRecord, *, content_sha256: str) -> tuple[IndexEntry, ...]:
    """The index entries of an accepted claim or check-in record, and of its signals."""
    facility = record.source.facility_code or ""
    key = record.original.item or ""
    visit = _visit_of(
        record.payload,
        facility=facility,
        key=key,
        content_sha256=content_sha256,
        record_id=record.id,
        kind=record.kind,
        received_at=record.received_at.isoformat(),
    )
    cards = visit.cards
    entry = visit.to_json()
    entries = [IndexEntry(key_list(facility, key), entry)]
    entries += [IndexEntry(card_list(card), entry) for card in cards]
    for signal in record.signals:
        value = orjson.dumps(
            {
                "record_id": record.id,
                "facility": facility,
                "key": key,
                "cards": cards,
                "code": signal.code,
                "reason": signal.reason,
                "received_at": record.received_at.isoformat(),
            }
        )
        entries.append(IndexEntry(facility_signals(facility), value))
        entries += [IndexEntry(card_signals(card), value) for card in cards]
    return tuple(entries)
