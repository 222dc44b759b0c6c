"""The claims SOAP service (``wsdl/claims.wsdl``): operations over the same pipeline as REST,
run where REST runs them (``gateway.api.work``): a batch by its size, a read in a thread."""

from __future__ import annotations

import base64

import orjson
from fastapi import Request
from lxml import etree

from gateway import reads
from gateway.api import work
from gateway.bootstrap import Gateway
from gateway.partners import Partner, require_service
from gateway.receipts import ErrorInfo, Receipt
from gateway.records.xml import record_xml
from gateway.soap.envelope import issue_text
from gateway.soap.operations import Handler, field, in_thread, sub
from gateway.store.ports import StoredReceipt
from gateway.xml.ns import CLAIMS_SERVICE as NS
from gateway.xml.ns import q
from gateway.xml.parser import decode_base64
from gateway.xml.tree import root_element


def _sub(parent: etree._Element, local: str, text: object = None) -> etree._Element:
    return sub(parent, NS, local, text)


def _error(parent: etree._Element, error: ErrorInfo) -> None:
    element = _sub(parent, "Error")
    _sub(element, "Code", error.code)
    _sub(element, "Detail", error.detail)
    for issue in error.issues:
        _sub(element, "Issue", issue_text(issue))


def _receipt(parent: etree._Element, stored: StoredReceipt, *, duplicate: bool) -> None:
    receipt = Receipt.model_validate_json(stored.json)
    element = _sub(parent, "Receipt")
    _sub(element, "ReceiptId", receipt.id)
    _sub(element, "PartnerId", receipt.partner_id)
    _sub(element, "ReceivedAt", receipt.received_at.isoformat())
    _sub(element, "Sha256", receipt.sha256)
    _sub(element, "Status", receipt.status)
    _sub(element, "Duplicate", duplicate)
    if receipt.error is not None:
        _error(element, receipt.error)
    for item in receipt.results:
        result = _sub(element, "Result")
        _sub(result, "Index", item.index)
        if item.key is not None:
            _sub(result, "Key", item.key)
        _sub(result, "Status", item.status)
        if item.record_id is not None:
            _sub(result, "RecordId", item.record_id)
        if item.duplicate:
            _sub(result, "Duplicate", True)
        for signal in item.signals:
            node = _sub(result, "Signal")
            _sub(node, "Code", signal.code)
            _sub(node, "Reason", signal.reason)
        for error in item.errors:
            _error(result, error)
    _sub(element, "SignedReceipt", base64.b64encode(stored.xml).decode())


async def submit_claim_batch(
    request: Request, gateway: Gateway, partner: Partner, operation: etree._Element
) -> etree._Element:
    require_service(partner, "claims.submit")
    limits = gateway.pipeline.limits
    body = await work.offload(
        request, decode_base64, operation.findtext(q(NS, "Batch")), limits, what="Batch"
    )
    outcome = await work.submit(request, body, partner=partner, channel="soap", fmt=gateway.claims)
    answer = root_element(q(NS, "SubmitClaimBatchResponse"), default_ns=NS)
    _receipt(answer, outcome.stored, duplicate=outcome.duplicate)
    return answer


def get_receipt(gateway: Gateway, partner: Partner, operation: etree._Element) -> etree._Element:
    receipt_id = field(operation, NS, "ReceiptId")
    stored = reads.receipt(gateway, partner, receipt_id, channel="soap")
    answer = root_element(q(NS, "GetReceiptResponse"), default_ns=NS)
    _receipt(answer, stored, duplicate=False)
    return answer


def get_claim_record(
    gateway: Gateway, partner: Partner, operation: etree._Element
) -> etree._Element:
    record_id = field(operation, NS, "RecordId")
    record = reads.record(gateway, partner, record_id, channel="soap")
    answer = root_element(q(NS, "GetClaimRecordResponse"), default_ns=NS)
    answer.append(record_xml(orjson.loads(record.json)))
    return answer


OPERATIONS: dict[str, Handler] = {
    q(NS, "SubmitClaimBatch"): submit_claim_batch,
    q(NS, "GetReceipt"): in_thread(get_receipt),
    q(NS, "GetClaimRecord"): in_thread(get_claim_record),
}
