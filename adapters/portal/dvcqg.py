"""The DVCQG sync client: the gateway's ``StatusSink`` on the portal's session-token JSON services.

A ``status`` message becomes ``DongBoHoSoMC`` (create, or update when ``TraCuuHoSo`` knows the
dossier or the create answers "already exists"), a ``progress`` message one step of
``CapNhatTienDoHoSoMC``. Each changing call carries the message's idempotency key. Success is read
from ``error_code`` alone ("0"/"00"), never from message text; a code that the same message can
never turn into a success is ``Delivery(ok=False, retry=False)``, anything else (transport errors,
timeouts, HTTP errors, other codes) a failure to retry. A refused session is logged into again,
once per call. The password is sent to the login endpoint and nowhere else, and never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from adapters.portal import dvcqg_protocol as p
from adapters.portal.dvcqg_fields import Unmappable, Wording, dossier_object, progress_step
from adapters.portal.statuses import load_statuses
from gateway.config import Settings
from gateway.dossiers.ports import Delivery, Dossier, OutboxMessage
from gateway.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DvcqgAccount:
    """Where the portal's sync services are and the gateway's account there."""

    url: str  # the adapter's base URL
    auth_endpoint: str
    integration_endpoint: str
    username: str
    password: SecretStr
    agency: str  # madonvi
    timeout: float


class _Failed(Exception):
    """This attempt failed before the portal said anything about the message."""


class DvcqgSink:
    """Delivers outbox messages to DVCQG; one instance per worker (it keeps the session)."""

    def __init__(
        self,
        account: DvcqgAccount,
        wording: Wording,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._account = account
        self._wording = wording
        self._session: str | None = None
        self._http = httpx.Client(
            base_url=account.url,
            timeout=account.timeout,
            transport=transport,
            headers={"Accept": "application/json", "Charset": "utf-8"},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> DvcqgSink:
        """The sink of ``GATEWAY_PORTAL_*``; a missing one stops startup."""
        url, username = settings.portal_sync_url, settings.portal_username
        password, agency = settings.portal_password, settings.portal_agency
        if not (url and username and password and agency):
            raise ConfigError(
                "status delivery needs GATEWAY_PORTAL_SYNC_URL, GATEWAY_PORTAL_USERNAME, "
                "GATEWAY_PORTAL_PASSWORD and GATEWAY_PORTAL_AGENCY (the madonvi)"
            )
        account = DvcqgAccount(
            url=url,
            auth_endpoint=settings.portal_auth_endpoint,
            integration_endpoint=settings.portal_integration_endpoint,
            username=username,
            password=password,
            agency=agency,
            timeout=settings.portal_timeout,
        )
        statuses = load_statuses(settings.portal_statuses)
        return cls(account, Wording(statuses, settings.portal_contact_phone))

    def close(self) -> None:
        self._http.close()

    def deliver(self, message: OutboxMessage, dossier: Dossier) -> Delivery:
        change = message.change
        try:
            if change.kind == "status":
                ho_so = dossier_object(change.body, dossier, self._wording)
                answer = self._sync(ho_so, message.idempotency_key)
            else:
                step = progress_step(change.body, dossier, self._wording)
                answer = self._call(p.CAP_NHAT_TIEN_DO, {"data": [step]}, message.idempotency_key)
        except Unmappable as exc:
            return Delivery(ok=False, error=str(exc), retry=False)
        except (_Failed, httpx.HTTPError) as exc:
            error = str(exc) if isinstance(exc, _Failed) else f"{type(exc).__name__}: {exc}"
            log.warning(
                "DVCQG: message %s of %s not delivered: %s", message.seq, change.ma_ho_so, error
            )
            return Delivery(ok=False, error=error)
        return self._delivery(message, answer)

    def _delivery(self, message: OutboxMessage, answer: dict[str, Any]) -> Delivery:
        code = str(answer.get("error_code"))
        if code in p.SUCCESS:
            return Delivery(ok=True)
        error = f"error_code {code}: {answer.get('message', '')}"
        log.warning(
            "DVCQG refused message %s of %s: %s", message.seq, message.change.ma_ho_so, error
        )
        return Delivery(ok=False, error=error, retry=code not in p.PERMANENT)

    def _sync(self, ho_so: dict[str, Any], key: str) -> dict[str, Any]:
        found = self._call(p.TRA_CUU_HO_SO, {"mahoso": ho_so["MaHoSo"]}, None)
        if str(found.get("error_code")) not in p.SUCCESS:
            return found
        updating = bool(found.get("result"))
        answer = self._sync_call(ho_so, key, updating=updating)
        if not updating and str(answer.get("error_code")) == p.Code.EXISTS:
            answer = self._sync_call(ho_so, key, updating=True)
        return answer

    def _sync_call(self, ho_so: dict[str, Any], key: str, *, updating: bool) -> dict[str, Any]:
        params = {"isUpdating": "True" if updating else "False", "data": [ho_so]}
        return self._call(p.DONG_BO_HO_SO, params, key)

    def _call(self, service: str, params: dict[str, Any], key: str | None) -> dict[str, Any]:
        """One integration call, logging in first if needed and again once if the session is
        refused."""
        if self._session is None:
            self._session = self._login()
        answer = self._post(service, params, key, self._session)
        if str(answer.get("error_code")) == p.Code.SESSION:
            self._session = self._login()
            answer = self._post(service, params, key, self._session)
        return answer

    def _post(
        self, service: str, params: dict[str, Any], key: str | None, session: str
    ) -> dict[str, Any]:
        body = {"session": session, "madonvi": self._account.agency, "service": service, **params}
        headers = {p.IDEMPOTENCY_HEADER: key} if key else {}
        response = self._http.post(self._account.integration_endpoint, json=body, headers=headers)
        return _answer(response, service)

    def _login(self) -> str:
        self._session = None
        credentials = {
            "username": self._account.username,
            "password": self._account.password.get_secret_value(),
        }
        answer = _answer(self._http.post(self._account.auth_endpoint, json=credentials), "login")
        session = answer.get("session")
        if str(answer.get("error_code")) != str(p.LOGIN_OK) or not isinstance(session, str):
            raise _Failed(f"login refused: error_code {answer.get('error_code')}")
        return session


def _answer(response: httpx.Response, service: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer; anything else is a failed attempt."""
    if not response.is_success:
        raise _Failed(f"{service}: HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError as exc:
        raise _Failed(f"{service}: the answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise _Failed(f"{service}: the answer is not a JSON object")
    return answer
