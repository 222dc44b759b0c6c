"""The SOAP 1.1 dossiers service over real HTTP (SPEC section 4): zeep, unmodified, as the portal.

zeep loads the WSDL from ``/soap/dossiers?wsdl``, sends e-dossiers signed at both levels by an
independent signer (xmlsec) as base64Binary, adds documents, reads a dossier a department moved
over REST, and reads Faults through the WSDL's own fault type; a request written by hand as .NET
writes it shows the service speaks plain SOAP 1.1, not just zeep's dialect of it.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import zeep
import zeep.exceptions
from zeep.plugins import HistoryPlugin

from adapters.portal.synth import GeneratedDossier, make_dossier
from gateway.dossiers.calendar import VIETNAM, WorkingCalendar
from gateway.dossiers.lifecycle import State
from gateway.dossiers.routing import load
from gateway.errors import Conflict
from gateway.soap import envelope
from gateway.trust.sign import SigningIdentity
from gateway.xml.ns import DOSSIERS_SERVICE as NS
from gateway.xml.ns import RECEIPT, SOAP11, XSD, q
from gateway.xml.parser import XmlLimits, parse
from gateway.xml.tree import find_all
from tests.conftest import DOSSIER_TABLES, HOSPITAL, Pki, Served, counts
from tests.support.edossiers import (
    CITIZEN_ID,
    CITIZEN_NAME,
    moved,
    signed_dossier,
    xmlsec_signer,
)
from tests.support.soap import (
    ZeepClients,
    answer_of,
    c14n,
    dotnet_envelope,
    gateway_fault,
    post_soap,
    signed_receipt,
)

WORKING_DAYS = {p: r.working_days for p, r in load(None).routes.items()}
NOTHING = dict.fromkeys(DOSSIER_TABLES, 0)


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def soap(served: Served) -> Iterator[ZeepClients]:
    """``soap(partner="portal")``: a zeep client on the dossiers WSDL the gateway serves."""
    clients = ZeepClients(served, "dossiers", partner="portal")
    yield clients
    clients.close()


def _submit(client: zeep.Client, made: GeneratedDossier) -> Any:
    return client.service.SubmitDossier(
        MaHoSo=made.ma_ho_so, MaTTHC=made.ma_tthc, Dossier=made.body
    )


def _fault_of(client: zeep.Client, call: Callable[[], object]) -> Any:
    """The ``GatewayFault`` of the Client Fault that ``call`` raises, read with the WSDL."""
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    assert caught.value.code == "soap:Client"
    return gateway_fault(caught.value, client, NS)


def _stored(served: Served) -> dict[str, int]:
    return counts(served.gateway, DOSSIER_TABLES)


def _faulty(applicant: SigningIdentity, fault: str, *, number: int) -> GeneratedDossier:
    today = datetime.now(UTC).astimezone(VIETNAM).date()
    return make_dossier(
        random.Random(number),
        "BENEFIT_MATERNITY",
        applicant,
        signer=xmlsec_signer,
        number=number,
        today=today,
        faults=(fault,),
    )


def _tamper_envelope(made: GeneratedDossier) -> GeneratedDossier:
    """One digit of the envelope's DienThoai changed, after signing."""
    body = made.body
    at = body.index(b"<DienThoai>") + len(b"<DienThoai>")
    digit = body[at : at + 1]
    assert digit.isdigit(), digit
    tampered = body[:at] + (b"1" if digit != b"1" else b"2") + body[at + 1 :]
    return GeneratedDossier(tampered, made.ma_ho_so, made.ma_tthc, made.procedure, ("tampered",))


def _ask_for_supplements(served: Served, dossier_id: str, **ask: object) -> dict[str, object]:
    """The benefits department, over REST, accepts the dossier (officer Lê Văn Tâm), processes
    it and asks for supplements (``ask``: documents, reason); the dossier after that."""
    with served.client("benefits") as department:
        moved(department, dossier_id, to="accepted", officer="Lê Văn Tâm")
        moved(department, dossier_id, to="processing")
        return moved(department, dossier_id, to="supplement_requested", **ask)


def _steps(dossier: Any) -> list[tuple[str, str, str]]:
    return [(step.State, step.Actor, step.By) for step in dossier.Step]


# --- submission -------------------------------------------------------------------------------


def test_a_signed_dossier_is_received_routed_and_answered_with_a_signed_receipt(
    served: Served, soap: ZeepClients, applicant: SigningIdentity, pki: Pki
) -> None:
    made = signed_dossier(applicant, number=1)
    receipt = _submit(soap(), made)

    assert (receipt.Status, receipt.Kind, receipt.Duplicate) == ("received", "dossier", False)
    assert (receipt.MaHoSo, receipt.Procedure) == (made.ma_ho_so, "BENEFIT_MATERNITY")
    assert receipt.Department == "benefits"
    assert receipt.Sha256 == hashlib.sha256(made.body).hexdigest()
    due = WorkingCalendar().due_date(receipt.ReceivedAt, WORKING_DAYS["BENEFIT_MATERNITY"])
    assert receipt.DueDate == due

    signed = signed_receipt(receipt.SignedReceipt, pki)
    assert signed.tag == q(RECEIPT, "Receipt")
    assert signed.get("Id") == receipt.ReceiptId
    assert signed.findtext(q(RECEIPT, "Channel")) == "soap"
    dossier = signed.find(q(RECEIPT, "Dossier"))
    assert dossier is not None
    assert dossier.get("dueDate") == due.isoformat()

    # The same dossier and receipt as REST shows them.
    with served.client("portal") as http:
        rest = http.get(f"/api/v1/receipts/{receipt.ReceiptId}").json()
        state = http.get(f"/api/v1/dossiers/{receipt.DossierId}").json()
    assert (rest["dossier_id"], rest["channel"]) == (receipt.DossierId, "soap")
    assert (state["state"], state["ma_ho_so"]) == ("received", made.ma_ho_so)
    assert _stored(served)["dossier_dossiers"] == 1


def test_the_same_dossier_again_answers_the_original_receipt_marked_duplicate(
    served: Served, soap: ZeepClients, applicant: SigningIdentity
) -> None:
    client = soap()
    made = signed_dossier(applicant, number=2)
    first = _submit(client, made)
    by_bytes = _submit(client, made)
    # Other bytes (another dossier) under the same MaHoSo: still the first one.
    other = signed_dossier(applicant, number=3)
    by_code = _submit(
        client, GeneratedDossier(other.body, made.ma_ho_so, other.ma_tthc, other.procedure, ())
    )

    assert first.Duplicate is False
    for again in (by_bytes, by_code):
        assert (again.ReceiptId, again.DossierId, again.Duplicate) == (
            first.ReceiptId,
            first.DossierId,
            True,
        )
        assert again.SignedReceipt == first.SignedReceipt
    stored = _stored(served)
    assert (stored["dossier_dossiers"], stored["dossier_receipts"]) == (1, 1)


@pytest.mark.parametrize("where", ["form", "envelope"])
def test_a_dossier_changed_after_signing_is_a_signature_invalid_fault_and_stores_nothing(
    served: Served, soap: ZeepClients, applicant: SigningIdentity, where: str
) -> None:
    if where == "form":
        tampered = _faulty(applicant, "tampered-form", number=4)
    else:
        tampered = _tamper_envelope(signed_dossier(applicant, number=4))
    client = soap()

    fault = _fault_of(client, lambda: _submit(client, tampered))

    assert fault.Code == "SIGNATURE_INVALID"
    assert fault.Detail
    assert _stored(served) == NOTHING


def test_an_unknown_procedure_is_a_rule_violation_fault_naming_the_rule(
    served: Served, soap: ZeepClients, applicant: SigningIdentity
) -> None:
    made = signed_dossier(applicant, number=5)
    unknown = GeneratedDossier(made.body, made.ma_ho_so, "1.000000", made.procedure, ())
    client = soap()

    fault = _fault_of(client, lambda: _submit(client, unknown))

    assert fault.Code == "RULE_VIOLATION"
    assert any(
        "rule=DOSSIER.PROCEDURE_UNKNOWN" in issue and "path=MaTTHC" in issue
        for issue in fault.Issue
    ), fault.Issue
    assert _stored(served) == NOTHING


@pytest.mark.parametrize(
    ("member", "value", "code"),
    [
        ("MaHoSo", "G24-261340-00001", "XML_MALFORMED"),
        ("Dossier", b"HOSO=1;MaHoSo=G24", "XML_MALFORMED"),
        (
            "Dossier",
            b'<!DOCTYPE Hoso [<!ENTITY a "b">]><Hoso>&a;</Hoso>',
            "XML_FORBIDDEN_CONSTRUCT",
        ),
    ],
    ids=["MaHoSo", "not-xml", "dtd"],
)
def test_bad_input_is_a_fault_with_its_code_and_stores_nothing(
    served: Served,
    soap: ZeepClients,
    applicant: SigningIdentity,
    member: str,
    value: str | bytes,
    code: str,
) -> None:
    made = signed_dossier(applicant, number=6)
    fields: dict[str, object] = {
        "MaHoSo": made.ma_ho_so,
        "MaTTHC": made.ma_tthc,
        "Dossier": made.body,
    }
    fields[member] = value
    client = soap()

    fault = _fault_of(client, lambda: client.service.SubmitDossier(**fields))

    assert fault.Code == code
    if member == "MaHoSo":
        assert any("path=MaHoSo" in issue for issue in fault.Issue), fault.Issue
    assert _stored(served) == NOTHING


@pytest.mark.parametrize(
    ("partner", "code"),
    [("benefits", "FORBIDDEN"), (HOSPITAL, "FORBIDDEN"), (None, "UNAUTHORIZED")],
)
def test_only_a_portal_submits(
    served: Served,
    soap: ZeepClients,
    applicant: SigningIdentity,
    partner: str | None,
    code: str,
) -> None:
    client = soap(partner)
    made = signed_dossier(applicant, number=7)
    assert _fault_of(client, lambda: _submit(client, made)).Code == code
    assert _stored(served) == NOTHING


# --- documents and state ----------------------------------------------------------------------


def test_get_dossier_shows_what_a_department_did_over_rest(
    served: Served, soap: ZeepClients, applicant: SigningIdentity
) -> None:
    client = soap()
    receipt = _submit(client, signed_dossier(applicant, number=10))
    asked = _ask_for_supplements(
        served,
        receipt.DossierId,
        documents=["Giấy ra viện (bản sao)"],
        reason="thiếu giấy ra viện",
    )

    dossier = client.service.GetDossier(DossierId=receipt.DossierId)

    assert (dossier.DossierId, dossier.MaHoSo, dossier.Department) == (
        receipt.DossierId,
        receipt.MaHoSo,
        "benefits",
    )
    assert (dossier.State, dossier.Late, dossier.Version) == ("supplement_requested", False, 4)
    assert dossier.DueDate.isoformat() == asked["due_date"]
    assert dossier.SupplementDue.isoformat() == asked["supplement_due"]
    assert dossier.RequestedDocument == ["Giấy ra viện (bản sao)"]
    assert (dossier.Applicant.Kind, dossier.Applicant.Id, dossier.Applicant.Name) == (
        "citizen",
        CITIZEN_ID,
        CITIZEN_NAME,
    )
    assert _steps(dossier) == [
        ("received", "gateway", "gateway"),
        ("accepted", "department", "benefits"),
        ("processing", "department", "benefits"),
        ("supplement_requested", "department", "benefits"),
    ]
    assert dossier.Step[1].Officer == "Lê Văn Tâm"
    assert dossier.Step[3].Reason == "thiếu giấy ra viện"
    assert dossier.Step[3].Document == ["Giấy ra viện (bản sao)"]
    assert dossier.Step[3].DueDate == dossier.DueDate
    # The portal sends the supplements or withdraws it; the department goes on without them
    # or stops it.
    assert dossier.Allowed == ["processing", "withdrawn"]
    as_department = soap("benefits").service.GetDossier(DossierId=receipt.DossierId)
    assert as_department.Allowed == ["processing", "stopped"]


def test_additional_documents_are_verified_kept_once_and_end_the_wait_for_supplements(
    served: Served, soap: ZeepClients, applicant: SigningIdentity
) -> None:
    client = soap()
    receipt = _submit(client, signed_dossier(applicant, number=11))
    _ask_for_supplements(served, receipt.DossierId, documents=["Giấy ra viện"])
    tampered = _faulty(applicant, "tampered-form", number=111)
    fault = _fault_of(
        client,
        lambda: client.service.SubmitDocuments(
            DossierId=receipt.DossierId, Documents=tampered.body
        ),
    )
    assert fault.Code == "SIGNATURE_INVALID"
    assert client.service.GetDossier(DossierId=receipt.DossierId).State == "supplement_requested"

    documents = signed_dossier(applicant, number=112).body
    sent = client.service.SubmitDocuments(DossierId=receipt.DossierId, Documents=documents)
    again = client.service.SubmitDocuments(DossierId=receipt.DossierId, Documents=documents)

    assert (sent.Kind, sent.Status, sent.Duplicate) == ("documents", "received", False)
    assert (sent.DossierId, sent.MaHoSo) == (receipt.DossierId, receipt.MaHoSo)
    assert sent.ReceiptId != receipt.ReceiptId
    assert sent.Sha256 == hashlib.sha256(documents).hexdigest()
    assert (again.ReceiptId, again.Duplicate) == (sent.ReceiptId, True)
    dossier = client.service.GetDossier(DossierId=receipt.DossierId)
    assert dossier.State == "processing"
    assert dossier.RequestedDocument == []
    assert _steps(dossier)[-1] == ("processing", "portal", "portal")


def test_documents_for_a_dossier_that_is_over_are_a_conflict_fault(
    served: Served, soap: ZeepClients, applicant: SigningIdentity
) -> None:
    client = soap()
    receipt = _submit(client, signed_dossier(applicant, number=12))
    with served.client("benefits") as department:
        moved(department, receipt.DossierId, to="refused", reason="không thuộc thẩm quyền")
    before = _stored(served)
    documents = signed_dossier(applicant, number=121).body

    fault = _fault_of(
        client,
        lambda: client.service.SubmitDocuments(DossierId=receipt.DossierId, Documents=documents),
    )

    assert (fault.Code, fault.Allowed) == ("CONFLICT", [])
    assert _stored(served) == before


def test_a_conflict_fault_carries_the_allowed_moves_as_the_wsdl_describes(
    soap: ZeepClients,
) -> None:
    refused = Conflict("a dossier that is accepted cannot be moved", allowed=["processing"])
    body = parse(envelope.fault(refused, service_ns=NS), XmlLimits())
    detail = body.find(f"{q(SOAP11, 'Body')}/{q(SOAP11, 'Fault')}/detail/{q(NS, 'GatewayFault')}")
    assert detail is not None
    client = soap()
    fault = client.get_element(q(NS, "GatewayFault")).parse(detail, client.wsdl.types)
    assert (fault.Code, fault.Allowed) == ("CONFLICT", ["processing"])


@pytest.mark.parametrize("partner", ["other-portal", "book-and-card"])
def test_another_partners_dossier_is_not_found(
    soap: ZeepClients, applicant: SigningIdentity, partner: str
) -> None:
    receipt = _submit(soap(), signed_dossier(applicant, number=13))
    stranger = soap(partner)

    read = _fault_of(stranger, lambda: stranger.service.GetDossier(DossierId=receipt.DossierId))
    unknown = _fault_of(stranger, lambda: stranger.service.GetDossier(DossierId="0" * 26))
    assert (read.Code, unknown.Code) == ("NOT_FOUND", "NOT_FOUND")
    assert read.Detail == unknown.Detail.replace("0" * 26, receipt.DossierId)
    if partner == "other-portal":
        documents = signed_dossier(applicant, number=131).body
        added = _fault_of(
            stranger,
            lambda: stranger.service.SubmitDocuments(
                DossierId=receipt.DossierId, Documents=documents
            ),
        )
        assert added.Code == "NOT_FOUND"


# --- contract and interop ---------------------------------------------------------------------


def test_the_wsdl_names_the_lifecycle_states(served: Served) -> None:
    with served.client(None) as http:
        wsdl = http.get("/soap/dossiers?wsdl")
    states = find_all(
        parse(wsdl.content, XmlLimits()),
        "//xs:simpleType[@name='StateType']/xs:restriction/xs:enumeration",
        {"xs": XSD},
    )
    assert [s.get("value") for s in states] == [str(s) for s in State]


def test_a_request_written_as_dotnet_writes_it_gets_the_same_answer_as_zeep(
    served: Served, soap: ZeepClients, applicant: SigningIdentity
) -> None:
    made = signed_dossier(applicant, number=20)
    fields = {
        "MaHoSo": made.ma_ho_so,
        "MaTTHC": made.ma_tthc,
        "Dossier": base64.b64encode(made.body).decode(),
    }
    by_hand = post_soap(
        served,
        "SubmitDossier",
        dotnet_envelope(NS, "SubmitDossier", fields),
        "portal",
        service="dossiers",
        ns=NS,
    )
    receipt = answer_of(by_hand, NS, "SubmitDossier").find(q(NS, "Receipt"))
    assert receipt is not None
    dossier_id = receipt.findtext(q(NS, "DossierId"))
    assert dossier_id is not None
    assert receipt.findtext(q(NS, "Status")) == "received"
    assert receipt.findtext(q(NS, "Duplicate")) == "false"

    history = HistoryPlugin()
    client = soap(plugins=(history,))
    again = _submit(client, made)
    assert (again.DossierId, again.Duplicate) == (dossier_id, True)

    client.service.GetDossier(DossierId=dossier_id)
    assert history.last_received is not None
    read_by_hand = post_soap(
        served,
        "GetDossier",
        dotnet_envelope(NS, "GetDossier", {"DossierId": dossier_id}),
        "portal",
        service="dossiers",
        ns=NS,
    )
    assert read_by_hand.status_code == 200
    assert c14n(parse(read_by_hand.content, XmlLimits())) == c14n(history.last_received["envelope"])
