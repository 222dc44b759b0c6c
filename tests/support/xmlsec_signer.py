"""An independent signer: libxmlsec1 (through ``xmlsec``), standards-correct, not our code."""

from __future__ import annotations

import xmlsec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from gateway.trust.sign import SigningIdentity
from gateway.xml.parser import XmlLimits, parse


def xmlsec_sign(
    unsigned: bytes,
    identity: SigningIdentity,
    *,
    container: str | None = "CHUKYDONVI",
    prefixed: bool = False,
    c14n: object = None,
    method: object = None,
    digest: object = None,
    uri: str = "",
    id_attribute: str | None = None,
) -> bytes:
    """Sign like .NET SignedXml does by default (default-namespace Signature inside
    ``container``, inclusive C14N, enveloped, SHA-256) unless told otherwise."""
    root = parse(unsigned, XmlLimits())
    is_ec = isinstance(identity.key, ec.EllipticCurvePrivateKey)
    signature = xmlsec.template.create(
        root,
        c14n or xmlsec.Transform.C14N,
        method or (xmlsec.Transform.ECDSA_SHA256 if is_ec else xmlsec.Transform.RSA_SHA256),
        ns="ds" if prefixed else None,
    )
    parent = root if container is None else root.find(container)
    assert parent is not None
    parent.append(signature)
    if id_attribute:
        xmlsec.tree.add_ids(root, [id_attribute])
    reference = xmlsec.template.add_reference(signature, digest or xmlsec.Transform.SHA256, uri=uri)
    xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    key = xmlsec.Key.from_memory(
        identity.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        xmlsec.KeyFormat.PEM,
    )
    key.load_cert_from_memory(
        identity.certificate.public_bytes(serialization.Encoding.PEM), xmlsec.KeyFormat.CERT_PEM
    )
    context = xmlsec.SignatureContext()
    context.key = key
    context.sign(signature)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def xmlsec_verify(signed: bytes, identity: SigningIdentity) -> None:
    """Verify with libxmlsec1 using the signer's certificate (raises on failure)."""
    root = parse(signed, XmlLimits())
    signature = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(
        identity.certificate.public_bytes(serialization.Encoding.PEM), xmlsec.KeyFormat.CERT_PEM
    )
    context.verify(signature)
