"""XMLDSig verification of enveloped signatures; its result is the only way to the signed content.

Invariant: ``verify_enveloped`` returns a ``VerifiedDocument`` whose ``root`` is the very tree that
was digested (the signature removed by the enveloped transform; comments, which URI=""
dereferencing leaves out, were already dropped by the hardened parser), signed by ``signer`` with
an allowed algorithm and a key chained to a pinned anchor at ``at``. There is exactly one
signature, in the place the document's profile names, with exactly one reference, to the whole
document. Nothing else is accepted: no Id references (so no wrapping by duplicate Ids or moved
subtrees), no ds:Object, no transforms beyond enveloped + c14n.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from gateway.errors import CertUntrusted, SignatureInvalid, SignatureMissing
from gateway.trust import policy as alg
from gateway.trust.anchors import TrustAnchors, fingerprint
from gateway.trust.c14n import canonicalize, canonicalize_subtree
from gateway.xml.ns import DS, q

# Clark-notation tags, built once, read with iterchildren (ElementPath walks a path in Python).
_SIGNATURE, _SIGNED_INFO, _SIGNATURE_VALUE, _OBJECT = (
    q(DS, t) for t in ("Signature", "SignedInfo", "SignatureValue", "Object")
)
_KEY_INFO, _X509_DATA, _X509_CERTIFICATE = (
    q(DS, t) for t in ("KeyInfo", "X509Data", "X509Certificate")
)
_REFERENCE, _TRANSFORMS, _TRANSFORM, _DIGEST_VALUE = (
    q(DS, t) for t in ("Reference", "Transforms", "Transform", "DigestValue")
)
_C14N_METHOD, _SIGNATURE_METHOD, _DIGEST_METHOD = (
    q(DS, t) for t in ("CanonicalizationMethod", "SignatureMethod", "DigestMethod")
)

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    alg.SHA256: hashes.SHA256,
    alg.SHA384: hashes.SHA384,
    alg.SHA512: hashes.SHA512,
}
_SIGNATURE_HASHES: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    alg.RSA_SHA256: ("rsa", hashes.SHA256),
    alg.RSA_SHA384: ("rsa", hashes.SHA384),
    alg.RSA_SHA512: ("rsa", hashes.SHA512),
    alg.ECDSA_SHA256: ("ec", hashes.SHA256),
    alg.ECDSA_SHA384: ("ec", hashes.SHA384),
    alg.ECDSA_SHA512: ("ec", hashes.SHA512),
}


@dataclass(frozen=True)
class SignerInfo:
    """Who signed, with what: the ``signature`` block of the common record."""

    subject: str
    issuer: str
    serial: str
    algorithm: str
    fingerprint: str


@dataclass(frozen=True)
class VerifiedDocument:
    """A document whose ``root`` is exactly what was signed; downstream reads only this."""

    root: etree._Element
    signer: SignerInfo
    certificate: x509.Certificate


def verify_enveloped(
    root: etree._Element,
    *,
    location: tuple[str, ...],
    anchors: TrustAnchors,
    policy: alg.SignaturePolicy,
    at: datetime,
) -> VerifiedDocument:
    """Verify the one enveloped signature at ``location`` (tags from the root to its parent)."""
    signature = _the_signature(list(root.iter(_SIGNATURE)), location)
    signed_info, value, certs = _read_structure(signature)
    c14n_method, signature_method, digest_method, digest_value, ref_c14n = _read_signed_info(
        signed_info, policy
    )
    known, leaf = certs[0], certs[0].certificate
    _check_key(leaf, signature_method, policy)
    anchors.validate(leaf, extra=[c.certificate for c in certs[1:]], at=at, policy=policy)
    _check_signature_value(
        leaf, signature_method, value, canonicalize_subtree(signed_info, c14n_method)
    )
    _remove_keeping_tail(signature)
    digest = hashes.Hash(_HASHES[digest_method]())
    digest.update(canonicalize(root, ref_c14n))
    if not hmac.compare_digest(digest.finalize(), digest_value):
        raise SignatureInvalid("the document was changed after it was signed (digest mismatch)")
    return VerifiedDocument(
        root=root, signer=_signer_info(known, signature_method), certificate=leaf
    )


def _the_signature(signatures: list[etree._Element], location: tuple[str, ...]) -> etree._Element:
    if not signatures:
        raise SignatureMissing("the document is not signed")
    if len(signatures) > 1:
        raise SignatureInvalid(f"the document has {len(signatures)} signatures; one is allowed")
    signature = signatures[0]
    path = tuple(a.tag for a in reversed(list(signature.iterancestors())))
    if path != location:
        expected = "/".join(location)
        raise SignatureInvalid(f"the signature must be the child of /{expected}")
    return signature


def _read_structure(
    signature: etree._Element,
) -> tuple[etree._Element, bytes, list[_Known]]:
    children = [c for c in signature if isinstance(c.tag, str)]
    tags = [c.tag for c in children]
    if _OBJECT in tags:
        raise SignatureInvalid("ds:Object inside the signature is not allowed")
    if tags[:2] != [_SIGNED_INFO, _SIGNATURE_VALUE] or len(tags) > 3:
        raise SignatureInvalid("the signature must hold SignedInfo, SignatureValue and KeyInfo")
    key_info = children[2:3] if tags[2:3] == [_KEY_INFO] else []
    certs_b64 = [
        cert
        for info in key_info
        for data in info.iterchildren(_X509_DATA)
        for cert in data.iterchildren(_X509_CERTIFICATE)
    ]
    if not certs_b64:
        raise CertUntrusted(
            "no X.509 certificate in KeyInfo; a bare key (KeyValue) cannot be trusted"
        )
    certs = [_certificate(c.text or "") for c in certs_b64]
    return children[0], _b64(children[1].text), certs


@dataclass(frozen=True, eq=False)  # one per KeyInfo text (cached): hashed by identity
class _Known:
    """A certificate already read, with what the signer block needs of it."""

    certificate: x509.Certificate
    subject: str
    issuer: str
    serial: str
    fingerprint: str


@functools.lru_cache(maxsize=4096)
def _read_certificate(text: str) -> _Known:
    # Partners sign thousands of documents with the same certificate: decode and read each
    # KeyInfo text once (a dossier carries it at both levels).
    cert = x509.load_der_x509_certificate(_b64(text))
    return _Known(
        certificate=cert,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        fingerprint=fingerprint(cert),
    )


@functools.lru_cache(maxsize=4096)
def _signer_info(known: _Known, algorithm: str) -> SignerInfo:
    # The same signer block for every document a certificate signs with one algorithm.
    return SignerInfo(
        subject=known.subject,
        issuer=known.issuer,
        serial=known.serial,
        algorithm=algorithm,
        fingerprint=known.fingerprint,
    )


def _certificate(text: str) -> _Known:
    try:
        return _read_certificate(text)
    except ValueError as exc:
        raise CertUntrusted("KeyInfo holds a certificate that cannot be read") from exc


def _read_signed_info(
    signed_info: etree._Element, policy: alg.SignaturePolicy
) -> tuple[str, str, str, bytes, str]:
    # One pass over each element's children: a tag-filtered iterchildren parses its tag on
    # every call.
    first, references = _first_children(signed_info, _REFERENCE)
    c14n = _algorithm(first, _C14N_METHOD)
    if c14n not in policy.c14n_methods:
        raise SignatureInvalid(f"canonicalization {c14n!r} is not accepted")
    method = _algorithm(first, _SIGNATURE_METHOD)
    if method not in policy.signature_methods:
        raise SignatureInvalid(f"signature algorithm {method!r} is weak or not supported")
    if len(references) != 1:
        raise SignatureInvalid("exactly one Reference, to the whole document, is accepted")
    reference = references[0]
    if reference.get("URI") != "":
        raise SignatureInvalid(
            f'the Reference must cover the whole document (URI=""), not {reference.get("URI")!r}'
        )
    parts, groups = _first_children(reference, _TRANSFORMS)
    transforms = [t.get("Algorithm") for group in groups for t in group.iterchildren(_TRANSFORM)]
    if not transforms or transforms[0] != alg.ENVELOPED or len(transforms) > 2:
        raise SignatureInvalid("transforms must be enveloped-signature, then at most one c14n")
    ref_c14n = transforms[1] if len(transforms) == 2 else alg.C14N_10
    if ref_c14n not in policy.c14n_methods:
        raise SignatureInvalid(f"transform {ref_c14n!r} is not accepted")
    digest_method = _algorithm(parts, _DIGEST_METHOD)
    if digest_method not in policy.digest_methods:
        raise SignatureInvalid(f"digest algorithm {digest_method!r} is weak or not supported")
    digest_value = parts.get(_DIGEST_VALUE)
    return (
        c14n,
        method,
        digest_method,
        _b64(None if digest_value is None else digest_value.text),
        ref_c14n,
    )


def _first_children(
    parent: etree._Element, repeated: str
) -> tuple[dict[str, etree._Element], list[etree._Element]]:
    """The first child of each tag, and every child whose tag is ``repeated``."""
    first: dict[str, etree._Element] = {}
    every: list[etree._Element] = []
    for child in parent:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == repeated:
            every.append(child)
        elif tag not in first:
            first[tag] = child
    return first, every


def _algorithm(first: dict[str, etree._Element], tag: str) -> str:
    """The Algorithm of the first ``tag`` child (``first``, from ``_first_children``)."""
    element = first.get(tag)
    value = None if element is None else element.get("Algorithm")
    if not value:
        raise SignatureInvalid(f"ds:{etree.QName(tag).localname} with an Algorithm is required")
    return value


def _b64(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("a signature value is not valid base64") from exc


def _check_key(cert: x509.Certificate, method: str, policy: alg.SignaturePolicy) -> None:
    key = cert.public_key()
    kind, _ = _SIGNATURE_HASHES[method]
    if isinstance(key, rsa.RSAPublicKey) and kind == "rsa":
        if key.key_size < policy.min_rsa_bits:
            raise SignatureInvalid(
                f"an RSA key of {key.key_size} bits is too weak (minimum {policy.min_rsa_bits})"
            )
    elif isinstance(key, ec.EllipticCurvePublicKey) and kind == "ec":
        if key.curve.name not in policy.ec_curves:
            raise SignatureInvalid(f"elliptic curve {key.curve.name} is not accepted")
    else:
        raise SignatureInvalid("the signature algorithm does not match the certificate's key")


def _check_signature_value(
    cert: x509.Certificate, method: str, value: bytes, signed_info: bytes
) -> None:
    _, hash_type = _SIGNATURE_HASHES[method]
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, signed_info, padding.PKCS1v15(), hash_type())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            # XMLDSig carries ECDSA signatures as r || s (RFC 4050), not DER.
            half = len(value) // 2
            der = encode_dss_signature(
                int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            )
            key.verify(der, signed_info, ec.ECDSA(hash_type()))
    except InvalidSignature as exc:
        raise SignatureInvalid("the signature value does not match SignedInfo") from exc


def _remove_keeping_tail(node: etree._Element) -> None:
    """Remove ``node`` but keep the text that follows it, as the XPath node-set removal does."""
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    previous = node.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(node)
