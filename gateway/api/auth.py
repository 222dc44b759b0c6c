"""Who is calling: mutual TLS or API token → partner, then source address and service checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from gateway.api.tls import client_certificate, is_trusted_proxy
from gateway.bootstrap import Gateway
from gateway.errors import Forbidden, Unauthorized
from gateway.partners import Partner, require_service
from gateway.trust.anchors import fingerprint

# What ``authenticate`` answers, and how the OpenAPI description names the two credentials
# (SPEC section 2): the routes that authenticate their caller declare both.
ERRORS = (Unauthorized, Forbidden)
SECURITY_SCHEMES = {
    "apiToken": {"type": "http", "scheme": "bearer", "description": "the partner's API token"},
    "clientCertificate": {
        "type": "mutualTLS",
        "description": "a client certificate registered to the partner",
    },
}
SECURED: dict[str, Any] = {"security": [{"apiToken": []}, {"clientCertificate": []}]}


def authenticate(request: Request) -> Partner:
    """The partner behind this request, or ``Unauthorized`` / ``Forbidden``."""
    gateway: Gateway = request.app.state.gateway
    cert = client_certificate(
        request.scope, dict(request.headers), gateway.settings.trusted_proxies
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
    return partner


def source_address(request: Request, trusted_proxies: list[str]) -> str | None:
    """The partner's address: the peer's, or the one a trusted proxy saw (last X-Forwarded-For)."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    if peer and forwarded and is_trusted_proxy(peer, trusted_proxies):
        return forwarded.split(",")[-1].strip()
    return peer


def granted(service: str) -> Callable[[Request], Awaitable[Partner]]:
    """A FastAPI dependency: the authenticated partner, who must hold ``service``. Async because
    it does no I/O: a sync dependency would cost a thread hop on every request."""

    async def dependency(request: Request) -> Partner:
        partner = authenticate(request)
        require_service(partner, service)
        return partner

    return dependency
