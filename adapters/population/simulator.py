"""A population-database (C06) simulator: ``XacThucThongTinCongDan`` and
``TraCuuThongTinCongDan`` as a real SOAP 1.1 service over HTTP (``wsdl/population.wsdl``), over
synthetic citizens (``citizens``), with faults.

It checks what C06's callers must send (reference/IDENTITY.md section 1.4): the NDXP headers
(``Timestamp`` within five minutes, ``Authorization`` made from the URL, the account and its
secret, ``ApiKey``, ``X-Road-Client``; otherwise HTTP 401), the request fields in their order,
and a ``MaYeuCau`` never seen before (otherwise a SOAP Fault). It keeps every call's leading
fields and headers, never the person asked about.

Faults, for tests (``Population.inject``) and the demo (``POST /_simulator/faults``), apply to
calls (of one ``operation``, or all), for the next ``times`` calls or until reset: ``slow``
(answer ``delay`` seconds late), ``status`` (an HTTP error without a SOAP body), ``fault`` (a SOAP
Fault), ``wrong`` (an answer to another question: another ``MaYeuCau``, another citizen). "Down"
is the server stopped.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import Response
from lxml import etree
from pydantic import Field

from adapters.population import protocol as p
from adapters.population.citizens import Citizen
from gateway.errors import GatewayError
from gateway.simulators import FaultySimulator, InjectedFault, add_fault_routes
from gateway.xml.parser import XmlLimits, parse

FaultKind = Literal["slow", "status", "fault", "wrong"]
_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_LIMITS = XmlLimits(max_bytes=64 * 1024, max_depth=16, max_elements=200, max_attributes=50)
_XML = "text/xml; charset=utf-8"
_SEEN = 100_000  # MaYeuCau remembered, to refuse a repeated one


class Fault(InjectedFault):
    """One injected fault (the body of ``POST /_simulator/faults``)."""

    kind: FaultKind
    operation: str | None = None  # only calls of this operation; None: every call
    delay: float = Field(default=0.0, ge=0, le=120)
    status: int = Field(default=503, ge=500, le=599)
    message: str = "Lỗi hệ thống"

    def applies_to(self, call: str) -> bool:
        return self.operation in (None, call)


@dataclass(frozen=True)
class Call:
    """One call as received: its operation, the names of its fields in order, the values of its
    leading fields (MaYeuCau, MaDVC, MaTichHop, MaCanBo) and its NDXP client."""

    operation: str
    fields: tuple[str, ...]
    leading: dict[str, str]
    client: str


class SoapFault(Exception):
    """Answered as a SOAP Fault."""

    def __init__(self, message: str, *, code: str = "Server") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _State:
    citizens: dict[str, Citizen] = field(default_factory=dict)  # SoDinhDanh and SoCMND
    calls: list[Call] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    order: deque[str] = field(default_factory=deque)


class Population(FaultySimulator[Fault]):
    """The simulated database, shared by its HTTP handler and the test or demo driving it."""

    def __init__(
        self,
        citizens: Iterable[Citizen],
        *,
        username: str,
        secret: str,
        api_key: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._username, self._secret, self._api_key = username, secret, api_key
        self._clock = clock
        self._state = _State()
        for person in citizens:
            self.add(person)

    # -- the handles of tests and the demo ----------------------------------------------------
    def add(self, person: Citizen) -> None:
        with self._lock:
            self._state.citizens[person.citizen_id] = person
            if person.legacy_id:
                self._state.citizens[person.legacy_id] = person

    def calls(self) -> list[Call]:
        with self._lock:
            return copy.deepcopy(self._state.calls)

    # -- the service --------------------------------------------------------------------------
    def authorized(self, url: str, headers: dict[str, str]) -> bool:
        """Whether the NDXP headers are this account's, made for ``url``, and fresh."""
        timestamp = headers.get(p.TIMESTAMP.lower(), "")
        if not timestamp.isdigit() or not headers.get(p.CLIENT.lower()):
            return False
        if abs(int(timestamp) - int(self._clock() * 1000)) > p.MAX_SKEW_MS:
            return False
        expected = p.authorization(url, self._username, timestamp, self._secret)
        return hmac.compare_digest(
            headers.get(p.AUTHORIZATION.lower(), ""), expected
        ) and hmac.compare_digest(headers.get(p.API_KEY.lower(), ""), self._api_key)

    def arrive(self, call: Call) -> Fault | None:
        """Record a call; its fault, if any (counting that down)."""
        with self._lock:
            self._state.calls.append(call)
            return self._faulted(call.operation)

    def answer(self, operation: str, values: dict[str, str], *, wrong: bool) -> etree._Element:
        """The body of the answer; ``SoapFault`` for a request C06 would refuse."""
        request_id = values.get("MaYeuCau", "")
        with self._lock:
            if request_id in self._state.seen:
                raise SoapFault(f"MaYeuCau {request_id} đã được sử dụng", code="Client")
            self._state.seen.add(request_id)
            self._state.order.append(request_id)
            if len(self._state.order) > _SEEN:
                self._state.seen.discard(self._state.order.popleft())
            number = values.get("SoDinhDanh") or values.get("SoCMND") or ""
            found = self._state.citizens.get(number)
            other = next((c for c in self._state.citizens.values() if c is not found), None)
        if operation == p.VERIFY:
            matched = found is not None and _matches(found, values)
            return _verification(request_id + "-X" if wrong else request_id, matched or wrong)
        if operation == p.LOOKUP:
            return _collection(other if wrong else found)
        raise SoapFault(f"Không hỗ trợ thao tác {operation}", code="Client")


def _matches(person: Citizen, values: dict[str, str]) -> bool:
    name = values.get("HoVaTen")
    if name is not None and p.canonical_name(name) != person.full_name:
        return False
    day, year = values.get("NgayThangNam"), values.get("Nam")
    if day is not None:
        full = len(person.born) == 10
        return day == person.born.replace("-", "") if full else day[:4] == person.year
    return year is None or year == person.year


def _q(name: str, ns: str = p.NS) -> str:
    return f"{{{ns}}}{name}"


def _add(parent: etree._Element, name: str, text: str | None, ns: str = p.NS_DANCU) -> None:
    if text is not None:
        etree.SubElement(parent, _q(name, ns)).text = text


def _verification(request_id: str, matched: bool) -> etree._Element:
    result = etree.Element(_q("KetQuaXacThuc"), nsmap={"qldc": p.NS})
    _add(result, "MaYeuCau", request_id, p.NS)
    _add(result, "TonTai", "true" if matched else "false", p.NS)
    return result


def _collection(person: Citizen | None) -> etree._Element:
    collection = etree.Element(_q("CongdanCollection", p.NS_DANCU), nsmap={"ns1": p.NS_DANCU})
    if person is None:
        return collection  # not found: no CongDan
    row = etree.SubElement(collection, _q("CongDan", p.NS_DANCU))
    _add(row, "SoDinhDanh", person.citizen_id)
    _add(row, "SoCMND", person.legacy_id)
    name = etree.SubElement(row, _q("HoVaTen", p.NS_DANCU))
    words = person.full_name.split()
    _add(name, "Ho", words[0] if len(words) > 1 else None)
    _add(name, "ChuDem", " ".join(words[1:-1]) or None)
    _add(name, "Ten", words[-1])
    _add(row, "GioiTinh", person.gender)
    birth = etree.SubElement(row, _q("NgayThangNamSinh", p.NS_DANCU))
    _add(birth, "Nam", person.year)
    _add(birth, "NgayThangNam", person.born.replace("-", "") if len(person.born) == 10 else None)
    home = etree.SubElement(row, _q("ThuongTru", p.NS_DANCU))
    address = person.residence
    _add(home, "MaTinhThanh", address.province)
    _add(home, "MaQuanHuyen", address.district)
    _add(home, "MaPhuongXa", address.ward)
    _add(home, "ChiTiet", address.detail)
    _add(home, "QuocGia", address.country)
    return collection


def _envelope(content: etree._Element) -> bytes:
    envelope = etree.Element(_q("Envelope", _SOAP), nsmap={"soapenv": _SOAP})
    etree.SubElement(envelope, _q("Header", _SOAP))
    etree.SubElement(envelope, _q("Body", _SOAP)).append(content)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def _fault(fault: SoapFault) -> Response:
    body = etree.Element(_q("Fault", _SOAP), nsmap={"soapenv": _SOAP})
    etree.SubElement(body, "faultcode").text = f"soapenv:{fault.code}"
    etree.SubElement(body, "faultstring").text = str(fault)
    return Response(_envelope(body), status_code=500, media_type=_XML)


def _read(body: bytes) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """The operation, its fields' names in order, and every leaf's text by name."""
    try:
        root = parse(body, _LIMITS)
    except GatewayError as exc:
        raise SoapFault(f"Yêu cầu không hợp lệ: {exc.detail}", code="Client") from exc
    request = root.find(f"{_q('Body', _SOAP)}/*")
    if root.tag != _q("Envelope", _SOAP) or request is None:
        raise SoapFault("Không phải SOAP 1.1", code="Client")
    operation = etree.QName(request).localname
    fields = tuple(etree.QName(child).localname for child in request)
    values = {
        etree.QName(leaf).localname: (leaf.text or "").strip()
        for leaf in request.iter()
        if len(leaf) == 0 and leaf is not request
    }
    return operation, fields, values


def create_app(population: Population, *, path: str = "/population") -> FastAPI:
    """The simulator's HTTP face: the SOAP endpoint at ``path`` and its admin endpoints."""
    app = FastAPI(title="C06 simulator", openapi_url=None, docs_url=None, redoc_url=None)

    @app.post(path)
    async def soap(request: Request) -> Response:
        url = str(request.url.replace(query=""))
        if not population.authorized(url, dict(request.headers)):
            return Response("Unauthorized", status_code=401, media_type="text/plain")
        try:
            operation, fields, values = _read(await request.body())
        except SoapFault as exc:
            return _fault(exc)
        leading = {name: values.get(name, "") for name in p.HEADER_FIELDS}
        fault = population.arrive(
            Call(operation, fields, leading, request.headers.get(p.CLIENT, ""))
        )
        if fault is not None and fault.kind == "status":
            return Response("Service Unavailable", fault.status, media_type="text/plain")
        if fault is not None and fault.kind == "fault":
            return _fault(SoapFault(fault.message))
        try:
            answer = population.answer(
                operation, values, wrong=fault is not None and fault.kind == "wrong"
            )
        except SoapFault as exc:
            return _fault(exc)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        return Response(_envelope(answer), media_type=_XML)

    add_fault_routes(app, population, Fault)

    @app.get("/_simulator/calls")
    async def calls() -> list[dict[str, object]]:
        return [call.__dict__ for call in population.calls()]

    return app
