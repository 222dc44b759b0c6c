"""Who may read what only operators read (``/metrics``): a client in the configured networks
(GATEWAY_METRICS_NETWORKS, loopback by default), or one that shows the operator's token, of
which the configuration holds only the hash (GATEWAY_METRICS_TOKEN_HASH)."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from fastapi import Request

from gateway.api.auth import source_address
from gateway.config import Settings
from gateway.errors import Forbidden, Unauthorized
from gateway.partners import token_hash

ERRORS = (Unauthorized, Forbidden)
SECURITY_SCHEMES = {
    "operatorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "the operator's token, whose hash is GATEWAY_METRICS_TOKEN_HASH",
    }
}
# No credential from the configured networks, or the operator's token from anywhere.
SECURED: dict[str, Any] = {"security": [{}, {"operatorToken": []}]}


async def operator(request: Request) -> None:
    """A FastAPI dependency: lets through a request from the metrics networks (as the trusted
    proxies saw it, behind them), or one with the operator's token; ``Forbidden`` or
    ``Unauthorized`` otherwise."""
    settings: Settings = request.app.state.gateway.settings
    if _listed(source_address(request, settings.trusted_proxies), settings.metrics_networks):
        return
    authorization = request.headers.get("authorization")
    if authorization is None:
        raise Forbidden("metrics are read from the operators' networks, or with their token")
    scheme, _, token = authorization.partition(" ")
    expected = settings.metrics_token_hash
    if (
        scheme.lower() != "bearer"
        or expected is None
        or not hmac.compare_digest(token_hash(token.strip()), expected)
    ):
        raise Unauthorized("the operator token is not valid")


def _listed(address: str | None, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # an IPv4 client seen on a dual-stack socket
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)
