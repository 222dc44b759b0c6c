"""Enveloped XMLDSig signing in the .NET ``SignedXml`` layout that QĐ 130 signatures use.

Used for the gateway's own receipts and by ``gateway sign`` (development and tests): a
default-namespace ``<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">``, inclusive C14N 1.0,
``Reference URI=""`` with the enveloped transform, SHA-256, and the certificate in KeyInfo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

from gateway.errors import ConfigError
from gateway.trust import policy as alg
from gateway.trust.c14n import canonicalize, canonicalize_subtree
from gateway.xml.ns import DS
from gateway.xml.tree import root_element

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# Permissions a private key file may not have: any for others, write or execute for the group.
# Group read stays allowed for a key owned by root and read by the service's group (0640).
_KEY_MODE_FORBIDDEN = stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP


def check_private_key_file(path: Path) -> None:
    """Refuse a private key that other users of the machine can read (certs/README.md)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"private key {path}: {exc.strerror}") from exc
    if mode & _KEY_MODE_FORBIDDEN:
        raise ConfigError(
            f"private key {path} has mode {mode:04o}, open to other users; "
            f"make it 0600 (chmod 600 {path}) or 0640 with a group of its own"
        )


@dataclass(frozen=True)
class SigningIdentity:
    """A private key and its certificate (and the intermediates to send with it)."""

    key: SigningKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> SigningIdentity:
        """Load a PEM private key (readable by its owner only) and a PEM certificate file (leaf
        first, then intermediates)."""
        check_private_key_file(key_path)
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            certs = x509.load_pem_x509_certificates(cert_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load signing key {key_path} / {cert_path}: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ConfigError(f"{key_path} is neither an RSA nor an EC private key")
        return cls(key=key, certificate=certs[0], chain=tuple(certs[1:]))

    def derived_key(self, purpose: bytes) -> bytes:
        """A 32-byte HMAC key for ``purpose``, derived from the private key, which every process
        of one gateway holds: they all derive the same one, and nobody without the key can."""
        der = self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return hmac.new(der, purpose, hashlib.sha256).digest()


def _sub(parent: etree._Element, local: str, **attrib: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DS}}}{local}", attrib=attrib)


def sign_enveloped(
    root: etree._Element, identity: SigningIdentity, *, container: etree._Element
) -> None:
    """Sign the whole document of ``root``; the Signature is the last child of ``container``."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(canonicalize(root, alg.C14N_10))
    is_rsa = isinstance(identity.key, rsa.RSAPrivateKey)
    signature = root_element(f"{{{DS}}}Signature", default_ns=DS)
    container.append(signature)
    signed_info = _sub(signature, "SignedInfo")
    _sub(signed_info, "CanonicalizationMethod", Algorithm=alg.C14N_10)
    _sub(signed_info, "SignatureMethod", Algorithm=alg.RSA_SHA256 if is_rsa else alg.ECDSA_SHA256)
    reference = _sub(signed_info, "Reference", URI="")
    _sub(_sub(reference, "Transforms"), "Transform", Algorithm=alg.ENVELOPED)
    _sub(reference, "DigestMethod", Algorithm=alg.SHA256)
    _sub(reference, "DigestValue").text = base64.b64encode(digest.finalize()).decode()
    value = _sub(signature, "SignatureValue")
    x509_data = _sub(_sub(signature, "KeyInfo"), "X509Data")
    for cert in (identity.certificate, *identity.chain):
        _sub(x509_data, "X509Certificate").text = base64.b64encode(
            cert.public_bytes(serialization.Encoding.DER)
        ).decode()
    data = canonicalize_subtree(signed_info, alg.C14N_10)
    if isinstance(identity.key, rsa.RSAPrivateKey):
        raw = identity.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(identity.key.sign(data, ec.ECDSA(hashes.SHA256())))
        size = (identity.key.curve.key_size + 7) // 8
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    value.text = base64.b64encode(raw).decode()
