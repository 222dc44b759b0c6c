"""Fetching the VNeID JWKS over HTTP(S) with httpx: the I/O behind ``jwks.JwksUrl``."""

from __future__ import annotations

import httpx

from gateway.errors import Unavailable
from gateway.identity.jwks import MAX_JWKS_BYTES, Fetch


def fetcher(*, timeout: float) -> Fetch:
    """A ``Fetch`` that GETs a JWKS, follows no redirect and reads at most ``MAX_JWKS_BYTES``;
    ``Unavailable`` when the provider does not answer with one. A connection per fetch: they
    happen once per TTL."""

    def fetch(url: str) -> bytes:
        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=False) as client,
                client.stream("GET", url, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != 200:
                    raise Unavailable(f"the VNeID JWKS answered HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise Unavailable(f"the VNeID JWKS is over {MAX_JWKS_BYTES} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise Unavailable("the VNeID identity provider does not answer") from exc

    return fetch
