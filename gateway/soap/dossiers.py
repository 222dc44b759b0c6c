"""The dossiers SOAP service (``wsdl/dossiers.wsdl``): a portal's dossiers and added documents,
and a dossier's state and history, over the same service functions as REST
(``gateway.dossiers.service``), each operation's whole work in a pipeline thread as REST runs it.
"""

from __future__ import annotations

import base64
import re

from lxml import etree

from gateway.api.dossiers import view
from gateway.bootstrap import Gateway
from gateway.dossiers import service
from gateway.dossiers.service import Submitted
from gateway.errors import Issue, XmlMalformed
from gateway.partners import Partner, require_service
from gateway.soap.operations import Handler, field, fill, in_thread, sub
from gateway.xml.ns import DOSSIERS_SERVICE as NS
from gateway.xml.ns import q
from gateway.xml.parser import decode_base64
from gateway.xml.tree import root_element

# A gateway dossier id, bounded as the REST path bounds it.
_DOSSIER_ID = re.compile(r"[0-9A-Za-z]{1,64}")

# The elements of a dossier, in the WSDL's order, from the members of its REST view
# (``gateway.api.dossiers.view``): a list repeats its element, a None is left out.
_DOSSIER = (
    ("id", "DossierId"),
    ("ma_ho_so", "MaHoSo"),
    ("ma_tthc", "MaTTHC"),
    ("procedure", "Procedure"),
    ("department", "Department"),
    ("state", "State"),
    ("received_at", "ReceivedAt"),
    ("due_date", "DueDate"),
    ("late", "Late"),
    ("finished_at", "FinishedAt"),
    ("applicant", "Applicant"),
    ("requested_documents", "RequestedDocument"),
    ("supplement_due", "SupplementDue"),
    ("version", "Version"),
    ("history", "Step"),
    ("allowed", "Allowed"),
)
_NESTED = {
    "applicant": (("kind", "Kind"), ("id", "Id"), ("name", "Name")),
    "history": (
        ("state", "State"),
        ("at", "At"),
        ("actor", "Actor"),
        ("by", "By"),
        ("reason", "Reason"),
        ("documents", "Document"),
        ("due_date", "DueDate"),
        ("officer", "Officer"),
    ),
}


def _answer(local: str) -> etree._Element:
    return root_element(q(NS, local), default_ns=NS)


def _receipt(answer: etree._Element, submitted: Submitted) -> etree._Element:
    receipt = submitted.receipt
    element = sub(answer, NS, "Receipt")
    for local, value in (
        ("ReceiptId", receipt.id),
        ("Kind", receipt.kind),
        ("DossierId", receipt.dossier_id),
        ("MaHoSo", receipt.ma_ho_so),
        ("Procedure", receipt.procedure),
        ("Department", receipt.department),
        ("Status", receipt.status),
        ("ReceivedAt", receipt.received_at.isoformat()),
        ("DueDate", receipt.due_date.isoformat()),
        ("Sha256", receipt.sha256),
        ("Duplicate", submitted.duplicate),
        ("SignedReceipt", base64.b64encode(submitted.stored.xml).decode()),
    ):
        sub(element, NS, local, value)
    return answer


def _dossier_id(operation: etree._Element) -> str:
    value = field(operation, NS, "DossierId")
    if _DOSSIER_ID.fullmatch(value) is None:
        raise XmlMalformed(
            "DossierId is not a dossier id",
            issues=[Issue(message="not a dossier id", path="DossierId")],
        )
    return value


def _document(gateway: Gateway, operation: etree._Element, local: str) -> bytes:
    text = operation.findtext(q(NS, local))
    return decode_base64(text, gateway.dossiers.limits, what=local)


def submit_dossier(gateway: Gateway, partner: Partner, operation: etree._Element) -> etree._Element:
    require_service(partner, "dossiers.submit")  # before a byte of the dossier is decoded
    ma_ho_so = field(operation, NS, "MaHoSo")
    ma_tthc = field(operation, NS, "MaTTHC")
    submitted = service.submit(
        _document(gateway, operation, "Dossier"),
        partner=partner,
        channel="soap",
        ma_ho_so=ma_ho_so,
        ma_tthc=ma_tthc,
        deps=gateway.dossiers,
    )
    return _receipt(_answer("SubmitDossierResponse"), submitted)


def submit_documents(
    gateway: Gateway, partner: Partner, operation: etree._Element
) -> etree._Element:
    require_service(partner, "dossiers.submit")
    dossier_id = _dossier_id(operation)
    submitted = service.add_documents(
        dossier_id,
        _document(gateway, operation, "Documents"),
        partner=partner,
        channel="soap",
        deps=gateway.dossiers,
    )
    return _receipt(_answer("SubmitDocumentsResponse"), submitted)


def get_dossier(gateway: Gateway, partner: Partner, operation: etree._Element) -> etree._Element:
    deps = gateway.dossiers
    found = service.view(_dossier_id(operation), partner=partner, deps=deps, channel="soap")
    answer = _answer("GetDossierResponse")
    fill(
        sub(answer, NS, "Dossier"),
        NS,
        view(found, partner=partner, at=deps.clock.now()),
        _DOSSIER,
        _NESTED,
    )
    return answer


OPERATIONS: dict[str, Handler] = {
    q(NS, "SubmitDossier"): in_thread(submit_dossier),
    q(NS, "SubmitDocuments"): in_thread(submit_documents),
    q(NS, "GetDossier"): in_thread(get_dossier),
}
