"""The SOAP 1.1 claims service over real HTTP (SPEC section 4): zeep, unmodified, as the client.

zeep loads the WSDL from ``/soap/claims?wsdl`` (which imports ``record.xsd`` relatively), sends a
signed batch as base64Binary, and reads receipts, records and Faults; a hand-written envelope
posted with httpx shows the service speaks plain SOAP 1.1, not just zeep's dialect of it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import random
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import zeep
import zeep.exceptions
import zeep.helpers
from lxml import etree
from zeep.plugins import HistoryPlugin

from adapters.hospital.synth import Visit, make_batch
from gateway.soap import claims
from gateway.trust.anchors import fingerprint
from gateway.xml.ns import CLAIMS_SERVICE, DS, RECEIPT, RECORD, SOAP11, q
from gateway.xml.parser import XmlLimits, load_contract, parse
from tests.conftest import HOSPITAL, OTHER_HOSPITAL, Pki, Served, counts
from tests.support.soap import (
    ZeepClients,
    answer_of,
    c14n,
    post_soap,
    signed_receipt,
    soap_envelope,
)

CONTRACTS = Path(__file__).resolve().parents[2]
NOTHING = {"receipts": 0, "records": 0, "originals": 0}
REJECTION_ONLY = {"receipts": 1, "records": 0, "originals": 0}

ClientFactory = Callable[..., zeep.Client]


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def soap(served: Served) -> Iterator[ClientFactory]:
    """``soap(partner=HOSPITAL, authorization=None, plugins=())``: a zeep client on the WSDL the
    gateway serves, authenticated with a bearer token through a ``requests.Session``."""
    clients = ZeepClients(served, "claims", partner=HOSPITAL)
    yield clients
    clients.close()


def _signed(pki: Pki, count: int, *, seed: int = 1) -> tuple[bytes, list[Visit]]:
    return make_batch(random.Random(seed), pki.hospital, "01929", count, created=date.today())


def _gateway_fault(fault: zeep.exceptions.Fault) -> tuple[str, str]:
    """``(Code, ReceiptId)`` of the ``detail/GatewayFault`` of a Fault zeep raised."""
    assert fault.detail is not None, "the Fault has no detail"
    gateway_fault = fault.detail.find(q(CLAIMS_SERVICE, "GatewayFault"))
    assert gateway_fault is not None, etree.tostring(fault.detail)
    return (
        gateway_fault.findtext(q(CLAIMS_SERVICE, "Code")) or "",
        gateway_fault.findtext(q(CLAIMS_SERVICE, "ReceiptId")) or "",
    )


def _fault_of(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    assert caught.value.code == "soap:Client"
    return _gateway_fault(caught.value)


def _rejection_receipt_id(receipt_id: str) -> str:
    assert re.fullmatch(r"[0-9A-Z]{26}", receipt_id), receipt_id
    return receipt_id


def _tamper_content(body: bytes) -> bytes:
    """One base64 character changed inside the first NOIDUNGFILE, after signing."""
    at = body.index(b"<NOIDUNGFILE>") + len(b"<NOIDUNGFILE>") + 40
    old = body[at : at + 1]
    assert old.isalnum(), old
    return body[:at] + (b"B" if old == b"A" else b"A") + body[at + 1 :]


def _tamper_facility(body: bytes) -> bytes:
    """One digit of the envelope's MACSKCB changed, after signing."""
    tampered = body.replace(b"<MACSKCB>01929</MACSKCB>", b"<MACSKCB>01928</MACSKCB>", 1)
    assert tampered != body
    return tampered


# --- submission -------------------------------------------------------------------------------


def test_signed_batch_is_accepted_with_one_result_per_hoso_and_a_signed_receipt(
    served: Served, soap: ClientFactory, pki: Pki
) -> None:
    body, visits = _signed(pki, 3)
    receipt = soap().service.SubmitClaimBatch(Batch=body)

    assert receipt.Status == "accepted"
    assert receipt.Duplicate is False
    assert receipt.PartnerId == HOSPITAL
    assert receipt.Sha256 == hashlib.sha256(body).hexdigest()
    assert receipt.Error is None
    assert [r.Index for r in receipt.Result] == [1, 2, 3]
    assert [r.Key for r in receipt.Result] == [v.ma_lk for v in visits]
    assert [r.Status for r in receipt.Result] == ["accepted"] * 3
    assert all(r.Error == [] for r in receipt.Result)
    record_ids = [r.RecordId for r in receipt.Result]
    assert all(re.fullmatch(r"[0-9A-Z]{26}", i) for i in record_ids), record_ids
    assert len(set(record_ids)) == 3

    signed = signed_receipt(receipt.SignedReceipt, pki)
    assert signed.tag == q(RECEIPT, "Receipt")
    assert signed.get("Id") == receipt.ReceiptId
    assert signed.findtext(q(RECEIPT, "Channel")) == "soap"
    assert signed.findtext(q(RECEIPT, "Status")) == "accepted"
    assert signed.findtext(q(RECEIPT, "Sha256")) == receipt.Sha256
    results = signed.findall(f"{q(RECEIPT, 'Results')}/{q(RECEIPT, 'Result')}")
    assert [r.get("recordId") for r in results] == record_ids
    assert signed.find(q(DS, "Signature")) is not None

    assert counts(served.gateway) == {"receipts": 1, "records": 3, "originals": 1}


def test_resubmitted_batch_returns_the_original_receipt_marked_duplicate(
    served: Served, soap: ClientFactory, batch: Callable[..., bytes]
) -> None:
    body = batch(2)
    client = soap()
    first = client.service.SubmitClaimBatch(Batch=body)
    again = client.service.SubmitClaimBatch(Batch=body)

    assert first.Duplicate is False
    assert again.Duplicate is True
    assert again.ReceiptId == first.ReceiptId
    assert again.Status == "accepted"
    assert [r.RecordId for r in again.Result] == [r.RecordId for r in first.Result]
    assert again.SignedReceipt == first.SignedReceipt
    assert counts(served.gateway) == {"receipts": 1, "records": 2, "originals": 1}


def test_get_receipt_returns_the_receipt_of_the_submission(
    soap: ClientFactory, batch: Callable[..., bytes]
) -> None:
    client = soap()
    submitted = client.service.SubmitClaimBatch(Batch=batch(2))
    fetched = client.service.GetReceipt(ReceiptId=submitted.ReceiptId)

    assert fetched.ReceiptId == submitted.ReceiptId
    assert zeep.helpers.serialize_object(fetched, dict) == zeep.helpers.serialize_object(
        submitted, dict
    )


# --- records ----------------------------------------------------------------------------------


def test_claim_record_is_the_common_record_and_validates_against_record_xsd(
    served: Served, soap: ClientFactory, pki: Pki
) -> None:
    body, visits = _signed(pki, 2, seed=7)
    client = soap()
    receipt = client.service.SubmitClaimBatch(Batch=body)
    record_id = receipt.Result[1].RecordId
    visit = visits[1]

    record = client.service.GetClaimRecord(RecordId=record_id)
    assert record.id == record_id
    assert record.kind == "hi_claim"
    assert record.schema_version == "1.0"
    assert (record.source.partner_id, record.source.channel, record.source.facility_code) == (
        HOSPITAL,
        "soap",
        "01929",
    )
    assert record.original.receipt_id == receipt.ReceiptId
    assert record.original.sha256 == hashlib.sha256(body).hexdigest()
    assert record.original.size == len(body)
    assert record.original.item == visit.ma_lk
    assert record.signature.fingerprint == fingerprint(pki.hospital.certificate)
    assert record.subject.citizen_id == visit.so_cccd
    assert record.subject.hi_card_number == visit.ma_the_bhyt
    assert record.subject.full_name == visit.ho_ten
    assert record.subject.date_of_birth == visit.ngay_sinh.isoformat()
    assert record.subject.gender == {1: "male", 2: "female"}[visit.gioi_tinh]
    payload = {etree.QName(e).localname: e for e in record.payload._value_1}
    assert {"visit", "patient", "totals"} <= payload.keys()
    assert payload["visit"].findtext(q(RECORD, "visit_key")) == visit.ma_lk
    assert payload["patient"].findtext(q(RECORD, "full_name")) == visit.ho_ten

    # The same record as the REST channel shows it.
    with served.client() as http:
        rest = http.get(f"/api/v1/claims/{record_id}").json()
    assert zeep.helpers.serialize_object(record.subject, dict) == rest["subject"]
    assert zeep.helpers.serialize_object(record.signature, dict) == rest["signature"]
    assert zeep.helpers.serialize_object(record.original, dict) == rest["original"]
    assert record.received_at == datetime.fromisoformat(rest["received_at"])

    # The XML rendering on the wire is valid against the published schema.
    with client.settings(raw_response=True):
        raw = client.service.GetClaimRecord(RecordId=record_id)
    assert raw.status_code == 200
    envelope = parse(raw.content, XmlLimits())
    wire = envelope.find(
        f"{q(SOAP11, 'Body')}/{q(CLAIMS_SERVICE, 'GetClaimRecordResponse')}/{q(RECORD, 'Record')}"
    )
    assert wire is not None
    schema = etree.XMLSchema(
        load_contract(str(CONTRACTS / "xsd" / "record.xsd"), folder=str(CONTRACTS / "xsd"))
    )
    assert schema.validate(wire), str(schema.error_log)
    assert wire.findtext(q(RECORD, "kind")) == "hi_claim"
    without_kind = copy.deepcopy(wire)
    kind = without_kind.find(q(RECORD, "kind"))
    assert kind is not None
    without_kind.remove(kind)
    assert not schema.validate(without_kind)


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper", [_tamper_content, _tamper_facility], ids=["NOIDUNGFILE", "MACSKCB"]
)
def test_batch_changed_after_signing_is_a_signature_invalid_fault(
    served: Served, soap: ClientFactory, pki: Pki, tamper: Callable[[bytes], bytes]
) -> None:
    body, _ = _signed(pki, 2)
    tampered = tamper(body)
    assert len(tampered) == len(body)
    client = soap()

    code, detail = _fault_of(lambda: client.service.SubmitClaimBatch(Batch=tampered))

    assert code == "SIGNATURE_INVALID"
    assert counts(served.gateway) == REJECTION_ONLY
    rejection = client.service.GetReceipt(ReceiptId=_rejection_receipt_id(detail))
    assert rejection.Status == "rejected"
    assert rejection.Error.Code == "SIGNATURE_INVALID"
    assert rejection.Result == []
    assert rejection.Sha256 == hashlib.sha256(tampered).hexdigest()


def test_batch_that_is_not_xml_is_an_xml_malformed_fault(
    served: Served, soap: ClientFactory
) -> None:
    code, detail = _fault_of(lambda: soap().service.SubmitClaimBatch(Batch=b"HOSO=1;MACSKCB=01929"))
    assert code == "XML_MALFORMED"
    assert _rejection_receipt_id(detail)
    assert counts(served.gateway) == REJECTION_ONLY


@pytest.mark.parametrize(
    "authorization", [None, "Bearer tok-nobody-" + "z" * 20, "Basic aG9zcGl0YWw6cHc="]
)
def test_request_without_a_valid_token_is_an_unauthorized_fault(
    served: Served, soap: ClientFactory, batch: Callable[..., bytes], authorization: str | None
) -> None:
    client = soap(None, authorization=authorization)
    code, _ = _fault_of(lambda: client.service.SubmitClaimBatch(Batch=batch(1)))
    assert code == "UNAUTHORIZED"
    assert counts(served.gateway) == NOTHING


def test_partner_without_claims_submit_gets_a_forbidden_fault(
    served: Served, soap: ClientFactory, batch: Callable[..., bytes]
) -> None:
    client = soap("reader")
    code, _ = _fault_of(lambda: client.service.SubmitClaimBatch(Batch=batch(1)))
    assert code == "FORBIDDEN"
    assert counts(served.gateway) == NOTHING


@pytest.mark.parametrize("partner", [OTHER_HOSPITAL, "reader"])
def test_another_partners_record_and_receipt_are_not_found_faults(
    soap: ClientFactory, batch: Callable[..., bytes], partner: str
) -> None:
    receipt = soap().service.SubmitClaimBatch(Batch=batch(1))
    stranger = soap(partner)

    record_code, _ = _fault_of(
        lambda: stranger.service.GetClaimRecord(RecordId=receipt.Result[0].RecordId)
    )
    receipt_code, _ = _fault_of(lambda: stranger.service.GetReceipt(ReceiptId=receipt.ReceiptId))

    assert (record_code, receipt_code) == ("NOT_FOUND", "NOT_FOUND")
    unknown_code, _ = _fault_of(lambda: soap().service.GetClaimRecord(RecordId="0" * 26))
    assert unknown_code == "NOT_FOUND"


# --- contract and interop ---------------------------------------------------------------------


def test_hand_written_soap_request_gets_the_same_answer_as_zeep(
    served: Served, soap: ClientFactory, batch: Callable[..., bytes]
) -> None:
    body = batch(2)
    submitted = post_soap(
        served,
        "SubmitClaimBatch",
        soap_envelope("SubmitClaimBatch", "Batch", base64.b64encode(body).decode()),
        HOSPITAL,
    )
    raw_receipt = answer_of(submitted, CLAIMS_SERVICE, "SubmitClaimBatch").find(
        q(CLAIMS_SERVICE, "Receipt")
    )
    assert raw_receipt is not None
    receipt_id = raw_receipt.findtext(q(CLAIMS_SERVICE, "ReceiptId"))
    assert receipt_id is not None
    assert raw_receipt.findtext(q(CLAIMS_SERVICE, "Status")) == "accepted"
    assert raw_receipt.findtext(q(CLAIMS_SERVICE, "Duplicate")) == "false"
    assert len(raw_receipt.findall(q(CLAIMS_SERVICE, "Result"))) == 2

    history = HistoryPlugin()
    client = soap(plugins=(history,))
    again = client.service.SubmitClaimBatch(Batch=body)
    assert (again.ReceiptId, again.Duplicate) == (receipt_id, True)
    assert counts(served.gateway) == {"receipts": 1, "records": 2, "originals": 1}

    client.service.GetReceipt(ReceiptId=receipt_id)
    assert history.last_received is not None
    by_zeep = history.last_received["envelope"]
    by_hand = post_soap(
        served, "GetReceipt", soap_envelope("GetReceipt", "ReceiptId", receipt_id), HOSPITAL
    )
    assert by_hand.status_code == 200
    assert c14n(parse(by_hand.content, XmlLimits())) == c14n(by_zeep)

    refused = post_soap(
        served, "GetReceipt", soap_envelope("GetReceipt", "ReceiptId", receipt_id), None
    )
    assert refused.status_code == 500
    fault = parse(refused.content, XmlLimits()).find(f"{q(SOAP11, 'Body')}/{q(SOAP11, 'Fault')}")
    assert fault is not None
    assert fault.findtext("faultcode") == "soap:Client"
    assert (
        fault.findtext(f"detail/{q(CLAIMS_SERVICE, 'GatewayFault')}/{q(CLAIMS_SERVICE, 'Code')}")
        == "UNAUTHORIZED"
    )


def test_rule_violations_and_signals_travel_in_the_soap_receipt(
    served: Served, soap: ClientFactory, pki: Pki
) -> None:
    def one(seed: int, fault: str) -> bytes:
        body, _ = make_batch(
            random.Random(seed),
            pki.hospital,
            "01929",
            1,
            created=date.today(),
            faults=[fault],
            first_index=seed * 10,
        )
        return body

    client = soap()
    broken = client.service.SubmitClaimBatch(Batch=one(41, "total_mismatch"))
    [result] = broken.Result
    assert (broken.Status, result.Status) == ("rejected", "rejected")
    assert result.Error[0].Code == "RULE_VIOLATION"
    assert any("rule=QD130-TOTAL-T_THUOC" in issue for issue in result.Error[0].Issue)

    flagged = client.service.SubmitClaimBatch(Batch=one(42, "high_quantity"))
    [result] = flagged.Result
    assert result.Status == "accepted" and result.RecordId
    assert "QUANTITY_CEILING" in {signal.Code for signal in result.Signal}


def test_an_unexpected_failure_is_a_server_fault_and_stores_nothing(
    served: Served, soap: ClientFactory, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setitem(claims.OPERATIONS, q(CLAIMS_SERVICE, "SubmitClaimBatch"), broken)
    with pytest.raises(zeep.exceptions.Fault) as caught:
        soap().service.SubmitClaimBatch(Batch=_signed(pki, 1)[0])
    assert caught.value.code == "soap:Server"
    assert _gateway_fault(caught.value)[0] == "INTERNAL"
    assert "a bug" not in caught.value.message
    assert counts(served.gateway) == NOTHING
