"""Signed checkpoints of the audit chain: where retention cut the log, and the proof that the
entries it dropped chained to that point.

A checkpoint is canonical JSON ``{"at", "hash", "seq", "signer"}`` (the head at the cut, when
it was made, and the SHA-256 of the signing certificate's DER) signed with the gateway's private
key, as its receipts are: RSA PKCS#1 v1.5 or ECDSA, with SHA-256. JSON rather than XMLDSig
because no partner reads it; the gateway and ``gateway audit verify`` do.

Invariant: a log verifies from a checkpoint only if the checkpoint's signature holds under the
gateway's certificate; a checkpoint edited (its seq or hash moved to hide a rewrite) or forged
without the key is reported broken, never trusted (``verify_log``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from gateway.audit.chain import AuditHead, AuditReport, canonical, head_of, stored_bytes
from gateway.errors import Conflict
from gateway.trust.sign import SigningIdentity

if TYPE_CHECKING:
    from gateway.audit.ports import AuditLog


@dataclass(frozen=True)
class Checkpoint:
    """A signed head: the canonical JSON as signed, and its signature."""

    body: bytes
    signature: bytes

    @property
    def head(self) -> AuditHead:
        """The head the checkpoint names; ``ValueError`` if its body is not a checkpoint."""
        data = orjson.loads(self.body)
        if not isinstance(data, dict):
            raise ValueError("the checkpoint is not a JSON object")
        return head_of(data.get("seq"), data.get("hash"))


def checkpoint_of(row: Sequence[object] | None) -> Checkpoint | None:
    """The checkpoint of a stored row of (body, signature), if there is one."""
    return None if row is None else Checkpoint(stored_bytes(row[0]), stored_bytes(row[1]))


def start_of(checkpoint: Checkpoint | None) -> AuditHead:
    """Where verifying starts: the checkpoint's head, or the genesis (none, or unreadable: then
    the entries it covered are missing, and verify says so)."""
    if checkpoint is None:
        return AuditHead()
    try:
        return checkpoint.head
    except ValueError:
        return AuditHead()


def require_entry(cut: AuditHead, stored_hash: str | None) -> None:
    """Refuse to store a checkpoint of ``cut`` unless the log holds that very entry
    (``stored_hash``: the hash stored at its seq, None if there is none)."""
    if stored_hash != cut.hash:
        raise Conflict(
            f"the checkpoint names entry {cut.seq} with a hash the audit log does not hold "
            "there: nothing dropped"
        )


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def sign_checkpoint(head: AuditHead, *, at: datetime, identity: SigningIdentity) -> Checkpoint:
    """The checkpoint of ``head``, made at ``at`` and signed with the gateway's key."""
    body = canonical(
        {
            "at": at.isoformat(),
            "hash": head.hash,
            "seq": head.seq,
            "signer": _fingerprint(identity.certificate),
        }
    )
    key = identity.key
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(body, ec.ECDSA(hashes.SHA256()))
    return Checkpoint(body, signature)


def checkpoint_problem(checkpoint: Checkpoint, certificate: x509.Certificate) -> str | None:
    """Why ``checkpoint`` cannot be trusted under ``certificate``; None when it can."""
    try:
        checkpoint.head  # noqa: B018  # readable before anything else is believed
        signer = orjson.loads(checkpoint.body).get("signer")
    except ValueError as exc:
        return f"the checkpoint is unreadable ({exc})"
    if signer != _fingerprint(certificate):
        return "the checkpoint was signed by another certificate than the one given"
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(checkpoint.signature, checkpoint.body, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(checkpoint.signature, checkpoint.body, ec.ECDSA(hashes.SHA256()))
        else:
            return "the certificate's key is neither RSA nor EC"
    except InvalidSignature:
        return "the checkpoint's signature does not verify (it was changed or forged)"
    return None


def verify_log(log: AuditLog, certificate: x509.Certificate) -> AuditReport:
    """``log.verify()``, which starts from the log's latest checkpoint, broken at the checkpoint
    if its signature does not hold under ``certificate``."""
    checkpoint = log.checkpoint()
    problem = None if checkpoint is None else checkpoint_problem(checkpoint, certificate)
    if problem is not None:
        return AuditReport(0, False, None, problem)
    return log.verify()
