"""Client certificates for mutual TLS: from the ASGI TLS extension or a trusted proxy's header.

uvicorn does not fill the ASGI TLS extension (``scope["extensions"]["tls"]``), so
``ClientCertH11Protocol`` adds it when the gateway terminates TLS itself.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from uvicorn.protocols.http.h11_impl import H11Protocol

from gateway.errors import Unauthorized

# nginx's $ssl_client_escaped_cert: the URL-escaped PEM of the verified client certificate.
FORWARDED_CERT_HEADER = "x-ssl-client-cert"


class ClientCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, adding the peer certificate to every request scope."""

    _peer_pem: str | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        self._peer_pem = ssl.DER_cert_to_PEM_cert(der) if der else None

    @property
    def scope(self) -> Any:
        return self.__dict__.get("_scope")

    @scope.setter
    def scope(self, value: Any) -> None:
        if value is not None and self._peer_pem:
            value.setdefault("extensions", {})["tls"] = {"client_cert_chain": [self._peer_pem]}
        self.__dict__["_scope"] = value


def client_certificate(
    scope: MutableMapping[str, Any], forwarded: list[str], trusted_proxies: list[str]
) -> x509.Certificate | None:
    """The request's client certificate, if the connection presents one, or a trusted proxy in
    the one header line it sets (``forwarded``: every line of ``FORWARDED_CERT_HEADER``)."""
    chain = scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
    pem = chain[0] if chain else None
    if pem is None and forwarded:
        client = scope.get("client")
        if not client or not is_trusted_proxy(client[0], trusted_proxies):
            raise Unauthorized(
                "a forwarded client certificate is only accepted from a trusted proxy"
            )
        if len(forwarded) > 1:
            # A proxy that adds its line beside the client's own: which one is the proxy's?
            raise Unauthorized("more than one forwarded client certificate")
        pem = unquote(forwarded[0])
    if pem is None:
        return None
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise Unauthorized("the client certificate cannot be read") from exc


def is_trusted_proxy(address: str, trusted_proxies: list[str]) -> bool:
    """True when ``address`` lies in one of the configured proxy networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in trusted_proxies)
