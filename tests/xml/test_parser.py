"""The hardened parser refuses every XML attack with its SPEC code, and reads what is legitimate."""

from __future__ import annotations

import base64
import itertools
import random
import tracemalloc

import pytest

from gateway.errors import GatewayError, XmlForbiddenConstruct, XmlMalformed, XmlTooLarge
from gateway.xml.parser import Base64Decoder, XmlLimits, decode_base64, parse
from tests.support.attacks import ATTACKS, EXPECTED, attack


def code_of(data: bytes, limits: XmlLimits | None = None) -> str:
    with pytest.raises(GatewayError) as caught:
        parse(data, limits or XmlLimits())
    return caught.value.code


def test_every_attack_file_has_an_expected_code() -> None:
    assert sorted(p.name for p in ATTACKS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED.items()))
def test_attack_document_is_refused_with_its_code(name: str, code: str) -> None:
    assert code_of(attack(name)) == code


def test_local_file_is_never_read_into_the_tree() -> None:
    with pytest.raises(XmlForbiddenConstruct) as caught:
        parse(attack("xxe_local_file.xml"), XmlLimits())
    assert "root:" not in str(caught.value)


def test_network_entity_is_refused_without_any_request(listener: tuple[str, list[str]]) -> None:
    url, hits = listener
    for document in (
        f'<!DOCTYPE a [<!ENTITY x SYSTEM "{url}/entity">]><a>&x;</a>',
        f'<!DOCTYPE a [<!ENTITY % p SYSTEM "{url}/param"> %p;]><a/>',
        f'<!DOCTYPE a SYSTEM "{url}/dtd"><a/>',
        f'<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{url}/xi"/></a>',
    ):
        assert code_of(document.encode()) == "XML_FORBIDDEN_CONSTRUCT"
    assert hits == []


def test_xinclude_namespace_spelled_with_character_references_is_refused() -> None:
    spelled = "".join(f"&#{ord(c)};" for c in "XInclude")
    data = f'<a xmlns:x="http://www.w3.org/2001/{spelled}"><x:include href="/etc/passwd"/></a>'
    assert code_of(data.encode()) == "XML_FORBIDDEN_CONSTRUCT"


def test_processing_instruction_after_the_root_is_refused() -> None:
    assert code_of(b"<a/><?evil data?>") == "XML_FORBIDDEN_CONSTRUCT"


def test_ten_thousand_deep_nesting_is_too_large() -> None:
    deep = b"<a>" * 10_000 + b"</a>" * 10_000
    assert code_of(deep) == "XML_TOO_LARGE"


def test_nesting_over_the_configured_depth_is_too_large() -> None:
    limits = XmlLimits(max_depth=8)
    assert code_of(b"<a>" * 9 + b"</a>" * 9, limits) == "XML_TOO_LARGE"
    assert parse(b"<a>" * 8 + b"</a>" * 8, limits).tag == "a"


def test_nesting_closed_by_an_empty_element_is_counted_to_its_depth() -> None:
    # Nine levels, eight of them closed by "</": the bound on depth counts every "<".
    limits = XmlLimits(max_depth=8)
    assert code_of(b"<a>" * 8 + b"<a/>" + b"</a>" * 8, limits) == "XML_TOO_LARGE"
    assert parse(b"<a>" * 7 + b"<a/>" + b"</a>" * 7, limits).tag == "a"


def test_huge_attribute_is_too_large() -> None:
    data = b'<GIAMDINHHS note="' + b"x" * 100_000 + b'"/>'
    assert code_of(data) == "XML_TOO_LARGE"


def test_body_over_the_byte_limit_is_too_large() -> None:
    assert code_of(b"<a>" + b"x" * 2000 + b"</a>", XmlLimits(max_bytes=1000)) == "XML_TOO_LARGE"


def test_too_many_elements_is_too_large() -> None:
    data = b"<a>" + b"<b/>" * 101 + b"</a>"
    assert code_of(data, XmlLimits(max_elements=100)) == "XML_TOO_LARGE"


def test_elements_are_counted_in_the_bytes_before_the_tree_is_built() -> None:
    # Unclosed, so libxml2 would call it malformed: it is refused before libxml2 sees it.
    assert code_of(b"<a>" + b"<b>" * 101, XmlLimits(max_elements=100)) == "XML_TOO_LARGE"


def test_too_many_attributes_is_too_large() -> None:
    # 37 MiB of these made 1.7 GB of tree, within every other limit.
    attributes = b" ".join(b'b%d=""' % n for n in range(101))
    assert code_of(b"<a " + attributes + b"/>", XmlLimits(max_attributes=100)) == "XML_TOO_LARGE"
    assert parse(b"<a " + attributes + b"/>", XmlLimits(max_attributes=101)).tag == "a"


def test_base64_payload_over_the_limit_is_refused_before_decoding() -> None:
    with pytest.raises(XmlTooLarge):
        decode_base64("QUJD" * 1000, XmlLimits(max_base64_bytes=1000), what="NOIDUNGFILE")


@pytest.mark.parametrize("size", [750, 751, 752])  # base64 unpadded, with "==", with "="
def test_a_payload_of_exactly_the_limit_is_decoded_and_one_byte_more_is_not(size: int) -> None:
    payload = (bytes(range(256)) * 3)[:size]
    text = base64.b64encode(payload).decode()
    assert decode_base64(text, XmlLimits(max_base64_bytes=size), what="x") == payload
    with pytest.raises(XmlTooLarge):
        decode_base64(text, XmlLimits(max_base64_bytes=size - 1), what="x")


def test_base64_spaced_out_costs_no_object_per_piece() -> None:
    # str.split made one object per piece: 51 bytes for every 3 of "QU FB QU …".
    payload = bytes(range(256)) * 1200
    encoded = base64.b64encode(payload).decode()
    spaced = " ".join(encoded[i : i + 2] for i in range(0, len(encoded), 2))
    tracemalloc.start()
    try:
        decoded = decode_base64(spaced, XmlLimits(), what="Batch")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded == payload
    assert peak < 4 * len(spaced)


@pytest.mark.parametrize("seed", range(200))
def test_base64_fed_in_any_pieces_with_white_space_anywhere_decodes_the_same(seed: int) -> None:
    rng = random.Random(seed)
    payload = rng.randbytes(rng.randrange(300))
    text = base64.b64encode(payload)
    for _ in range(rng.randrange(20)):
        where = rng.randrange(len(text) + 1)
        text = text[:where] + rng.choice([b" ", b"\t", b"\r", b"\n"]) + text[where:]
    cuts = sorted(rng.randrange(len(text) + 1) for _ in range(rng.randrange(6)))
    decoder = Base64Decoder(len(payload), what="x")
    for start, end in itertools.pairwise([0, *cuts, len(text)]):
        decoder.feed(text[start:end])
    assert decoder.finish() == payload


@pytest.mark.parametrize(
    "pieces",
    [[b"QQ==", b"QUFB"], [b"QQ=", b"=Q"], [b"QUF"], [b"QU", b"F!"], [b"QUFB="]],
    ids=["data-after-padding", "padding-then-data", "short", "not-base64", "padding-alone"],
)
def test_base64_that_is_not_whole_or_not_base64_is_malformed(pieces: list[bytes]) -> None:
    decoder = Base64Decoder(100, what="x")
    with pytest.raises(XmlMalformed):
        for piece in pieces:
            decoder.feed(piece)
        decoder.finish()


def test_invalid_base64_is_malformed() -> None:
    with pytest.raises(XmlMalformed):
        decode_base64("not base64!", XmlLimits(), what="NOIDUNGFILE")


def test_utf8_with_bom_cdata_and_vietnamese_text_is_read() -> None:
    data = (
        "\ufeff<?xml version='1.0' encoding='UTF-8'?>"
        "<TONG_HOP><HO_TEN><![CDATA[Nguyễn Thị Hồng]]></HO_TEN></TONG_HOP>"
    ).encode()
    assert parse(data, XmlLimits()).findtext("HO_TEN") == "Nguyễn Thị Hồng"


def test_comments_are_dropped_and_the_text_around_them_read_whole() -> None:
    root = parse(
        b"<a><!-- note --><b>019<!-- x -->29</b><c>1<![CDATA[2]]><!--y-->3</c></a>", XmlLimits()
    )
    assert [child.tag for child in root] == ["b", "c"]
    assert root.findtext("b") == "01929" and root.findtext("c") == "123"


def test_base64_wrapped_in_lines_is_decoded() -> None:
    wrapped = "PFRPTkdf\nSE9QLz4=\r\n"
    assert decode_base64(wrapped, XmlLimits(), what="NOIDUNGFILE") == b"<TONG_HOP/>"


def test_a_large_document_is_checked_without_the_byte_prefilters() -> None:
    filler = b"<b>x</b>" * 150_000  # 1.2 MB: above the prefilter size
    assert code_of(b"<a>" + filler + b"<?evil data?></a>") == "XML_FORBIDDEN_CONSTRUCT"
    xinclude = b'<x:include xmlns:x="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>'
    assert code_of(b"<a>" + filler + xinclude + b"</a>") == "XML_FORBIDDEN_CONSTRUCT"
    assert parse(b"<a>" + filler + b"</a>", XmlLimits()).tag == "a"


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml-stylesheet href="a.xsl"?><a/>',
        b"<?xml version='1.0'?><a>Why? Because.<?evil data?></a>",
        b"<a>10:30 <b xmlns:x='http://www.w3.org/2001/XInclude'><x:include href='/p'/></b></a>",
        b"<a>A&amp;B <b xmlns:x='http://www.w3.org/2001/X&#73;nclude'><x:include/></b></a>",
    ],
    ids=["instruction-named-xml-first", "after-a-question-mark", "after-a-colon", "after-an-amp"],
)
def test_a_construct_after_innocent_bytes_of_its_pattern_is_refused(document: bytes) -> None:
    # The byte prefilters search each pattern from the first "?", ":" or "&" of the document.
    assert code_of(document) == "XML_FORBIDDEN_CONSTRUCT"
