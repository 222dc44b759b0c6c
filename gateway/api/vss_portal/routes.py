"""The portal's router: the token (CV 3190 I.1), the three submissions (I.2, I.3, I.4), each
a thin entrypoint over ``submit_batch``, and the card check (CV 1923, ``cardcheck``); every error
is rendered as the endpoint's answer."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from gateway.api import work
from gateway.api.auth import source_address
from gateway.api.vss_portal import answers, cardcheck, forms
from gateway.api.vss_portal.forms import ASSESSMENT, CHECKIN, CLAIMS, Table
from gateway.bootstrap import Gateway
from gateway.errors import Forbidden, GatewayError, Internal, Unauthorized
from gateway.legacy import LegacyLogin, TokenSigner
from gateway.partners import Partner, require_service
from gateway.pipeline.ports import BatchFormat

log = logging.getLogger(__name__)

router = APIRouter(tags=["vss-portal"])

TOKEN_PATH = "/api/token/take"  # noqa: S105 (a URL path) -- CV 3190 I.1, p. 2

# Concurrent scrypt checks (16 MiB each): of logins, and apart from them of the passwordHash of a
# submission whose token another worker issued, so that a login flood never holds a submission.
LOGIN_THREADS = 4
PASSWORD_THREADS = 2


def _outcomes(answer: type[Mapping[str, object]]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI of a portal endpoint: HTTP 200 whatever the outcome (package docstring)."""
    return {
        200: {
            "model": answer,
            "description": "every outcome, named by maKetQua",
            "headers": answers.RETRY_AFTER,
        }
    }


class _PortalState:
    """What the portal keeps for the life of the app: the login and the formats by loaiHoSo."""

    def __init__(self, gateway: Gateway) -> None:
        self.login = LegacyLogin(
            gateway.partners, TokenSigner(gateway.pipeline.identity), gateway.limits.login
        )
        self.login_threads = CapacityLimiter(LOGIN_THREADS)
        self.password_threads = CapacityLimiter(PASSWORD_THREADS)
        # The formats come from the composition root.
        self.formats: dict[str, BatchFormat] = {
            CHECKIN.loai_ho_so: gateway.checkin,
            CLAIMS.loai_ho_so: gateway.claims,
            ASSESSMENT.loai_ho_so: gateway.assessment,
        }


def _state(request: Request) -> _PortalState:
    state: _PortalState | None = getattr(request.app.state, "vss_portal", None)
    if state is None:  # built on first use: nothing awaits in between, so built once
        state = request.app.state.vss_portal = _PortalState(request.app.state.gateway)
    return state


def _now(request: Request) -> datetime:
    gateway: Gateway = request.app.state.gateway
    return gateway.pipeline.clock.now()


Endpoint = Callable[[Request], Awaitable[Response]]


def _answering(
    failure: Callable[[GatewayError, datetime], Mapping[str, object]],
) -> Callable[[Endpoint], Endpoint]:
    """Render every error of the endpoint as a portal answer (HTTP 200, package docstring)."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def answering(request: Request) -> Response:
            try:
                return await endpoint(request)
            except GatewayError as error:
                return answers.respond(failure(error, _now(request)), retry_after=error.retry_after)
            except ClientDisconnect:
                raise  # nobody to read the answer: gateway.api.exchange logs it, once, as such
            except Exception:
                log.exception("unexpected error on %s", request.url.path)
                internal = Internal()
                return answers.respond(failure(internal, _now(request)))

        return answering

    return decorate


# --- The token (CV 3190 I.1, p. 2–3) --------------------------------------------------------


@router.post(
    TOKEN_PATH,
    summary="VSS portal login: a token for the username and uppercase-MD5 password (CV 3190 I.1)",
    responses=_outcomes(answers.TokenAnswer),
    openapi_extra={
        "requestBody": forms.form_body(
            {"username": "the account's username", "password": "uppercase MD5 hex"}
        )
    },
)
@_answering(answers.token_failure)
async def take_token(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    state = _state(request)
    fields = (await forms.read_fields(request, forms.LOGIN)).values
    # I.1.2 (p. 2): "username" (Tên tài khoản được cấp), "password" (MD5 uppercase).
    username, password = fields.get("username", ""), fields.get("password", "")
    if not username or not password:
        raise Unauthorized("username and password are required")
    # Admitted (or refused) before a thread is taken: a refused attempt waits for none.
    admission = state.login.admit(
        username, address=source_address(request, gateway.settings.trusted_proxies)
    )
    login = functools.partial(state.login.login, admission, password, now=_now(request))
    grant = await anyio.to_thread.run_sync(login, limiter=state.login_threads)
    # I.1.3 (p. 2–3): maKetQua, then APIKey (ResultObject) with access_token, id_token,
    # token_type, username and expires_in ("Datetime: thời gian hết hạn token (UTC)").
    return answers.respond(
        answers.TokenAnswer(
            maKetQua=answers.SUCCESS,
            APIKey=answers.ApiKey(
                access_token=grant.access_token,
                id_token=grant.id_token,
                token_type=grant.token_type,
                username=grant.username,
                expires_in=grant.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ),
        )
    )


# --- The submissions (CV 3190 I.2, I.3, I.4) ----------------------------------------------------


async def _caller(request: Request, state: _PortalState) -> Partner:
    """The partner behind the headers of I.2.1 / I.3.1 / I.4.1 (p. 3, 5, 18): ``accessToken``,
    ``tokenId``, ``passwordHash``."""
    headers = [request.headers.get(name, "") for name in ("accessToken", "tokenId", "passwordHash")]
    if not all(headers):
        raise Unauthorized("the accessToken, tokenId and passwordHash headers are required")
    return await _authenticated(request, state, headers, service="claims.submit")


async def _authenticated(
    request: Request, state: _PortalState, presented_as: list[str], *, service: str
) -> Partner:
    """The partner behind an access token, its id and the MD5 password; then its source address
    and its grant of ``service``, like every caller."""
    gateway: Gateway = request.app.state.gateway
    presented = state.login.token(*presented_as, now=_now(request))
    check = functools.partial(state.login.caller, presented)
    # A passwordHash this process has checked costs a digest: no thread to wait for. The first
    # check of one (a token another worker issued) takes a password thread, never a login's.
    if presented.known:
        partner = check()
    else:
        partner = await anyio.to_thread.run_sync(check, limiter=state.password_threads)
    if not partner.allows_address(source_address(request, gateway.settings.trusted_proxies)):
        raise Forbidden(f"requests for {partner.id} are not accepted from this address")
    gateway.limits.rates.partner(partner)  # as every authenticated request (gateway.api.auth)
    require_service(partner, service)
    return partner


async def _submit(request: Request, table: Table) -> Response:
    gateway: Gateway = request.app.state.gateway
    state = _state(request)
    partner = await _caller(request, state)
    body = await forms.read_fields(
        request, forms.SUBMISSION, document_limit=gateway.pipeline.limits.max_bytes
    )
    document = forms.document(body, partner, table)
    fmt = state.formats[table.loai_ho_so]
    outcome = await work.submit(request, document, partner=partner, channel="vss-portal", fmt=fmt)
    return answers.respond(answers.accepted_answer(outcome, key=table.key))


@router.post(
    CHECKIN.path,
    summary="VSS portal: check-in table, loaiHoSo 0 (CV 3190 I.2)",
    responses=_outcomes(answers.SubmissionAnswer),
    openapi_extra=forms.form_doc(CHECKIN),
)
@_answering(answers.submission_failure)
async def check_in(request: Request) -> Response:
    return await _submit(request, CHECKIN)


@router.post(
    CLAIMS.path,
    summary="VSS portal: QĐ 130 claim batch GIAMDINHHS, loaiHoSo 130 (CV 3190 I.3)",
    responses=_outcomes(answers.SubmissionAnswer),
    openapi_extra=forms.form_doc(CLAIMS),
)
@_answering(answers.submission_failure)
async def send_claims(request: Request) -> Response:
    return await _submit(request, CLAIMS)


@router.post(
    ASSESSMENT.path,
    summary="VSS portal: medical assessment table 12, loaiHoSo 12 (CV 3190 I.4)",
    responses=_outcomes(answers.SubmissionAnswer),
    openapi_extra=forms.form_doc(ASSESSMENT),
)
@_answering(answers.submission_failure)
async def send_assessment(request: Request) -> Response:
    return await _submit(request, ASSESSMENT)


# --- The card check (CV 1923/BHXH-CNTT, Phụ lục 03) ---------------------------------------------


@router.post(
    cardcheck.PATH,
    summary="VSS portal: HI card check and treatment history, KQNhanLichSuKCB2024 (CV 1923)",
    responses=_outcomes(cardcheck.CardCheckAnswer),
    openapi_extra=cardcheck.openapi(),
)
@_answering(cardcheck.failure)
async def check_card(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    state = _state(request)
    # The credentials may be in the body (cardcheck): it is read, small and bounded, first.
    body = await forms.read_fields(request, cardcheck.REQUEST)
    sent = cardcheck.credentials(request, body)
    presented = [sent["token"], sent["id_token"], sent["password"]]
    if not all(presented):
        raise Unauthorized("token, id_token and password (or the CV 3190 headers) are required")
    partner = await _authenticated(request, state, presented, service=cardcheck.SERVICE)
    if sent["username"] and sent["username"] != partner.legacy_username:
        raise Unauthorized("username is not the account the access token was issued to")
    query, staff = cardcheck.request_of(body)
    check = functools.partial(cardcheck.check, gateway, partner, query, staff)
    return answers.respond(await anyio.to_thread.run_sync(check))
