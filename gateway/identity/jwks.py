"""The VNeID identity provider's signing keys (a JWKS), read from a file or a URL and cached.

``JwksCache.keys`` answers the keys held, reloading them first when they may have changed: a
file when its size, time or inode changed (a rotation written by an operator is picked up on
the next token), a URL when its TTL ran out. ``JwksCache.refreshed`` reloads at once, for a token
signed by a key not held yet (the provider has just rotated), at most once per
``refresh_interval`` so that tokens with made-up ``kid``s cannot make the gateway hammer the
provider. A URL is fetched through an injected ``Fetch`` (the composition root gives it one over
httpx), so this module does no network I/O of its own; a caller on an event loop asks with
``fetch=False`` and gets ``FetchNeeded`` instead of a blocking fetch.

Invariant: only keys that can verify RS256 (RSA of at least 2048 bits) or ES256 (EC P-256), with
a ``kid`` and no use other than signing, are ever held, each bound to its one algorithm. A
reload that fails keeps the keys held before; with none held, a lookup is ``Unavailable``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from gateway.clock import Clock
from gateway.errors import ConfigError, Unavailable

log = logging.getLogger(__name__)

# A JWKS holds a handful of keys (the current ones and those being retired).
MAX_JWKS_BYTES = 64 * 1024
MAX_KEYS = 32
MIN_RSA_BITS = 2048
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

Fetch = Callable[[str], bytes]
Keys = Mapping[str, PyJWK]  # kid -> key, bound to RS256 or ES256


class FetchNeeded(Exception):
    """The keys must be fetched over the network first: ask again off the event loop."""


class Source(Protocol):
    """Where the JWKS is read."""

    remote: bool  # reading does network I/O

    def version(self) -> object | None:
        """A cheap token that changes when the document may have (None: unknown, use the TTL)."""

    def read(self) -> bytes:
        """The JWKS document; ``OSError`` or ``Unavailable`` when it cannot be read."""


@dataclass(frozen=True)
class JwksFile:
    """A JWKS file, re-read when it changes."""

    path: Path
    remote = False

    def version(self) -> object | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def read(self) -> bytes:
        with self.path.open("rb") as file:
            return file.read(MAX_JWKS_BYTES + 1)


@dataclass(frozen=True)
class JwksUrl:
    """A JWKS URL, fetched again after the cache's TTL."""

    url: str
    fetch: Fetch
    remote = True

    def version(self) -> object | None:
        return None

    def read(self) -> bytes:
        return self.fetch(self.url)


def source(location: str, fetch: Fetch) -> Source:
    """The source ``GATEWAY_VNEID_JWKS`` names: an https URL (http only to this machine, for a
    simulator), else a file path."""
    if "://" not in location:
        return JwksFile(Path(location))
    parts = urlsplit(location)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    if not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise ConfigError(
            f"GATEWAY_VNEID_JWKS {location!r}: use a file path or an https:// URL "
            "(http:// only to 127.0.0.1, localhost or ::1)"
        )
    return JwksUrl(location, fetch)


def parse(document: bytes) -> dict[str, PyJWK]:
    """The usable keys of a JWKS document; ``ValueError`` if it is not one."""
    if len(document) > MAX_JWKS_BYTES:
        raise ValueError(f"the JWKS is over {MAX_JWKS_BYTES} bytes")
    data = json.loads(document)
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list) or len(entries) > MAX_KEYS:
        raise ValueError(f'not a JWKS: an object with "keys", a list of at most {MAX_KEYS}')
    keys: dict[str, PyJWK] = {}
    for entry in entries:
        key = _usable(entry)
        if key is not None and key.key_id is not None:
            keys.setdefault(key.key_id, key)
    return keys


def _usable(entry: Any) -> PyJWK | None:
    """``entry`` as a key bound to its algorithm, or None (logged) when it is not one we use."""
    if not isinstance(entry, dict):
        return None
    kid, kty, alg = entry.get("kid"), entry.get("kty"), entry.get("alg")
    if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
        return None
    if kty == "RSA" and alg in (None, "RS256"):
        algorithm = "RS256"
    elif kty == "EC" and entry.get("crv") == "P-256" and alg in (None, "ES256"):
        algorithm = "ES256"
    else:
        log.info("VNeID JWKS: key %r skipped (kty %r, alg %r: RS256 or ES256 only)", kid, kty, alg)
        return None
    try:
        key = PyJWK(entry, algorithm)
    except PyJWKError as exc:
        log.warning("VNeID JWKS: key %r skipped: %s", kid, exc)
        return None
    if isinstance(key.key, rsa.RSAPublicKey) and key.key.key_size < MIN_RSA_BITS:
        log.warning("VNeID JWKS: key %r skipped: RSA under %s bits", kid, MIN_RSA_BITS)
        return None
    return key


class JwksCache:
    """The keys of one source, reloaded when stale; safe to share between threads."""

    def __init__(
        self,
        source: Source,
        *,
        clock: Clock,
        ttl: timedelta = timedelta(minutes=5),
        refresh_interval: timedelta = timedelta(seconds=30),
    ) -> None:
        self._source = source
        self._clock = clock
        self._ttl = ttl
        self._refresh_interval = refresh_interval
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._held = False  # a document was read once
        self._version: object | None = None
        self._due: datetime | None = None  # a URL's next fetch
        self._forced: datetime | None = None  # the last reload for an unknown kid

    @property
    def remote(self) -> bool:
        return self._source.remote

    def load(self) -> None:
        """Read the source now (at startup, for a file); ``ConfigError`` if that fails."""
        with self._lock:
            try:
                self._reload(self._clock.now())
            except (OSError, ValueError, Unavailable) as exc:
                raise ConfigError(f"GATEWAY_VNEID_JWKS: cannot read the keys: {exc}") from exc

    def keys(self, *, fetch: bool = True) -> Keys:
        """The keys, reloaded first if the source changed (a file) or the TTL ran out (a URL)."""
        now = self._clock.now()
        if self._stale(now):
            with self._lock:
                if self._stale(now):
                    self._try_reload(now, fetch=fetch)
        return self._held_keys()

    def refreshed(self, *, fetch: bool = True) -> Keys:
        """The keys read again now, unless they were so read within ``refresh_interval``."""
        now = self._clock.now()
        with self._lock:
            if self._forced is None or now >= self._forced + self._refresh_interval:
                if self._source.remote and not fetch:
                    raise FetchNeeded
                self._forced = now
                self._try_reload(now, fetch=fetch)
        return self._held_keys()

    def _stale(self, now: datetime) -> bool:
        if not self._source.remote:
            return not self._held or self._source.version() != self._version
        return self._due is None or now >= self._due

    def _try_reload(self, now: datetime, *, fetch: bool) -> None:
        if self._source.remote and not fetch:
            raise FetchNeeded
        try:
            self._reload(now)
        except (OSError, ValueError, Unavailable) as exc:
            # Keep what is held: a file caught half-written, a provider briefly down. A file is
            # not read again until it changes, a URL not before the refresh interval.
            self._version = self._source.version()
            self._due = now + self._refresh_interval
            log.warning("VNeID JWKS could not be read, keeping the keys held: %s", exc)

    def _reload(self, now: datetime) -> None:
        version = self._source.version()
        keys = parse(self._source.read())
        if not keys:
            raise ValueError("the JWKS holds no RS256 or ES256 signing key with a kid")
        self._keys, self._held, self._version = keys, True, version
        self._due = now + self._ttl
        log.info("VNeID JWKS loaded: %s keys", len(keys))

    def _held_keys(self) -> Keys:
        if not self._held:
            raise Unavailable("the VNeID identity provider's keys cannot be read", retry_after=30)
        return self._keys
