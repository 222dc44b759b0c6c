"""Source addresses behind a trusted proxy: ``X-Forwarded-For`` in both layouts that proxies
write, on every way in (REST, SOAP, the VSS-portal login), and the forwarded client certificate.

The partner "elsewhere" may call only from 203.0.113.0/24. A client outside it writes that
network into its own ``X-Forwarded-For``; the proxy then adds the address it really saw, either
to the same line (nginx ``$proxy_add_x_forwarded_for``) or as a second line (HAProxy ``option
forwardfor``). Either way the gateway must read the proxy's hop, not the client's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from gateway.bootstrap import build
from gateway.config import Settings
from gateway.trust.devpki import pem
from gateway.xml.ns import CLAIMS_SERVICE
from gateway.xml.parser import XmlLimits, parse
from tests.conftest import TOKENS, Pki, Served
from tests.e2e.test_vss_portal import ACCOUNTS, legacy_partner_file
from tests.support.soap import soap_envelope
from tests.support.vss_portal_client import md5_upper

INSIDE, OUTSIDE = "203.0.113.7", "198.51.100.1"
Headers = list[tuple[str, str]]
# (layout, the X-Forwarded-For lines a client at ``real`` sends through the proxy, having
# written ``spoofed`` itself)
LAYOUTS = {
    "one line (nginx)": lambda spoofed, real: [("X-Forwarded-For", f"{spoofed}, {real}")],
    "two lines (HAProxy)": lambda spoofed, real: [
        ("X-Forwarded-For", spoofed),
        ("X-Forwarded-For", real),
    ],
}


@pytest.fixture
def proxied(settings: Settings, pki: Pki) -> Iterator[Served]:
    """The gateway behind a proxy on 127.0.0.1, with the legacy logins of the portal tests."""
    path = legacy_partner_file(pki, settings.partners.with_name("partners-legacy.toml"))
    gateway = build(
        settings.model_copy(update={"partners": path, "trusted_proxies": ["127.0.0.1/32"]})
    )
    with Served(gateway) as served:
        yield served
    gateway.close()


def rest(served: Served, forwarded: Headers) -> int:
    auth = [("Authorization", f"Bearer {TOKENS['elsewhere']}")]
    answer = httpx.get(f"{served.url}/api/v1/receipts/unknown", headers=auth + forwarded)
    # 404: the address was accepted and the receipt looked up; 403: the address was refused.
    return answer.status_code


def soap(served: Served, forwarded: Headers) -> str:
    headers = [
        ("Authorization", f"Bearer {TOKENS['elsewhere']}"),
        ("Content-Type", "text/xml; charset=utf-8"),
        ("SOAPAction", '"urn:vss:gateway:claims:1#GetReceipt"'),
    ]
    body = soap_envelope("GetReceipt", "ReceiptId", "unknown")
    answer = httpx.post(f"{served.url}/soap/claims", content=body, headers=headers + forwarded)
    code = parse(answer.content, XmlLimits()).findtext(f".//{{{CLAIMS_SERVICE}}}Code")
    return code or str(answer.status_code)


def login(served: Served, forwarded: Headers) -> Any:
    username, password = ACCOUNTS["elsewhere"]
    assert password is not None
    answer = httpx.post(
        f"{served.url}/api/token/take",
        data={"username": username, "password": md5_upper(password)},
        headers=forwarded,
    )
    return answer.json()["maKetQua"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_spoofed_hop_does_not_pass_for_the_proxys(proxied: Served, layout: str) -> None:
    spoofed = LAYOUTS[layout](INSIDE, OUTSIDE)
    assert rest(proxied, spoofed) == 403
    assert soap(proxied, spoofed) == "FORBIDDEN"
    assert login(proxied, spoofed) == "401"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_hop_the_proxy_added_is_the_source(proxied: Served, layout: str) -> None:
    honest = LAYOUTS[layout](OUTSIDE, INSIDE)  # whatever the client wrote, it is inside
    assert rest(proxied, honest) == 404
    assert soap(proxied, honest) == "NOT_FOUND"
    assert login(proxied, honest) == "200"


def test_hops_of_further_trusted_proxies_are_skipped(settings: Settings, pki: Pki) -> None:
    # client → edge proxy (10.0.0.5) → inner proxy (127.0.0.1) → gateway: the inner proxy adds
    # the edge's address after the client's, and both proxies are trusted.
    gateway = build(settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32", "10.0.0.0/8"]}))
    with Served(gateway) as served:
        assert rest(served, [("X-Forwarded-For", f"{OUTSIDE}, {INSIDE}, 10.0.0.5")]) == 404
        assert rest(served, [("X-Forwarded-For", f"{INSIDE}, {OUTSIDE}, 10.0.0.5")]) == 403
    gateway.close()


def test_two_forwarded_client_certificates_are_refused(proxied: Served, pki: Pki) -> None:
    escaped = quote(pem(pki.hospital.certificate).decode())
    headers = [("X-SSL-Client-Cert", escaped), ("X-SSL-Client-Cert", escaped)]
    answer = httpx.get(f"{proxied.url}/api/v1/receipts/unknown", headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "UNAUTHORIZED")
    one = httpx.get(f"{proxied.url}/api/v1/receipts/unknown", headers=headers[:1])
    assert one.status_code == 404  # the same certificate, once: the partner is recognized
