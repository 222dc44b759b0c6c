"""Receipts: what the gateway answers for every submission, signed with its own key."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import orjson
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from gateway.errors import GatewayError
from gateway.records.model import Signal
from gateway.store.ports import StoredReceipt
from gateway.trust.sign import SigningIdentity, sign_enveloped
from gateway.xml.ns import RECEIPT, q
from gateway.xml.tree import root_element


class ErrorInfo(BaseModel):
    """A SPEC error code with its detail and findings."""

    model_config = ConfigDict(frozen=True)

    code: str
    detail: str
    issues: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, error: GatewayError) -> ErrorInfo:
        return cls(code=error.code, detail=error.detail, issues=[i.as_dict() for i in error.issues])


class ItemResult(BaseModel):
    """The result of one item (a HOSO of a claim batch)."""

    model_config = ConfigDict(frozen=True)

    index: int
    key: str | None = Field(default=None, description="the item's own key (MA_LK)")
    status: Literal["accepted", "rejected"]
    record_id: str | None = None
    duplicate: bool = Field(
        default=False, description="the item was accepted before, unchanged: record_id is that one"
    )
    signals: list[Signal] = Field(default_factory=list)
    errors: list[ErrorInfo] = Field(default_factory=list)


class _Reception(BaseModel):
    """What every receipt states: partner, channel, time, digest and size of the exact bytes."""

    model_config = ConfigDict(frozen=True)

    id: str
    partner_id: str
    channel: str
    received_at: datetime
    sha256: str
    size: int
    format: str

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    def stored(self, xml: bytes, *, accepted: bool) -> StoredReceipt:
        """The receipt as the store keeps it, with ``xml``, its form signed by the gateway."""
        return StoredReceipt(
            id=self.id,
            partner_id=self.partner_id,
            sha256=self.sha256,
            accepted=accepted,
            json=self.to_json(),
            xml=xml,
        )


class Receipt(_Reception):
    """Proof of reception of a claim batch (or another hospital document), result per item."""

    status: Literal["accepted", "partially_accepted", "rejected"]
    error: ErrorInfo | None = None
    results: list[ItemResult] = Field(default_factory=list)


class DossierReceipt(_Reception):
    """Proof of reception of a dossier, or of documents added to one: the portal's ``MaHoSo``,
    the gateway's dossier id, where it was routed and by when it is due."""

    kind: Literal["dossier", "documents"] = "dossier"
    status: Literal["received"] = "received"
    dossier_id: str
    ma_ho_so: str
    procedure: str
    department: str
    due_date: date = Field(description="NgayHenTra, Vietnam calendar date")


def _text(parent: etree._Element, local: str, value: object) -> etree._Element:
    element = etree.SubElement(parent, q(RECEIPT, local))
    if value is not None:
        element.text = str(value)
    return element


def _error_xml(parent: etree._Element, error: ErrorInfo) -> None:
    element = etree.SubElement(parent, q(RECEIPT, "Error"), code=error.code)
    _text(element, "Detail", error.detail)
    for issue in error.issues:
        etree.SubElement(element, q(RECEIPT, "Issue"), {k: str(v) for k, v in issue.items()})


def _head(receipt: Receipt | DossierReceipt) -> etree._Element:
    root = root_element(q(RECEIPT, "Receipt"), default_ns=RECEIPT, Id=receipt.id)
    _text(root, "PartnerId", receipt.partner_id)
    _text(root, "Channel", receipt.channel)
    _text(root, "ReceivedAt", receipt.received_at.isoformat())
    _text(root, "Sha256", receipt.sha256)
    _text(root, "Size", receipt.size)
    _text(root, "Format", receipt.format)
    _text(root, "Status", receipt.status)
    return root


def signed_xml(receipt: Receipt, identity: SigningIdentity) -> bytes:
    """The receipt as XML (namespace ``urn:vss:gateway:receipt:1``), signed by the gateway."""
    root = _head(receipt)
    if receipt.error is not None:
        _error_xml(root, receipt.error)
    results = etree.SubElement(root, q(RECEIPT, "Results"))
    for item in receipt.results:
        attrs = {"index": str(item.index), "status": item.status}
        if item.key is not None:
            attrs["key"] = item.key
        if item.record_id is not None:
            attrs["recordId"] = item.record_id
        if item.duplicate:
            attrs["duplicate"] = "true"
        result = etree.SubElement(results, q(RECEIPT, "Result"), attrs)
        for signal in item.signals:
            _text(result, "Signal", signal.reason).set("code", signal.code)
        for error in item.errors:
            _error_xml(result, error)
    sign_enveloped(root, identity, container=root)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def signed_dossier_xml(receipt: DossierReceipt, identity: SigningIdentity) -> bytes:
    """A dossier receipt as XML, in the namespace and layout of ``signed_xml``, signed by the
    gateway."""
    root = _head(receipt)
    etree.SubElement(
        root,
        q(RECEIPT, "Dossier"),
        {
            "kind": receipt.kind,
            "id": receipt.dossier_id,
            "maHoSo": receipt.ma_ho_so,
            "procedure": receipt.procedure,
            "department": receipt.department,
            "dueDate": receipt.due_date.isoformat(),
        },
    )
    sign_enveloped(root, identity, container=root)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
