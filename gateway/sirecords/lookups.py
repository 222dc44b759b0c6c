"""The VNeID lookup of a citizen's SI record (SPEC sections 2 and 4), which REST
(``GET /api/v1/si-records/{citizen_id}``) and SOAP (``GetSiRecord`` at ``/soap/lookup``) run
alike, in a worker thread, once the partner is authenticated.

Invariant: an answer leaves only after (1) the partner was found to be VNeID, granted
``si_records.lookup``; (2) the citizen's ID token verified at level 2 or above; (3) the token's
citizen is the one asked for; (4) the per-partner-and-citizen rate limit let it through; and
(5) the audit event, naming the citizen by pseudonym only, with the purpose and the latency, is
durable. Every lookup that reaches this function is audited, whatever it ends with: refused,
limited, unknown, answered from the cache or from the store.

The answer is served from the cache when it holds the record's current version
(``gateway.sirecords.cache``): the version is read first, one row, so that a change made by any
process is in the very next lookup.

On a miss, when the gateway has the national population database (``GATEWAY_POPULATION_URL``),
the record's person is confirmed there before the answer is made (``XacThucThongTinCongDan``: the
token's citizen ID with the SI record's name and birth, ``MaDVC`` the lookup's purpose) and the
answer is cached only once confirmed: a hit needs no call to C06 until the record changes or the
entry expires. A person C06 does not hold so is ``409 CONFLICT`` with the rule
``SI_RECORD.PERSON_MISMATCH`` (the record must be corrected at VSS; asking again does not help),
not cached, so that a corrected record answers at once. C06 not answering is
``503 UNAVAILABLE`` with ``Retry-After``, behind the client's bulkhead and breaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from gateway.audit import Action, Auditor, citizen_target
from gateway.errors import Conflict, Issue, NotFound, Unauthorized
from gateway.identity.population import Inquiry, PopulationRegistry, masked
from gateway.identity.population import Person as Described
from gateway.identity.pseudonyms import Pseudonyms
from gateway.identity.vneid import CitizenVerifier, require_own, require_vneid
from gateway.limits.policy import RateLimits
from gateway.metrics import Metrics
from gateway.partners import Partner, PartnerRegistry
from gateway.records.model import Channel
from gateway.sirecords.answer import answer_of
from gateway.sirecords.cache import AnswerCache, cache_key
from gateway.sirecords.model import Person
from gateway.sirecords.ports import SiRecordStore

# Why VNeID reads a record, unless the request names another purpose: the citizen reading their
# own SI book through VNeID, the data subject's right of access (Decree 13/2023 Art. 9, Law
# 91/2025 Arts. 9-16; reference/IDENTITY.md sections 2.4 and 3.2). A consent or procedure code
# VNeID sends instead (X-Purpose, SOAP Purpose) is recorded as sent.
DEFAULT_PURPOSE = "data_subject_access"
PURPOSE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")  # fullmatch
TARGET = "si_record"
MISMATCH = "SI_RECORD.PERSON_MISMATCH"


@dataclass(frozen=True)
class LookupDeps:
    """What a lookup runs on, built by the composition root."""

    store: SiRecordStore
    cache: AnswerCache
    citizens: CitizenVerifier
    rates: RateLimits
    pseudonyms: Pseudonyms
    audit: Auditor
    metrics: Metrics
    partners: PartnerRegistry  # who read a citizen's data, named in their accesses
    # The national population database, asked on a miss; None (GATEWAY_POPULATION_URL unset):
    # records are answered unconfirmed.
    population: PopulationRegistry | None = None

    def close(self) -> None:
        self.cache.close()


def admit(deps: LookupDeps, citizen_id: str, *, partner: Partner, token: str | None) -> None:
    """Steps (1) to (4) of the invariant, for a read of ``citizen_id``'s data by ``partner``
    carrying ``token``: what a lookup and a read of the citizen's accesses both check."""
    require_vneid(partner)
    if token is None:
        raise Unauthorized("one citizen assertion, the citizen's VNeID ID token, is required")
    require_own(deps.citizens.verify(token), citizen_id)
    # Counted once the token names whose allowance it is, in this thread: a Redis round trip.
    deps.rates.citizen(partner, citizen_id)


def lookup(
    deps: LookupDeps,
    citizen_id: str,
    *,
    partner: Partner,
    token: str | None,
    channel: Channel,
    purpose: str = DEFAULT_PURPOSE,
) -> bytes:
    """The citizen's SI record as ``SiRecordAnswer`` JSON, for ``partner`` carrying the citizen's
    VNeID ID ``token`` (None when the request carried none, or more than one). ``citizen_id`` is
    twelve digits and ``purpose`` matches ``PURPOSE``: the entrypoints bound both. Raises
    ``Forbidden``, ``Unauthorized``, ``RateLimited``, ``NotFound`` or ``Unavailable``."""
    pseudonym = deps.pseudonyms.of(citizen_id)
    with deps.audit.reading(
        partner,
        channel,
        Action.SI_RECORD_LOOKUP,
        citizen_target(TARGET, pseudonym.last4),
        citizen=citizen_id,
        purpose=purpose,
    ):
        admit(deps, citizen_id, partner=partner, token=token)
        version = deps.store.version(citizen_id)
        if version:
            key = cache_key(pseudonym.key, version)
            answer = deps.cache.get(key)
            if answer is not None:
                deps.metrics.lookups.labels("hit").inc()
                return answer
        record = deps.store.get(citizen_id)
        if record is None:
            raise NotFound("no SI record of this citizen")
        _confirm(deps, record.person, purpose=purpose)
        answer = orjson.dumps(answer_of(record).model_dump(mode="json"))
        deps.cache.put(cache_key(pseudonym.key, record.version), answer)
        deps.metrics.lookups.labels("miss").inc()
    return answer


def _confirm(deps: LookupDeps, person: Person, *, purpose: str) -> None:
    """The record's person is who the population database holds under the citizen's ID
    (``Conflict`` otherwise); no answer from it is ``Unavailable``. The purpose is the call's
    ``MaDVC``: C06 asks every caller why it asks (reference/IDENTITY.md section 1)."""
    if deps.population is None:
        return
    described = Described(person.citizen_id, person.full_name, person.date_of_birth)
    with deps.metrics.step("lookup.population"):
        verdict = deps.population.verify(described, inquiry=Inquiry(service=purpose))
    if not verdict.matched:
        message = (
            f"the SI record of personal ID {masked(person.citizen_id)} names a person the "
            "national population database does not hold under that ID"
        )
        raise Conflict(message, issues=[Issue(message, rule=MISMATCH)])
