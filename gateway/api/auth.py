"""Who is calling: mutual TLS or API token → partner, then source address, rate limit and
service checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from gateway.api.tls import FORWARDED_CERT_HEADER, client_certificate, is_trusted_proxy
from gateway.bootstrap import Gateway
from gateway.errors import Forbidden, RateLimited, Unauthorized
from gateway.partners import Partner, require_service
from gateway.trust.anchors import fingerprint

# What ``authenticate`` answers, and how the OpenAPI description names the two credentials
# (SPEC section 2): the routes that authenticate their caller declare both.
ERRORS = (Unauthorized, Forbidden, RateLimited)
SECURITY_SCHEMES = {
    "apiToken": {"type": "http", "scheme": "bearer", "description": "the partner's API token"},
    "clientCertificate": {
        "type": "mutualTLS",
        "description": "a client certificate registered to the partner",
    },
}
SECURED: dict[str, Any] = {"security": [{"apiToken": []}, {"clientCertificate": []}]}


def authenticate(request: Request) -> Partner:
    """The partner behind this request, or ``Unauthorized`` / ``Forbidden``; each request of a
    partner counts against its rate limit (``RateLimited``), in this one place."""
    gateway: Gateway = request.app.state.gateway
    cert = client_certificate(
        request.scope,
        request.headers.getlist(FORWARDED_CERT_HEADER),
        gateway.settings.trusted_proxies,
    )
    by_cert = gateway.partners.by_certificate(fingerprint(cert)) if cert else None
    if cert is not None and by_cert is None:
        raise Unauthorized("the client certificate is not registered to any partner")
    by_token = None
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use Authorization: Bearer <token>")
        by_token = gateway.partners.by_token(token.strip())
        if by_token is None:
            raise Unauthorized("the API token is not valid")
    if by_cert and by_token and by_cert.id != by_token.id:
        raise Unauthorized("the client certificate and the API token name different partners")
    partner = by_cert or by_token
    if partner is None:
        raise Unauthorized("a client certificate or an API token is required")
    if not partner.allows_address(source_address(request, gateway.settings.trusted_proxies)):
        raise Forbidden(f"requests for {partner.id} are not accepted from this address")
    gateway.limits.rates.partner(partner)
    return partner


def source_address(request: Request, trusted_proxies: list[str]) -> str | None:
    """The partner's address: the peer's, or, behind trusted proxies, the last address of
    ``X-Forwarded-For`` that is not one of them.

    Invariant: only the hops the trusted proxies appended are read, however the header is laid
    out. A proxy appends the address it saw, to the one line (nginx,
    ``$proxy_add_x_forwarded_for``) or as a line of its own after the client's (HAProxy's
    ``option forwardfor``): every line is read, in order, and the hops are taken from the end.
    Whatever a client wrote itself stands before them and is never reached."""
    peer = request.client.host if request.client else None
    if peer is None or not is_trusted_proxy(peer, trusted_proxies):
        return peer
    lines = request.headers.getlist("x-forwarded-for")
    hops = [hop.strip() for line in lines for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted_proxy(hop, trusted_proxies):
            return hop  # the client, as the first trusted proxy saw it
    # A request from the proxies themselves (a health check): the first of them that it reached.
    return hops[0] if hops else peer


async def authenticated(request: Request) -> Partner:
    """``authenticate`` from async code: on the event loop when the rate limits are counted in
    this process's memory (no I/O; a thread hop would cost more than the work), in a worker
    thread when they are counted in Redis (``GATEWAY_REDIS_URL``), whose round trip, up to its
    timeout when Redis hangs, must not stall every other connection."""
    gateway: Gateway = request.app.state.gateway
    if gateway.limits.shared:
        return await run_in_threadpool(authenticate, request)
    return authenticate(request)


def granted(service: str) -> Callable[[Request], Awaitable[Partner]]:
    """A FastAPI dependency: the authenticated partner, who must hold ``service``. Async so that
    it costs no thread hop when it does no I/O (``authenticated``)."""

    async def dependency(request: Request) -> Partner:
        partner = await authenticated(request)
        require_service(partner, service)
        return partner

    return dependency
