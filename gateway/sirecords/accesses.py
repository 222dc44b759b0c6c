"""Who read a citizen's data (the data subject's right to know: Decree 13/2023 Art. 9, Law
91/2025 Arts. 9-16; reference/IDENTITY.md section 3.2), as the audit log holds it under the
citizen's pseudonym: VNeID lookups, hospitals' card checks, claim-record and dossier reads, and
these reads themselves. REST serves it at ``GET /api/v1/si-records/{citizen_id}/accesses``.

Invariant: a page leaves only after the checks of a lookup (``lookups.admit``: VNeID, the
citizen's level-2 token naming this citizen, the citizen's rate limit) and after its own audit
event is durable; it holds only entries whose event names this citizen's pseudonym (the index
could have been edited, the chained entry not), and of each only when, who (the partner's
display name and kind, never its id, credentials or addresses), through which channel and
action, for which purpose and with which result: no target, so nothing of another citizen or of
the record itself.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.audit import Action, AuditEvent, Result, citizen_target
from gateway.partners import Partner, PartnerKind
from gateway.records.model import Channel
from gateway.sirecords.lookups import DEFAULT_PURPOSE, LookupDeps, admit

MAX_PAGE = 100


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reader(_Answer):
    """Who read: a partner of the gateway, as the partner file names it."""

    name: str = Field(description="the partner's display name")
    kind: PartnerKind | None = Field(description="none: a partner no longer configured")


class AccessAnswer(_Answer):
    """One read of the citizen's data."""

    at: AwareDatetime
    reader: Reader
    channel: Channel = Field(description="how the reader asked: rest, soap or vss-portal")
    action: Action = Field(description="what was read")
    purpose: str | None = Field(description="why, as the reader declared it; none if not asked")
    result: Result = Field(description="how the read ended")


class AccessesAnswer(_Answer):
    """A page of the citizen's accesses, newest first."""

    accesses: list[AccessAnswer]
    next: str | None = Field(description="the link to the next, older page; none: the last")


def accesses(
    deps: LookupDeps,
    citizen_id: str,
    *,
    partner: Partner,
    token: str | None,
    channel: Channel,
    purpose: str = DEFAULT_PURPOSE,
    before: int | None = None,
    limit: int = 20,
) -> tuple[list[AccessAnswer], int | None]:
    """Up to ``limit`` (at most ``MAX_PAGE``) accesses to ``citizen_id``'s data, newest first,
    older than the entry numbered ``before``; and the ``before`` of the next page (None: this is
    the last). Raises as ``lookups.lookup`` does, but never ``NotFound``: a citizen nobody read
    has no accesses."""
    limit = max(1, min(limit, MAX_PAGE))
    with deps.audit.reading(
        partner,
        channel,
        Action.ACCESSES_READ,
        citizen_target("accesses", citizen_id),
        citizen=citizen_id,
        purpose=purpose,
    ) as access:
        admit(deps, citizen_id, partner=partner, token=token)
        assert access.citizen is not None  # named above
        pseudonym = access.citizen.key
        entries = deps.audit.log.of_citizen(pseudonym, before_seq=before, limit=limit + 1)
    page = [(e.seq, e.event()) for e in entries[:limit]]
    shown = [_answer(deps, event) for _, event in page if event.citizen == pseudonym]
    return shown, (page[-1][0] if len(entries) > limit else None)


def _answer(deps: LookupDeps, event: AuditEvent) -> AccessAnswer:
    known = deps.partners.get(event.partner)
    reader = (
        Reader(name=known.name, kind=known.kind)
        if known is not None
        else Reader(name=event.partner, kind=None)
    )
    return AccessAnswer(
        at=event.at,
        reader=reader,
        channel=event.channel,
        action=event.action,
        purpose=event.purpose,
        result=event.result,
    )
