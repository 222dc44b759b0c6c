"""The trust store: pinned CA certificates and CRLs, and certificate-chain validation against them.

Invariant: ``TrustAnchors.validate`` returns only when the leaf chains, certificate by certificate,
to a certificate of the trust store, every certificate of the chain is valid at the given time,
every issuer is a CA, and no certificate is revoked by a current CRL of its issuer.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtensionOID

from gateway.errors import CertExpired, CertRevoked, CertUntrusted, ConfigError, Unavailable
from gateway.trust.policy import SignaturePolicy

_MAX_CHAIN = 8
_IDENTITIES = 4096  # chains looked up by the identity of their certificate objects, at most


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex: how partners register certificates."""
    return cert.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True)
class _Link:
    """A certificate of a chain, its issuer, and for each CRL of the issuer whose signature
    verified: its next update and whether it revokes the certificate (a CRL never changes)."""

    cert: x509.Certificate
    issuer: x509.Certificate
    crls: tuple[tuple[datetime | None, bool], ...]


@dataclass(frozen=True)
class _Chain:
    """A chain built once, with what each check at a given time needs, read once."""

    certificates: list[x509.Certificate]
    validity: tuple[tuple[datetime, datetime], ...]  # not before, not after
    links: tuple[_Link, ...]


class TrustAnchors:
    """CA certificates (anchors) and the CRLs their issuers signed, loaded from one folder."""

    def __init__(
        self, anchors: list[x509.Certificate], crls: list[x509.CertificateRevocationList]
    ) -> None:
        self._anchors = {fingerprint(c): c for c in anchors}
        self._by_subject: dict[x509.Name, list[x509.Certificate]] = {}
        for cert in anchors:
            self._by_subject.setdefault(cert.subject, []).append(cert)
        self._crls: dict[x509.Name, list[x509.CertificateRevocationList]] = {}
        for crl in crls:
            self._crls.setdefault(crl.issuer, []).append(crl)
        # CRLs whose signature was checked against a given issuer, by the issuer (certificates
        # hash by their DER bytes: cheaper than a SHA-256 fingerprint on every signature).
        self._verified_crls: dict[x509.Certificate, list[x509.CertificateRevocationList]] = {}
        self._chains: dict[tuple[x509.Certificate, ...], _Chain] = {}
        self._by_identity: dict[tuple[int, ...], tuple[tuple[x509.Certificate, ...], _Chain]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_directory(cls, folder: Path) -> TrustAnchors:
        """Load every PEM certificate and CRL in ``folder`` (files ending .pem, .crt, .crl)."""
        if not folder.is_dir():
            raise ConfigError(f"trust store {folder} is not a directory")
        anchors: list[x509.Certificate] = []
        crls: list[x509.CertificateRevocationList] = []
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".pem", ".crt", ".crl"):
                continue
            data = path.read_bytes()
            if b"BEGIN X509 CRL" in data:
                crls.append(x509.load_pem_x509_crl(data))
            elif b"BEGIN CERTIFICATE" in data:
                anchors.extend(x509.load_pem_x509_certificates(data))
        if not anchors:
            raise ConfigError(f"trust store {folder} holds no CA certificate")
        return cls(anchors, crls)

    def validate(
        self,
        leaf: x509.Certificate,
        *,
        extra: list[x509.Certificate],
        at: datetime,
        policy: SignaturePolicy,
    ) -> list[x509.Certificate]:
        """The chain from ``leaf`` to a pinned certificate, or the SPEC error saying why not."""
        chain = self._chain(leaf, extra)
        early, late = at + policy.clock_skew, at - policy.clock_skew  # ``at``, either way
        for cert, (not_before, not_after) in zip(chain.certificates, chain.validity, strict=True):
            if early < not_before:
                raise CertExpired(f"certificate {cert.subject.rfc4514_string()} is not yet valid")
            if late > not_after:
                raise CertExpired(f"certificate {cert.subject.rfc4514_string()} has expired")
        for link in chain.links:
            self._check_revocation(link, late=late, policy=policy)
        return chain.certificates

    def _chain(self, leaf: x509.Certificate, extra: list[x509.Certificate]) -> _Chain:
        # The same certificate objects come back for the same KeyInfo (the verifier caches
        # them), and hashing one reads its whole structure (1.3 us): look them up by identity
        # first. An entry holds its certificates, so no other object can have their ids.
        ids = (id(leaf), *[id(c) for c in extra])
        with self._lock:
            known = self._by_identity.get(ids)
        if known is not None:
            return known[1]
        certificates = (leaf, *extra)  # hashed and compared by their DER bytes
        with self._lock:
            chain = self._chains.get(certificates)
        if chain is None:
            chain = self._new_chain(leaf, extra)
            with self._lock:
                self._chains[certificates] = chain
        with self._lock:
            if len(self._by_identity) >= _IDENTITIES:
                self._by_identity.clear()
            self._by_identity[ids] = (certificates, chain)
        return chain

    def _new_chain(self, leaf: x509.Certificate, extra: list[x509.Certificate]) -> _Chain:
        certificates = self._build(leaf, extra)
        return _Chain(
            certificates=certificates,
            validity=tuple((c.not_valid_before_utc, c.not_valid_after_utc) for c in certificates),
            links=tuple(self._link(c, issuer) for c, issuer in itertools.pairwise(certificates)),
        )

    def _link(self, cert: x509.Certificate, issuer: x509.Certificate) -> _Link:
        return _Link(
            cert,
            issuer,
            tuple(
                (
                    crl.next_update_utc,
                    crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None,
                )
                for crl in self._crls_of(issuer)
            ),
        )

    def _build(
        self, leaf: x509.Certificate, extra: list[x509.Certificate]
    ) -> list[x509.Certificate]:
        if fingerprint(leaf) in self._anchors:
            return [leaf]
        chain = [leaf]
        current = leaf
        for _ in range(_MAX_CHAIN):
            issuer = self._issuer_of(current, extra)
            if issuer is None:
                raise CertUntrusted(
                    f"certificate {current.subject.rfc4514_string()} does not chain to a trust "
                    "anchor of the gateway"
                )
            _require_ca(issuer)
            chain.append(issuer)
            if fingerprint(issuer) in self._anchors:
                return chain
            current = issuer
        raise CertUntrusted("the certificate chain is too long")

    def _issuer_of(
        self, cert: x509.Certificate, extra: list[x509.Certificate]
    ) -> x509.Certificate | None:
        candidates = self._by_subject.get(cert.issuer, []) + [
            c for c in extra if c.subject == cert.issuer and c is not cert
        ]
        for candidate in candidates:
            try:
                cert.verify_directly_issued_by(candidate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return candidate
        return None

    def _crls_of(self, issuer: x509.Certificate) -> list[x509.CertificateRevocationList]:
        with self._lock:
            verified = self._verified_crls.get(issuer)
        if verified is None:
            public_key = issuer.public_key()
            verified = [
                crl
                for crl in self._crls.get(issuer.subject, [])
                if crl.is_signature_valid(public_key)  # type: ignore[arg-type]
            ]
            with self._lock:
                self._verified_crls[issuer] = verified
        return verified

    @staticmethod
    def _check_revocation(link: _Link, *, late: datetime, policy: SignaturePolicy) -> None:
        """``late``: the time of the check less the clock skew allowed."""
        current = [
            revoked
            for next_update, revoked in link.crls
            if next_update is None or next_update >= late
        ]
        if not current:
            if policy.require_crl:
                raise Unavailable(
                    f"no current CRL of {link.issuer.subject.rfc4514_string()} is loaded; "
                    "revocation cannot be checked",
                    retry_after=300,
                )
            return
        if any(current):
            cert = link.cert
            raise CertRevoked(
                f"certificate {cert.subject.rfc4514_string()} (serial "
                f"{cert.serial_number:x}) is revoked"
            )


def _require_ca(cert: x509.Certificate) -> None:
    try:
        constraints = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except x509.ExtensionNotFound:
        constraints = None
    if not isinstance(constraints, x509.BasicConstraints) or not constraints.ca:
        raise CertUntrusted(f"issuer {cert.subject.rfc4514_string()} is not a CA")
