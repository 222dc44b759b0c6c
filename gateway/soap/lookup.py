"""The lookup SOAP service (``wsdl/lookup.wsdl``): ``GetSiRecord``, VNeID's lookup of a citizen's
SI record over ``gateway.sirecords.lookups``, as REST runs it: in a thread, with the citizen's ID
token from the operation's ``IdToken`` (the WSDL says why it travels in the body)."""

from __future__ import annotations

import re

import orjson
from fastapi import Request
from lxml import etree
from starlette.concurrency import run_in_threadpool

from gateway.bootstrap import Gateway
from gateway.errors import Issue, XmlMalformed
from gateway.partners import Partner
from gateway.sirecords import lookups
from gateway.sirecords.model import CITIZEN_ID
from gateway.soap.operations import Handler, Members, field, fill, sub
from gateway.xml.ns import LOOKUP_SERVICE as NS
from gateway.xml.ns import q
from gateway.xml.parser import XmlLimits
from gateway.xml.tree import root_element

_CITIZEN_ID = re.compile(CITIZEN_ID)
# A GetSiRecord envelope: three short fields, the token at most 8 KiB (VneidPolicy).
LIMITS = XmlLimits(
    max_bytes=32 * 1024,
    max_depth=16,
    max_elements=64,
    max_attributes=64,
    max_attribute_length=1024,
    max_base64_bytes=1024,
)

# The members of an SI-record answer (gateway.sirecords.answer), as the WSDL orders them.
_RECORD: Members = (
    ("si_number", "SiNumber"),
    ("contributions", "Contribution"),
    ("cards", "Card"),
    ("treatments", "Treatment"),
    ("benefits", "Benefit"),
)
_NESTED: dict[str, Members] = {
    "contributions": (
        ("scheme", "Scheme"),
        ("employer_name", "EmployerName"),
        ("from_month", "FromMonth"),
        ("to_month", "ToMonth"),
        ("salary_basis", "SalaryBasis"),
    ),
    "cards": (
        ("number", "Number"),
        ("valid_from", "ValidFrom"),
        ("valid_to", "ValidTo"),
        ("registered_facility", "RegisteredFacility"),
        ("benefit_level", "BenefitLevel"),
        ("five_year_date", "FiveYearDate"),
    ),
    "treatments": (
        ("facility_code", "FacilityCode"),
        ("arrived_at", "ArrivedAt"),
        ("discharged_at", "DischargedAt"),
        ("diagnosis_code", "DiagnosisCode"),
        ("total", "Total"),
        ("insurance_paid", "InsurancePaid"),
    ),
    "benefits": (("procedure", "Procedure"), ("decided_on", "DecidedOn"), ("amount", "Amount")),
}


def _bounded(operation: etree._Element, local: str, pattern: re.Pattern[str]) -> str:
    value = field(operation, NS, local)
    if pattern.fullmatch(value) is None:
        raise XmlMalformed(f"{local} is not valid", issues=[Issue(message="not valid", path=local)])
    return value


async def get_si_record(
    request: Request, gateway: Gateway, partner: Partner, operation: etree._Element
) -> etree._Element:
    citizen_id = _bounded(operation, "CitizenId", _CITIZEN_ID)
    token = (operation.findtext(q(NS, "IdToken")) or "").strip() or None
    has_purpose = operation.find(q(NS, "Purpose")) is not None
    purpose = _bounded(operation, "Purpose", lookups.PURPOSE) if has_purpose else None
    answer = await run_in_threadpool(
        lookups.lookup,
        gateway.lookups,
        citizen_id,
        partner=partner,
        token=token,
        channel="soap",
        purpose=purpose or lookups.DEFAULT_PURPOSE,
    )
    response = root_element(q(NS, "GetSiRecordResponse"), default_ns=NS)
    fill(sub(response, NS, "SiRecord"), NS, orjson.loads(answer), _RECORD, _NESTED)
    return response


OPERATIONS: dict[str, Handler] = {q(NS, "GetSiRecord"): get_si_record}
