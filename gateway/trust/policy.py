"""What the gateway accepts in a signature: algorithms, key sizes, clock skew; secure defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from gateway.xml.ns import DS, DSIG_MORE, XMLENC

C14N_10: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_EXC: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED: Final = f"{DS}enveloped-signature"

RSA_SHA256: Final = f"{DSIG_MORE}rsa-sha256"
RSA_SHA384: Final = f"{DSIG_MORE}rsa-sha384"
RSA_SHA512: Final = f"{DSIG_MORE}rsa-sha512"
ECDSA_SHA256: Final = f"{DSIG_MORE}ecdsa-sha256"
ECDSA_SHA384: Final = f"{DSIG_MORE}ecdsa-sha384"
ECDSA_SHA512: Final = f"{DSIG_MORE}ecdsa-sha512"

SHA256: Final = f"{XMLENC}sha256"
SHA384: Final = f"{DSIG_MORE}sha384"
SHA512: Final = f"{XMLENC}sha512"


@dataclass(frozen=True)
class SignaturePolicy:
    """Allowed algorithms and keys. SHA-1, MD5, HMAC and comment-keeping c14n are absent (the
    hardened parser drops comments, which only a comment-less c14n leaves out of the digest)."""

    signature_methods: frozenset[str] = field(
        default_factory=lambda: frozenset(
            {RSA_SHA256, RSA_SHA384, RSA_SHA512, ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512}
        )
    )
    digest_methods: frozenset[str] = field(
        default_factory=lambda: frozenset({SHA256, SHA384, SHA512})
    )
    c14n_methods: frozenset[str] = field(default_factory=lambda: frozenset({C14N_10, C14N_EXC}))
    min_rsa_bits: int = 2048
    ec_curves: frozenset[str] = field(default_factory=lambda: frozenset({"secp256r1", "secp384r1"}))
    # Allowed difference between a partner's clock and ours when checking validity periods.
    clock_skew: timedelta = timedelta(minutes=5)
    # Without current revocation information for an issuer, a document is not accepted (503).
    require_crl: bool = True
