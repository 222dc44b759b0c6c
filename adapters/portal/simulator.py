"""A DVCQG simulator: the portal's session login and sync services over real HTTP, with faults.

It speaks ``reference/DOSSIERS.md`` section 2 (names verbatim, codes of ``dvcqg_protocol``):
``POST {auth_endpoint}`` ``{"username", "password"}`` → ``{"error_code": 0, "session"}``, and
``POST {integration_endpoint}`` ``{"session", "madonvi", "service", ...}`` for ``DongBoHoSoMC``,
``CapNhatTienDoHoSoMC`` and ``TraCuuHoSo``. It keeps what it received (each dossier as last synced,
every status it went through, every progress step in arrival order) and honours the
``Idempotency-Key`` of ``dvcqg_protocol``.

Faults, for tests (``Portal.inject``) and the demo (``POST /_simulator/faults``), apply to
integration calls (of one ``service``, or all), for the next ``times`` calls or until reset:
``delay`` (answer ``delay`` seconds late, after doing the work: the answer a client gave up on),
``status`` (an HTTP error, nothing done), ``error_code`` (that code, nothing done), ``session``
(the session refused). "Down" is the server stopped. Run it in a thread (``ServerThread``)
or as a process (``python -m adapters.portal.simulator``, configured by ``GATEWAY_PORTAL_*``).
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from adapters.portal import dvcqg_protocol as p
from adapters.portal.simulator_checks import check_dossier, check_step
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.simulators import FaultySimulator, InjectedFault, add_fault_routes, serve

FaultKind = Literal["delay", "status", "error_code", "session"]


class Fault(InjectedFault):
    """One injected fault (the body of ``POST /_simulator/faults``)."""

    kind: FaultKind
    service: str | None = None  # only calls of this service; None: every integration call
    delay: float = 0.0
    status: int = 503
    code: str = p.Code.INTERNAL
    message: str = "Lỗi hệ thống"

    def applies_to(self, call: str) -> bool:
        return self.service in (None, call)


@dataclass
class Received:
    """What the simulated portal holds."""

    dossiers: dict[str, dict[str, Any]] = field(default_factory=dict)  # MaHoSo -> last hoSo
    statuses: dict[str, list[str]] = field(default_factory=dict)  # MaHoSo -> TrangThaiHoSo seen
    steps: list[dict[str, Any]] = field(default_factory=list)  # in arrival order
    calls: dict[str, int] = field(default_factory=dict)  # service -> calls, faulted ones too


def _answer(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error_code": code, "message": message, **extra}


class Portal(FaultySimulator[Fault]):
    """The simulated portal's state, shared by its HTTP handlers and the test or demo driving it.
    Every change happens under one lock, so a repeated call cannot slip between a check and a
    write."""

    def __init__(
        self, *, username: str, password: str, agency: str, session_ttl: float = 1800.0
    ) -> None:
        super().__init__()
        self._username = username
        self._password = password
        self.agency = agency
        self._session_ttl = session_ttl
        self._sessions: dict[str, float] = {}  # token -> monotonic expiry
        self._spent: dict[str, dict[str, Any]] = {}  # idempotency key -> first answer
        self._received = Received()

    # -- the handles of tests and the demo ----------------------------------------------------
    def expire_sessions(self) -> None:
        with self._lock:
            self._sessions.clear()

    def received(self) -> Received:
        """A copy of what was received."""
        with self._lock:
            return copy.deepcopy(self._received)

    # -- the services -------------------------------------------------------------------------
    def login(self, body: Any) -> dict[str, Any]:
        ok = (
            isinstance(body, dict)
            and hmac.compare_digest(str(body.get("username", "")), self._username)
            and hmac.compare_digest(str(body.get("password", "")), self._password)
        )
        if not ok:
            return {"error_code": p.LOGIN_REFUSED, "message": "Sai tên đăng nhập hoặc mật khẩu"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[token] = time.monotonic() + self._session_ttl
        return {"error_code": p.LOGIN_OK, "session": token}

    def arrive(self, body: Any) -> Fault | None:
        """Count an integration call; its fault, if any (counting that down)."""
        service = str(body.get("service")) if isinstance(body, dict) else ""
        with self._lock:
            self._received.calls[service] = self._received.calls.get(service, 0) + 1
            return self._faulted(service)

    def integrate(self, body: Any, key: str | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            return _answer(p.Code.BAD_REQUEST, "Dữ liệu không hợp lệ")
        with self._lock:
            service = str(body.get("service", ""))
            if self._sessions.get(str(body.get("session")), 0.0) < time.monotonic():
                return _answer(p.Code.SESSION, "Phiên làm việc không hợp lệ hoặc đã hết hạn")
            if body.get("madonvi") != self.agency:
                return _answer(p.Code.BAD_REQUEST, "Mã đơn vị không hợp lệ")
            if service == p.TRA_CUU_HO_SO:
                found = self._received.dossiers.get(str(body.get("mahoso")))
                return _answer(p.Code.OK, "Thành công", result=[found] if found else [])
            if key is not None and key in self._spent:
                return self._spent[key]
            if service == p.DONG_BO_HO_SO:
                answer = self._sync(body)
            elif service == p.CAP_NHAT_TIEN_DO:
                answer = self._progress(body)
            else:
                answer = _answer(p.Code.BAD_REQUEST, f"Dịch vụ không hỗ trợ: {service}")
            if key is not None and answer["error_code"] == p.Code.OK:
                self._spent[key] = answer
            return answer

    def _sync(self, body: dict[str, Any]) -> dict[str, Any]:
        updating = str(body.get("isUpdating", "")).lower() == "true"
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return _answer(p.Code.MISSING_FIELD, "Thiếu trường bắt buộc: data")
        for ho_so in data:
            fault = check_dossier(ho_so)
            if fault is not None:
                return _answer(fault[0], fault[1])
            known = ho_so["MaHoSo"] in self._received.dossiers
            if known and not updating:
                return _answer(p.Code.EXISTS, f"Hồ sơ {ho_so['MaHoSo']} đã tồn tại")
            if updating and not known:
                return _answer(p.Code.UNKNOWN_DOSSIER, f"Không tìm thấy hồ sơ {ho_so['MaHoSo']}")
        for ho_so in data:
            self._received.dossiers[ho_so["MaHoSo"]] = ho_so
            self._received.statuses.setdefault(ho_so["MaHoSo"], []).append(ho_so["TrangThaiHoSo"])
        return _answer(p.Code.OK, "Đồng bộ hồ sơ thành công")

    def _progress(self, body: dict[str, Any]) -> dict[str, Any]:
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return _answer(p.Code.MISSING_FIELD, "Thiếu trường bắt buộc: data")
        if len(data) > p.MAX_STEPS_PER_CALL:
            return _answer(p.Code.BAD_REQUEST, f"Tối đa {p.MAX_STEPS_PER_CALL} bước mỗi lần")
        for step in data:
            fault = check_step(step)
            if fault is not None:
                return _answer(fault[0], fault[1])
            if step["MaHoSo"] not in self._received.dossiers:
                return _answer(p.Code.UNKNOWN_DOSSIER, f"Không tìm thấy hồ sơ {step['MaHoSo']}")
        self._received.steps.extend(data)
        return _answer(p.Code.OK, "Cập nhật tiến độ thành công")


def create_app(
    portal: Portal, *, auth_endpoint: str = "/api/session", integration_endpoint: str = "/api/sync"
) -> FastAPI:
    """The simulator's HTTP face: the two DVCQG endpoints and its admin endpoints."""
    app = FastAPI(title="DVCQG simulator", openapi_url=None, docs_url=None, redoc_url=None)

    async def _json(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    @app.post(auth_endpoint)
    async def login(request: Request) -> dict[str, Any]:
        return portal.login(await _json(request))

    @app.post(integration_endpoint)
    async def integrate(request: Request) -> JSONResponse:
        body = await _json(request)
        fault = portal.arrive(body)
        if fault is not None and fault.kind == "status":
            return JSONResponse({"message": "Service Unavailable"}, status_code=fault.status)
        if fault is not None and fault.kind == "error_code":
            return JSONResponse(_answer(fault.code, fault.message))
        if fault is not None and fault.kind == "session":
            return JSONResponse(_answer(p.Code.SESSION, "Phiên làm việc đã hết hạn"))
        answer = portal.integrate(body, request.headers.get(p.IDEMPOTENCY_HEADER))
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.delay)
        return JSONResponse(answer)

    add_fault_routes(app, portal, Fault)

    @app.post("/_simulator/sessions/expire", status_code=204)
    async def expire() -> None:
        portal.expire_sessions()

    @app.get("/_simulator/received")
    async def received() -> dict[str, Any]:
        got = portal.received()
        return {"dossiers": got.dossiers, "statuses": got.statuses, "steps": got.steps}

    return app


def from_settings(settings: Settings) -> tuple[Portal, FastAPI]:
    """The simulated portal that a gateway of ``settings`` (``GATEWAY_PORTAL_*``) delivers to."""
    username, password, agency = (
        settings.portal_username,
        settings.portal_password,
        settings.portal_agency,
    )
    if not (username and password and agency):
        raise ConfigError("GATEWAY_PORTAL_USERNAME, _PASSWORD and _AGENCY configure the simulator")
    portal = Portal(username=username, password=password.get_secret_value(), agency=agency)
    app = create_app(
        portal,
        auth_endpoint=settings.portal_auth_endpoint,
        integration_endpoint=settings.portal_integration_endpoint,
    )
    return portal, app


def main(argv: list[str] | None = None) -> None:
    """Serve the simulator as a process, with the credentials and paths the gateway uses."""
    serve(argv, from_settings, description="DVCQG simulator (GATEWAY_PORTAL_* settings)", port=8090)


if __name__ == "__main__":
    main()
