"""One visit (one HOSO, one MA_LK) normalized from its tables XML1–XML5 into the record payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from adapters.hospital import lines, xml1
from gateway.errors import Issue, SchemaInvalid
from gateway.records.model import Subject

# The summary sections XML1 fills; each is present in the payload (empty when no field of it was
# sent), so that readers never test for a missing section. "cards" is always a list.
SUMMARY_SECTIONS = ("visit", "patient", "coverage", "diagnoses", "totals", "settlement")


def normalize_visit(tables: Mapping[str, etree._Element]) -> tuple[Subject, dict[str, Any]]:
    """The subject and payload of one visit whose tables (keyed by LOAIHOSO) are schema-valid.

    XML1 gives the subject and the summary sections (``xml1.normalize``); XML2–XML5 give the
    ``drugs``, ``services``, ``paraclinical`` and ``clinical_notes`` lists, empty when the table
    was not sent (QD130.md C1: XML4 and XML5 are sent only when there is something to say).
    Other tables are ignored here. Values that their XSD lets through but that are not what
    their field requires (an impossible date) raise one ``SchemaInvalid`` naming every one.
    """
    summary = tables.get("XML1")
    if summary is None:
        raise SchemaInvalid(
            "the HOSO has no summary table", issues=[Issue("XML1 is missing", table="XML1")]
        )
    issues: list[Issue] = []
    subject: Subject | None = None
    payload: dict[str, Any] = {}
    try:
        subject, payload = xml1.normalize(summary)
    except SchemaInvalid as exc:
        issues.extend(exc.issues)
    for spec in lines.TABLES:
        table = tables.get(spec.kind)
        if table is None:
            payload[spec.section] = []
            continue
        payload[spec.section], found = lines.normalize(table, spec)
        issues.extend(found)
    if issues or subject is None:
        raise SchemaInvalid(
            "the visit's tables hold values that are not what their fields require",
            issues=issues,
        )
    for section in SUMMARY_SECTIONS:
        payload.setdefault(section, {})
    return subject, payload
