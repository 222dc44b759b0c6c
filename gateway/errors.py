"""The one error tree of the gateway: SPEC codes, HTTP statuses, SOAP fault sides.

Every error a partner can see is a ``GatewayError``; it carries a stable ``code`` (SPEC section 5),
the HTTP status, the SOAP fault side and keyword-only context. Routes never build error responses:
``gateway.api.problems`` renders problem+json and ``gateway.soap.faults`` renders SOAP Faults.

    GatewayError
    ├── XmlMalformed            XML_MALFORMED          400  Client
    ├── XmlForbiddenConstruct   XML_FORBIDDEN_CONSTRUCT 400 Client
    ├── XmlTooLarge             XML_TOO_LARGE          413  Client
    ├── SignatureMissing        SIGNATURE_MISSING      400  Client
    ├── SignatureInvalid        SIGNATURE_INVALID      422  Client
    ├── CertificateError
    │   ├── CertUntrusted       CERT_UNTRUSTED         422  Client
    │   ├── CertExpired         CERT_EXPIRED           422  Client
    │   └── CertRevoked         CERT_REVOKED           422  Client
    ├── SchemaInvalid           SCHEMA_INVALID         422  Client
    ├── RuleViolation           RULE_VIOLATION         422  Client
    ├── Unauthorized            UNAUTHORIZED           401  Client
    ├── Forbidden               FORBIDDEN              403  Client
    ├── NotFound                NOT_FOUND              404  Client
    ├── Conflict                CONFLICT               409  Client
    ├── RateLimited             RATE_LIMITED           429  Client
    ├── Unavailable             UNAVAILABLE            503  Server
    └── Internal                INTERNAL               500  Server
        ├── OriginalCorrupt     INTERNAL               500  Server
        ├── RecordCorrupt       INTERNAL               500  Server
        ├── ReceiptCorrupt      INTERNAL               500  Server
        └── EntryCorrupt        INTERNAL               500  Server

Library exceptions are translated in one table (``translate``), most specific first, and always
re-raised ``from`` the original. Configuration mistakes are ``ConfigError``, which is *not* a
``GatewayError``: it stops startup with a message and never reaches a partner.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal


class ConfigError(Exception):
    """The gateway's own configuration is wrong: startup stops with this message."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message: startup errors are one line each."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


@dataclass(frozen=True)
class Issue:
    """One finding inside an error: what is wrong and where (table, XPath-like path, line)."""

    message: str
    path: str | None = None
    line: int | None = None
    table: str | None = None
    rule: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class GatewayError(Exception):
    """Root of every error a partner can be shown."""

    code: ClassVar[str] = "INTERNAL"
    status: ClassVar[int] = 500
    # The problem title a partner reads: written for them, per class (never the docstring).
    title: ClassVar[str] = "Internal error of the gateway"
    fault_side: ClassVar[Literal["Client", "Server"]] = "Client"
    retry_after: int | None = None

    def __init__(self, detail: str, *, issues: list[Issue] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.issues = list(issues or [])
        # Set by the pipeline once the rejection's receipt is stored.
        self.receipt_id: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole when a pipeline process hands it back (gateway.api.processes): rebuilt
        # without __init__, whose keyword-only arguments differ from class to class.
        return (_rebuilt, (type(self), self.args, dict(self.__dict__)))


def _rebuilt(cls: type[GatewayError], args: tuple[Any, ...], state: dict[str, Any]) -> GatewayError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class XmlMalformed(GatewayError):
    """Not well-formed XML, a wrong content type or an encoding other than UTF-8."""

    code, status = "XML_MALFORMED", 400
    title = "Malformed request"


class XmlForbiddenConstruct(GatewayError):
    """A DTD, entity declaration, external reference or processing instruction."""

    code, status = "XML_FORBIDDEN_CONSTRUCT", 400
    title = "Forbidden XML construct"


class XmlTooLarge(GatewayError):
    """Body, depth, element count, attribute or embedded payload over the configured limits."""

    code, status = "XML_TOO_LARGE", 413
    title = "Document over the size limits"


class SignatureMissing(GatewayError):
    """The document carries no XML signature where its profile requires one."""

    code, status = "SIGNATURE_MISSING", 400
    title = "Document not signed"


class SignatureInvalid(GatewayError):
    """Digest or signature mismatch, a weak or unsupported algorithm, or wrapped content."""

    code, status = "SIGNATURE_INVALID", 422
    title = "Signature not valid"


class CertificateError(GatewayError):
    """The signer's certificate cannot be trusted at reception time."""

    status = 422
    title = "Signing certificate not accepted"


class CertUntrusted(CertificateError):
    """No chain to a pinned trust anchor (self-signed, unknown issuer, key only in KeyValue)."""

    code = "CERT_UNTRUSTED"
    title = "Signing certificate not trusted"


class CertExpired(CertificateError):
    """A certificate of the chain is outside its validity period at reception time."""

    code = "CERT_EXPIRED"
    title = "Signing certificate outside its validity period"


class CertRevoked(CertificateError):
    """A certificate of the chain is listed in its issuer's CRL."""

    code = "CERT_REVOKED"
    title = "Signing certificate revoked"


class SchemaInvalid(GatewayError):
    """The document or one of its tables fails its XSD."""

    code, status = "SCHEMA_INVALID", 422
    title = "Document does not match its schema"


class RuleViolation(GatewayError):
    """A business rule of the document's format is broken (issues carry the rule ids)."""

    code, status = "RULE_VIOLATION", 422
    title = "Business rule not met"


class Unauthorized(GatewayError):
    """No credential, or one that matches no partner."""

    code, status = "UNAUTHORIZED", 401
    title = "Authentication required"


class Forbidden(GatewayError):
    """The partner may not call this service, sign with this certificate or act for this code."""

    code, status = "FORBIDDEN", 403
    title = "Not permitted for this partner"


class NotFound(GatewayError):
    """No such id, or not one this partner may see."""

    code, status = "NOT_FOUND", 404
    title = "Not found"


class Conflict(GatewayError):
    """The request conflicts with the resource's state (an illegal transition)."""

    code, status = "CONFLICT", 409
    title = "Conflict with the current state"

    def __init__(
        self, detail: str, *, allowed: list[str] | None = None, issues: list[Issue] | None = None
    ) -> None:
        super().__init__(detail, issues=issues)
        # The moves the resource's state allows, for a refused lifecycle transition.
        self.allowed = list(allowed or [])


class RateLimited(GatewayError):
    """A per-partner or per-citizen limit is reached; retry after ``retry_after`` seconds."""

    code, status = "RATE_LIMITED", 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(GatewayError):
    """A dependency is down; nothing was stored; retry after ``retry_after`` seconds."""

    code, status, fault_side = "UNAVAILABLE", 503, "Server"
    title = "Temporarily unavailable"

    def __init__(
        self, detail: str, *, retry_after: int = 5, database: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        # What readiness found of the database and its pool (the problem's ``database``).
        self.database = database


class Internal(GatewayError):
    """An unexpected failure inside the gateway (a bug, logged); nothing was stored."""

    fault_side = "Server"
    title = "Internal error of the gateway"

    def __init__(self, detail: str = "internal error; nothing was stored") -> None:
        super().__init__(detail)


class OriginalCorrupt(Internal):
    """Stored original bytes no longer match their SHA-256 (or do not decompress within their
    stored size): the store refuses to hand them back."""

    title = "A stored original failed its integrity check"

    def __init__(self, sha256: str) -> None:
        super().__init__(f"the stored original {sha256} fails its integrity check")
        self.sha256 = sha256


class RecordCorrupt(Internal):
    """A stored record's JSON does not decompress to its stored size, or fails its frame's
    checksum: the store refuses to hand it back."""

    title = "A stored record failed its integrity check"

    def __init__(self, record_id: str) -> None:
        super().__init__(f"the stored record {record_id} fails its integrity check")
        self.record_id = record_id


class ReceiptCorrupt(Internal):
    """A stored receipt's JSON or signed XML does not decompress to its stored size, or fails
    its frame's checksum: the store refuses to hand it back."""

    title = "A stored receipt failed its integrity check"

    def __init__(self, receipt_id: str) -> None:
        super().__init__(f"the stored receipt {receipt_id} fails its integrity check")
        self.receipt_id = receipt_id


class EntryCorrupt(Internal):
    """A stored index entry (visit history, signals) does not decompress within its limit, or
    fails its frame's checksum: the store refuses to hand its list back."""

    title = "A stored index entry failed its integrity check"

    def __init__(self, name: str) -> None:
        super().__init__("a stored index entry fails its integrity check")
        self.name = name  # may hold a card number: not in the detail a log or partner sees


# The library-exception table: (module, exception class, what it becomes), most specific first.
# Only dependency failures belong here; parsing errors are translated by the hardened parser
# itself because their meaning depends on the libxml2 message. Modules are named, not imported,
# so that the core does not load a driver it does not use: an exception of a module that was
# never imported cannot occur.
_TABLE: tuple[tuple[str, str, type[Unavailable]], ...] = (
    ("redis.exceptions", "BusyLoadingError", Unavailable),
    ("redis.exceptions", "ConnectionError", Unavailable),
    ("redis.exceptions", "TimeoutError", Unavailable),
    # A Redis that cannot take writes (maxmemory reached, a replica after failover) still
    # answers reads: a write refused for these reasons is an outage, not a bug.
    ("redis.exceptions", "OutOfMemoryError", Unavailable),
    ("redis.exceptions", "ReadOnlyError", Unavailable),
    ("sqlite3", "OperationalError", Unavailable),
    # A server down, restarting or unreachable, no pooled connection in time (PoolTimeout is
    # one), a deadlock or serialization failure: nothing was committed, the partner retries.
    ("psycopg", "OperationalError", Unavailable),
    # A hot standby, or a primary demoted by a failover, refuses writes.
    ("psycopg.errors", "ReadOnlySqlTransaction", Unavailable),
)


def _matching(exc: Exception) -> type[Unavailable] | None:
    for module_name, class_name, target in _TABLE:
        module = sys.modules.get(module_name)
        exc_type = getattr(module, class_name, None) if module else None
        if isinstance(exc_type, type) and isinstance(exc, exc_type):
            return target
    return None


@contextmanager
def translate(what: str) -> Iterator[None]:
    """Turn a dependency's exception into the SPEC error (``what`` names the dependency)."""
    try:
        yield
    except GatewayError:
        raise
    except Exception as exc:
        target = _matching(exc)
        if target is None:
            raise
        raise target(f"{what} is unavailable") from exc
