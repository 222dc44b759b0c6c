"""The C06 client: the ``PopulationRegistry`` port over SOAP 1.1 with zeep, behind a ``Guard``.

zeep reads ``wsdl/population.wsdl`` (a local file, never fetched) and posts to
``GATEWAY_POPULATION_URL``. Every call carries a new ``MaYeuCau`` (a ULID: C06 refuses one it has
seen, so a retry gets its own), the ``MaDVC`` and ``MaCanBo`` of its ``Inquiry``, the agreement
code of its operation, and the NDXP headers (``Timestamp``, ``Authorization``, ``X-Road-Client``,
``ApiKey``). Each call is one line of log naming its ``MaYeuCau``, its operation, the citizen
masked, the outcome and the time taken; no name, birth or record reaches a log.

Failures are sorted in one table (``_failure``): no answer (a timeout, no connection, HTTP 5xx)
is ``Transient`` and retried; an answer that is not one (a SOAP Fault, HTTP 4xx, XML that is not
the WSDL's, an answer over the size bound, an answer to another question) is ``Refused``. A
wrong answer is a protocol error, never a mismatch: a citizen is not refused for the database's
fault (``gateway.identity.population``'s invariant).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import zeep
import zeep.exceptions
from lxml import etree
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from ulid import ULID
from zeep.transports import Transport

from adapters.population import protocol as p
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.identity.population import (
    CITIZEN_ID,
    Address,
    CitizenRecord,
    Inquiry,
    Person,
    Verification,
    masked,
)
from gateway.resilience import Guard, GuardPolicy, Refused, Transient
from gateway.xml.contracts import default_folder

log = logging.getLogger(__name__)
WHAT = "the national population database"
_BINDING = f"{{{p.NS}}}CongDanBinding"


@dataclass(frozen=True)
class PopulationAccount:
    """The gateway's account at C06 and how long it waits for one answer."""

    url: str  # the SOAP endpoint (GATEWAY_POPULATION_URL)
    username: str
    secret: SecretStr
    api_key: SecretStr
    client: str  # X-Road-Client: the gateway's NDXP member and subsystem
    officer: str  # MaCanBo of the gateway's automatic checks
    verify_agreement: str = "003"  # MaTichHop of XacThucThongTinCongDan
    lookup_agreement: str = "037"  # MaTichHop of TraCuuThongTinCongDan
    timeout: float = 5.0  # seconds to connect, and between two bytes of the answer
    max_answer_bytes: int = 256 * 1024


class WrongAnswer(Refused):
    """C06 answered, but not the question asked."""


class _TooLarge(Exception):
    """An answer over ``max_answer_bytes``."""


class _Transport(Transport):
    """zeep's transport with the NDXP headers on every POST, answers read up to a bound, and
    none of zeep's debug logging of whole messages (they carry personal data)."""

    def __init__(self, account: PopulationAccount, *, pool: int, clock: Callable[[], float]):
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        super().__init__(session=session, timeout=account.timeout)  # type: ignore[no-untyped-call]
        self._account = account
        self._clock = clock

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        account = self._account
        timestamp = str(int(self._clock() * 1000))
        headers = {
            **headers,
            p.TIMESTAMP: timestamp,
            p.AUTHORIZATION: p.authorization(
                address, account.username, timestamp, account.secret.get_secret_value()
            ),
            p.CLIENT: account.client,
            p.API_KEY: account.api_key.get_secret_value(),
        }
        response = self.session.post(
            address, data=message, headers=headers, timeout=account.timeout, stream=True
        )
        with response:
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > account.max_answer_bytes:
                    raise _TooLarge(f"answer over {account.max_answer_bytes} bytes")
                chunks.append(chunk)
        # zeep reads .content; the body was read here, within the bound.
        response._content = b"".join(chunks)
        return response


def _failure(exc: Exception) -> Transient | Refused | None:
    """What a failure of one attempt is (the table of this adapter's library exceptions)."""
    if isinstance(exc, requests.Timeout):
        return Transient("no answer in time")
    if isinstance(exc, requests.ConnectionError):
        return Transient("no connection")
    if isinstance(exc, zeep.exceptions.Fault):
        return Refused("SOAP Fault")
    if isinstance(exc, zeep.exceptions.TransportError):
        status = f"HTTP {exc.status_code}"
        return Transient(status) if exc.status_code >= 500 else Refused(status)
    if isinstance(exc, (zeep.exceptions.Error, etree.XMLSyntaxError)):
        return Refused("not an answer of the WSDL")
    if isinstance(exc, _TooLarge):
        return Refused(str(exc))
    return None


class PopulationClient:
    """``PopulationRegistry`` over C06's SOAP service."""

    def __init__(
        self,
        account: PopulationAccount,
        guard: Guard,
        *,
        wsdl: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account = account
        self._guard = guard
        self._transport = _Transport(account, pool=guard.policy.max_in_flight, clock=clock)
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)
        # zeep is untyped
        client = zeep.Client(str(wsdl), transport=self._transport, settings=settings)  # type: ignore[no-untyped-call]
        self._service = client.create_service(_BINDING, account.url)  # type: ignore[no-untyped-call]

    @classmethod
    def from_settings(cls, settings: Settings) -> PopulationClient:
        """The client of ``GATEWAY_POPULATION_*``; a missing setting stops startup."""
        required = ("url", "username", "secret", "api_key", "client", "officer")
        given = {name: getattr(settings, f"population_{name}") for name in required}
        missing = [f"GATEWAY_POPULATION_{n.upper()}" for n, v in given.items() if v is None]
        if missing:
            raise ConfigError(f"the population database needs {', '.join(missing)}")
        account = PopulationAccount(**given, timeout=settings.population_timeout)
        policy = GuardPolicy(
            retries=settings.population_retries,
            failures=settings.population_breaker_failures,
            cool_down=settings.population_breaker_cool_down,
            max_in_flight=settings.population_max_in_flight,
        )
        folder = settings.contracts or default_folder()
        return cls(account, Guard(policy), wsdl=folder / "wsdl" / "population.wsdl")

    def close(self) -> None:
        self._transport.session.close()

    # -- the port -----------------------------------------------------------------------------
    def verify(self, person: Person, *, inquiry: Inquiry) -> Verification:
        fields: dict[str, Any] = {
            **_number(person.citizen_id),
            "HoVaTen": p.canonical_name(person.full_name),
        }
        if person.birth:
            fields["NgayThangNamSinh"] = _birth(person.birth)

        def attempt() -> Verification:
            request_id = str(ULID())
            answer = self._call(p.VERIFY, request_id, person.citizen_id, inquiry, fields)
            if answer.MaYeuCau != request_id:
                raise WrongAnswer("KetQuaXacThuc of another MaYeuCau")
            return Verification(matched=bool(answer.TonTai), request_id=request_id)

        return self._guard.call(WHAT, attempt)

    def lookup(self, citizen_id: str, *, inquiry: Inquiry) -> CitizenRecord | None:
        def attempt() -> CitizenRecord | None:
            request_id = str(ULID())
            answer = self._call(p.LOOKUP, request_id, citizen_id, inquiry, _number(citizen_id))
            rows = list(answer or [])
            if not rows:
                return None
            wanted = rows[0].SoDinhDanh if CITIZEN_ID.fullmatch(citizen_id) else rows[0].SoCMND
            if len(rows) != 1 or wanted != citizen_id:
                raise WrongAnswer("CongdanCollection of another citizen")
            return _record(rows[0], request_id)

        return self._guard.call(WHAT, attempt)

    def _call(
        self,
        operation: str,
        request_id: str,
        citizen_id: str,
        inquiry: Inquiry,
        fields: dict[str, Any],
    ) -> Any:
        """One attempt of ``operation``, logged; its failure sorted by ``_failure``."""
        agreement = (
            self._account.verify_agreement
            if operation == p.VERIFY
            else self._account.lookup_agreement
        )
        started = time.monotonic()
        outcome = "answered"
        try:
            return self._service[operation](
                MaYeuCau=request_id,
                MaDVC=inquiry.service,
                MaTichHop=agreement,
                MaCanBo=inquiry.officer or self._account.officer,
                **fields,
            )
        except Exception as exc:
            failure = _failure(exc)
            if failure is None:
                outcome = f"failed: {type(exc).__name__}"
                raise
            outcome = f"failed: {failure}"
            raise failure from exc
        finally:
            log.info(
                "C06 %s MaYeuCau=%s MaDVC=%s citizen=%s: %s in %.0f ms",
                operation,
                request_id,
                inquiry.service,
                masked(citizen_id),
                outcome,
                (time.monotonic() - started) * 1000,
            )


def _number(citizen_id: str) -> dict[str, str]:
    """The person's number in the field C06 expects: ``SoDinhDanh`` (12 digits) or the old
    ``SoCMND`` (9)."""
    return {"SoDinhDanh" if len(citizen_id) == 12 else "SoCMND": citizen_id}


def _birth(birth: str) -> dict[str, str]:
    """``NgayThangNamSinh``: the whole date (yyyyMMdd) when known, else the year."""
    if len(birth) == 10:
        return {"NgayThangNam": birth.replace("-", "")}
    return {"Nam": birth[:4]}


def _address(node: Any) -> Address | None:
    if node is None:
        return None
    return Address(
        province=node.MaTinhThanh,
        district=node.MaQuanHuyen,
        ward=node.MaPhuongXa,
        detail=node.ChiTiet,
        country=node.QuocGia or "VN",
    )


def _record(row: Any, request_id: str) -> CitizenRecord:
    """A ``CongDan`` as the neutral record: the name whole (it may sit all in ``Ten``), the
    birth as ISO 8601 (only the year when only ``Nam`` is known)."""
    name = " ".join(part for part in (row.HoVaTen.Ho, row.HoVaTen.ChuDem, row.HoVaTen.Ten) if part)
    day = row.NgayThangNamSinh.NgayThangNam
    birth = f"{day[:4]}-{day[4:6]}-{day[6:8]}" if day else row.NgayThangNamSinh.Nam
    return CitizenRecord(
        citizen_id=row.SoDinhDanh,
        legacy_id=row.SoCMND,
        full_name=name,
        gender=row.GioiTinh,
        birth=birth,
        residence=_address(row.ThuongTru),
        request_id=request_id,
    )
