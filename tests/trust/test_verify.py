"""XMLDSig verification: independent signatures verify; every tampering and wrapping is refused."""

from __future__ import annotations

import base64
import random
from datetime import UTC, date, datetime, timedelta

import pytest
import xmlsec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from adapters.hospital import synth
from gateway.errors import GatewayError
from gateway.trust.anchors import TrustAnchors
from gateway.trust.c14n import canonicalize_subtree
from gateway.trust.policy import C14N_10, SignaturePolicy
from gateway.trust.sign import sign_enveloped
from gateway.trust.verify import VerifiedDocument, verify_enveloped
from gateway.xml.ns import DS
from gateway.xml.parser import XmlLimits, parse
from tests.conftest import Pki
from tests.support.batches import sign
from tests.support.xmlsec_signer import xmlsec_sign, xmlsec_verify

LOCATION = ("GIAMDINHHS", "CHUKYDONVI")
NS = {"ds": DS}


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    visit = synth.make_visit(random.Random(7), facility_code="01929", index=1)
    return synth.envelope("01929", [synth.tables(visit)], created=date.today())


@pytest.fixture(scope="module")
def anchors(pki: Pki) -> TrustAnchors:
    return TrustAnchors.from_directory(pki.trust_store)


def verify(data: bytes, anchors: TrustAnchors, **policy: object) -> VerifiedDocument:
    return verify_enveloped(
        parse(data, XmlLimits()),
        location=LOCATION,
        anchors=anchors,
        policy=SignaturePolicy(**policy),  # type: ignore[arg-type]
        at=datetime.now(UTC),
    )


def refused(data: bytes, anchors: TrustAnchors, **policy: object) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        verify(data, anchors, **policy)
    return caught.value


def reparse(data: bytes) -> etree._Element:
    return parse(data, XmlLimits())


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


# --- interoperability: signatures made by libxmlsec1 -----------------------------------------


def test_dotnet_layout_signature_by_independent_signer_verifies(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    signed = xmlsec_sign(unsigned, pki.hospital)
    # The exact layout of .NET SignedXml exports: default-namespace Signature in CHUKYDONVI,
    # xsi/xsd declared on the root, inclusive C14N (the layout lxml's subtree c14n gets wrong).
    assert b'<CHUKYDONVI><Signature xmlns="http://www.w3.org/2000/09/xmldsig#">' in signed
    assert b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' in signed
    verified = verify(signed, anchors)
    assert verified.signer.subject.startswith("CN=hospital-01929")
    assert verified.root.find(".//ds:Signature", NS) is None


@pytest.mark.parametrize(
    "variant",
    [
        {"prefixed": True},
        {"c14n": xmlsec.Transform.EXCL_C14N},
        {"method": xmlsec.Transform.RSA_SHA512, "digest": xmlsec.Transform.SHA512},
        {"method": xmlsec.Transform.RSA_SHA384, "digest": xmlsec.Transform.SHA384},
    ],
    ids=["ds-prefix", "exclusive-c14n", "rsa-sha512", "rsa-sha384"],
)
def test_other_standard_variants_by_independent_signer_verify(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors, variant: dict[str, object]
) -> None:
    assert verify(xmlsec_sign(unsigned, pki.hospital, **variant), anchors).signer


def test_ecdsa_p256_signature_by_independent_signer_verifies(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    verified = verify(xmlsec_sign(unsigned, pki.bad["ec_p256"]), anchors)
    assert verified.signer.algorithm.endswith("ecdsa-sha256")


def test_our_signatures_verify_with_the_independent_verifier(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    for identity in (pki.hospital, pki.bad["ec_p256"]):
        signed = sign(unsigned, identity)
        xmlsec_verify(signed, identity)
        assert verify(signed, anchors).signer.fingerprint


def test_signed_info_in_a_namespace_context_verifies_as_the_independent_signer_made_it(
    pki: Pki, anchors: TrustAnchors
) -> None:
    # SignedInfo's inclusive C14N renders every namespace in scope (used or not) and inherits
    # xml:* attributes: declared here on the ancestors, with white space between elements.
    unsigned = (
        b'<GIAMDINHHS xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:u="urn:u"'
        b' xml:lang="vi">\n  <THONGTINDONVI>01929</THONGTINDONVI>\n'
        b'  <CHUKYDONVI xml:space="preserve" xmlns:ds="urn:shadowed"></CHUKYDONVI>\n'
        b"</GIAMDINHHS>"
    )
    for prefixed in (False, True):
        signed = xmlsec_sign(unsigned, pki.hospital, prefixed=prefixed)
        assert verify(signed, anchors).signer.subject.startswith("CN=hospital-01929")


def test_signed_info_canonical_form_has_no_spurious_empty_namespace(
    unsigned: bytes, pki: Pki
) -> None:
    root = reparse(xmlsec_sign(unsigned, pki.hospital))
    signed_info = root.find(".//ds:SignedInfo", NS)
    assert signed_info is not None
    canonical = canonicalize_subtree(signed_info, C14N_10)
    assert b'xmlns=""' not in canonical
    value = root.findtext(".//ds:SignatureValue", namespaces=NS)
    pki.hospital.certificate.public_key().verify(  # type: ignore[call-arg, union-attr]
        base64.b64decode(value or ""), canonical, padding.PKCS1v15(), hashes.SHA256()
    )


# --- tampering ----------------------------------------------------------------------------------


def test_changed_text_node_is_refused(unsigned: bytes, pki: Pki, anchors: TrustAnchors) -> None:
    root = reparse(xmlsec_sign(unsigned, pki.hospital))
    ngaylap = root.find("THONGTINHOSO/NGAYLAP")
    assert ngaylap is not None
    ngaylap.text = "20200101"
    assert refused(serialize(root), anchors).code == "SIGNATURE_INVALID"


def test_changed_embedded_table_is_refused(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    root = reparse(sign(unsigned, pki.hospital))
    content = root.find(".//NOIDUNGFILE")
    assert content is not None and content.text
    table = base64.b64decode(content.text).replace(b"<T_BHTT>", b"<T_BHTT>9")
    content.text = base64.b64encode(table).decode()
    error = refused(serialize(root), anchors)
    assert error.code == "SIGNATURE_INVALID" and "digest" in error.detail


def test_changed_attribute_is_refused(pki: Pki, anchors: TrustAnchors) -> None:
    document = (
        b'<GIAMDINHHS><THONGTINDONVI loai="1"><MACSKCB>01929</MACSKCB></THONGTINDONVI>'
        b"<CHUKYDONVI/></GIAMDINHHS>"
    )
    root = reparse(xmlsec_sign(document, pki.hospital))
    unit = root.find("THONGTINDONVI")
    assert unit is not None
    unit.set("loai", "2")
    assert refused(serialize(root), anchors).code == "SIGNATURE_INVALID"


def test_comment_splitting_signed_text_is_verified_and_read_whole(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    # C14N without comments digests "019<!-- x -->29" as "01929": the signature holds, and the
    # text the gateway reads is that digested text, never the "019" before the comment.
    signed = xmlsec_sign(unsigned, pki.hospital)
    commented = signed.replace(b"<MACSKCB>01929<", b"<MACSKCB>019<!-- x -->29<")
    assert commented != signed
    verified = verify(commented, anchors)
    assert verified.root.findtext("THONGTINDONVI/MACSKCB") == "01929"


def test_comment_between_elements_is_dropped_not_refused(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    signed = xmlsec_sign(unsigned, pki.hospital)
    commented = signed.replace(b"<THONGTINHOSO>", b"<!-- exported by HIS --><THONGTINHOSO>")
    verified = verify(commented, anchors)
    assert not verified.root.xpath("//comment()")


# --- algorithms and keys --------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        {"method": xmlsec.Transform.RSA_SHA1},
        {"digest": xmlsec.Transform.SHA1},
        {"method": xmlsec.Transform.HMAC_SHA256},
    ],
    ids=["rsa-sha1", "sha1-digest", "hmac"],
)
def test_weak_algorithms_are_refused(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors, variant: dict[str, object]
) -> None:
    if variant.get("method") == xmlsec.Transform.HMAC_SHA256:
        signed = sign(unsigned, pki.hospital).replace(
            b"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            b"http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        )
    else:
        signed = xmlsec_sign(unsigned, pki.hospital, **variant)
    error = refused(signed, anchors)
    assert error.code == "SIGNATURE_INVALID" and "weak or not supported" in error.detail


def test_md5_digest_is_refused(unsigned: bytes, pki: Pki, anchors: TrustAnchors) -> None:
    signed = sign(unsigned, pki.hospital).replace(
        b"http://www.w3.org/2001/04/xmlenc#sha256",
        b"http://www.w3.org/2001/04/xmldsig-more#md5",
    )
    error = refused(signed, anchors)
    assert error.code == "SIGNATURE_INVALID" and "md5" in error.detail


def test_rsa_1024_key_is_refused(unsigned: bytes, pki: Pki, anchors: TrustAnchors) -> None:
    error = refused(xmlsec_sign(unsigned, pki.bad["weak_rsa"]), anchors)
    assert error.code == "SIGNATURE_INVALID" and "1024" in error.detail


# --- certificates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("self_signed", "CERT_UNTRUSTED"),
        ("untrusted", "CERT_UNTRUSTED"),
        ("expired", "CERT_EXPIRED"),
        ("not_yet_valid", "CERT_EXPIRED"),
        ("revoked", "CERT_REVOKED"),
    ],
)
def test_certificate_problems_are_refused(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors, name: str, code: str
) -> None:
    assert refused(xmlsec_sign(unsigned, pki.bad[name]), anchors).code == code


def test_key_only_in_key_value_is_untrusted(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    root = reparse(sign(unsigned, pki.hospital))
    key_info = root.find(".//ds:KeyInfo", NS)
    assert key_info is not None
    for child in list(key_info):
        key_info.remove(child)
    numbers = pki.hospital.certificate.public_key().public_numbers()  # type: ignore[union-attr]
    rsa_value = etree.SubElement(
        etree.SubElement(key_info, f"{{{DS}}}KeyValue"), f"{{{DS}}}RSAKeyValue"
    )
    for name, number in (("Modulus", numbers.n), ("Exponent", numbers.e)):  # type: ignore[union-attr]
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        etree.SubElement(rsa_value, f"{{{DS}}}{name}").text = base64.b64encode(raw).decode()
    error = refused(serialize(root), anchors)
    assert error.code == "CERT_UNTRUSTED" and "KeyValue" in error.detail


def test_issuer_without_current_crl_makes_the_gateway_unavailable(
    unsigned: bytes, pki: Pki
) -> None:
    stale = TrustAnchors(
        [pki.root.certificate, pki.issuing.certificate],
        [pki.issuing.crl(now=datetime.now(UTC) - timedelta(days=60), valid_for=timedelta(days=1))],
    )
    error = refused(sign(unsigned, pki.hospital), stale)
    assert error.code == "UNAVAILABLE" and error.retry_after


def test_a_chain_built_once_is_checked_again_at_every_time(unsigned: bytes, pki: Pki) -> None:
    # The chain, its dates and what its CRLs say are read once; the checks run at each time.
    now = datetime.now(UTC)
    anchors = TrustAnchors(
        [pki.root.certificate, pki.issuing.certificate],
        [pki.root.crl(now=now), pki.issuing.crl(now=now, valid_for=timedelta(days=30))],
    )
    signed, revoked = sign(unsigned, pki.hospital), xmlsec_sign(unsigned, pki.bad["revoked"])

    def code_at(data: bytes, at: datetime) -> str:
        try:
            verify_enveloped(
                parse(data, XmlLimits()),
                location=LOCATION,
                anchors=anchors,
                policy=SignaturePolicy(),
                at=at,
            )
        except GatewayError as exc:
            return exc.code
        return "OK"

    assert [code_at(signed, now + timedelta(days=d)) for d in (0, 40, 0, 800, -2)] == [
        "OK",
        "UNAVAILABLE",  # the issuer's CRL is no longer current
        "OK",
        "CERT_EXPIRED",
        "CERT_EXPIRED",  # not yet valid
    ]
    assert [code_at(revoked, now) for _ in range(2)] == ["CERT_REVOKED"] * 2


# --- wrapping ---------------------------------------------------------------------------------


def test_signed_content_moved_under_object_with_new_content_is_refused(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    root = reparse(sign(unsigned, pki.hospital))
    signature = root.find(".//ds:Signature", NS)
    info = root.find("THONGTINHOSO")
    assert signature is not None and info is not None
    obj = etree.SubElement(signature, f"{{{DS}}}Object")
    obj.append(reparse(etree.tostring(info)))
    count = info.find("SOLUONGHOSO")
    assert count is not None
    count.text = "99"
    assert refused(serialize(root), anchors).code == "SIGNATURE_INVALID"


def test_reference_to_a_subtree_only_is_refused(pki: Pki, anchors: TrustAnchors) -> None:
    document = (
        b'<GIAMDINHHS><THONGTINDONVI Id="unit"><MACSKCB>01929</MACSKCB></THONGTINDONVI>'
        b"<THONGTINHOSO><SOLUONGHOSO>1</SOLUONGHOSO></THONGTINHOSO><CHUKYDONVI/></GIAMDINHHS>"
    )
    signed = xmlsec_sign(document, pki.hospital, uri="#unit", id_attribute="Id")
    error = refused(signed, anchors)
    assert error.code == "SIGNATURE_INVALID" and "whole document" in error.detail


def test_second_element_with_the_same_id_is_refused(pki: Pki, anchors: TrustAnchors) -> None:
    document = (
        b'<GIAMDINHHS><THONGTINHOSO Id="batch"><SOLUONGHOSO>1</SOLUONGHOSO></THONGTINHOSO>'
        b"<CHUKYDONVI/></GIAMDINHHS>"
    )
    signed = xmlsec_sign(document, pki.hospital, uri="#batch", id_attribute="Id")
    evil = signed.replace(
        b"<GIAMDINHHS>",
        b'<GIAMDINHHS><THONGTINHOSO Id="batch"><SOLUONGHOSO>99</SOLUONGHOSO></THONGTINHOSO>',
    )
    assert refused(evil, anchors).code == "SIGNATURE_INVALID"


def test_unsigned_sibling_batch_beside_the_signed_one_is_refused(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    signed = sign(unsigned, pki.hospital)
    body = signed.split(b"?>", 1)[1]
    wrapped = b"<WRAPPER>" + body + body.split(b"<CHUKYDONVI>")[0] + b"</GIAMDINHHS></WRAPPER>"
    assert refused(wrapped, anchors).code == "SIGNATURE_INVALID"


def test_unsigned_hoso_added_to_the_signed_batch_is_refused(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    root = reparse(sign(unsigned, pki.hospital))
    listing = root.find("THONGTINHOSO/DANHSACHHOSO")
    assert listing is not None
    listing.append(reparse(etree.tostring(listing[0])))
    assert refused(serialize(root), anchors).code == "SIGNATURE_INVALID"


def test_missing_signature(unsigned: bytes, anchors: TrustAnchors) -> None:
    assert refused(unsigned, anchors).code == "SIGNATURE_MISSING"


def test_signature_outside_chukydonvi_is_refused(
    pki: Pki, anchors: TrustAnchors, unsigned: bytes
) -> None:
    signed = xmlsec_sign(unsigned, pki.hospital, container=None)
    error = refused(signed, anchors)
    assert error.code == "SIGNATURE_INVALID" and "CHUKYDONVI" in error.detail


def test_two_signatures_are_refused(unsigned: bytes, pki: Pki, anchors: TrustAnchors) -> None:
    root = reparse(sign(unsigned, pki.hospital))
    container = root.find("CHUKYDONVI")
    assert container is not None
    sign_enveloped(root, pki.hospital, container=container)
    assert refused(serialize(root), anchors).code == "SIGNATURE_INVALID"


def test_verified_tree_is_what_was_digested(
    unsigned: bytes, pki: Pki, anchors: TrustAnchors
) -> None:
    verified = verify(sign(unsigned, pki.hospital), anchors)
    expected = reparse(unsigned)
    assert etree.tostring(verified.root, method="c14n") == etree.tostring(expected, method="c14n")


def test_private_key_pem_is_not_in_the_signature(unsigned: bytes, pki: Pki) -> None:
    key_pem = pki.hospital.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert base64.b64encode(key_pem)[:40] not in sign(unsigned, pki.hospital)
