"""Batches and signed documents: the GIAMDINHHS envelope of a facility's visits, the check-in,
both signed as QĐ 130 exporters sign them, and batches with injected faults.

References in brackets are sections and source tags of QD130.md.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from datetime import date, timedelta

from lxml import etree

from adapters.hospital.synth.faults import BATCH_FAULTS, FAULTS, inject
from adapters.hospital.synth.model import Visit
from adapters.hospital.synth.visits import make_visit
from adapters.hospital.synth.writers import checkin, tables
from gateway.trust.sign import SigningIdentity, sign_enveloped
from gateway.xml.ns import XSD, XSI
from gateway.xml.parser import XmlLimits, parse

_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'


def envelope(
    facility_code: str,
    tables_per_visit: list[dict[str, bytes]],
    *,
    created: date,
    declared_count: int | None = None,
) -> bytes:
    """The unsigned GIAMDINHHS batch: one HOSO per visit, one FILEHOSO per table [A].

    ``tables_per_visit`` maps LOAIHOSO (``XML1``…) to the table's UTF-8 document, in the order
    the FILEHOSO elements are to be written; the tables' layout (with or without the CHITIEU_*
    wrapper) is chosen when they are written. SOLUONGHOSO is the number of visits, or
    ``declared_count`` when given (the ``count_mismatch`` fault).
    """
    if not tables_per_visit or not all(tables_per_visit):
        raise ValueError("a batch needs at least one visit, and each visit at least one table")
    root = etree.Element("GIAMDINHHS", nsmap={"xsi": XSI, "xsd": XSD})
    etree.SubElement(etree.SubElement(root, "THONGTINDONVI"), "MACSKCB").text = facility_code
    info = etree.SubElement(root, "THONGTINHOSO")
    etree.SubElement(info, "NGAYLAP").text = f"{created:%Y%m%d}"
    count = len(tables_per_visit) if declared_count is None else declared_count
    etree.SubElement(info, "SOLUONGHOSO").text = str(count)
    batch = etree.SubElement(info, "DANHSACHHOSO")
    for found in tables_per_visit:
        hoso = etree.SubElement(batch, "HOSO")
        for kind, document in found.items():
            file = etree.SubElement(hoso, "FILEHOSO")
            etree.SubElement(file, "LOAIHOSO").text = kind
            # NOIDUNGFILE = base64 of the table's UTF-8 bytes [A, S7].
            etree.SubElement(file, "NOIDUNGFILE").text = base64.b64encode(document).decode()
    # Empty signature container, last child; the signer appends ds:Signature to it [A, D, S10].
    etree.SubElement(root, "CHUKYDONVI").text = ""
    return _DECLARATION + etree.tostring(root, encoding="utf-8")


def _signed(document: bytes, identity: SigningIdentity) -> bytes:
    """``document`` signed enveloped over the whole of it, the Signature in its CHUKYDONVI [D]."""
    root = parse(document, XmlLimits())
    container = root.find("CHUKYDONVI")
    if container is None:  # pragma: no cover - the writers always write it
        raise RuntimeError(f"{root.tag} has no CHUKYDONVI")
    sign_enveloped(root, identity, container=container)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def signed_batch(
    identity: SigningIdentity,
    facility_code: str,
    visits: list[Visit],
    *,
    created: date,
    wrapper: bool = True,
    declared_count: int | None = None,
) -> bytes:
    """The batch of ``visits`` signed as QĐ 130 exporters sign it: enveloped, in CHUKYDONVI [D].

    ``wrapper=False`` writes XML2..XML5 without their CHITIEU_* wrapper [A, S13].
    """
    found = [tables(v, wrapper=wrapper) for v in visits]
    return _signed(
        envelope(facility_code, found, created=created, declared_count=declared_count), identity
    )


def signed_checkin(identity: SigningIdentity, visit: Visit) -> bytes:
    """The check-in document of ``visit`` signed in its CHUKYDONVI, as the batch is [G, D]."""
    return _signed(checkin(visit), identity)


def make_batch(
    rng: random.Random,
    identity: SigningIdentity,
    facility_code: str,
    count: int,
    *,
    created: date,
    faults: Sequence[str] = (),
    fault_rate: float = 1.0,
    wrapper: bool = True,
    first_index: int = 1,
) -> tuple[bytes, list[Visit]]:
    """``count`` visits that ended before ``created``, and their signed batch.

    Visits are numbered from ``first_index`` (the number is part of MA_LK): batches meant to
    hold different visits must use different numbers, or the gateway reads a visit whose
    MA_LK it saw before as a resent, changed version of it.

    Each visit gets each visit fault of ``faults`` (names of ``FAULTS``) with probability
    ``fault_rate``, drawn from ``rng`` after the visits are made, so that the visits are those
    the same ``rng`` gives without faults; the batch gets ``count_mismatch`` with the same
    probability. The returned visits carry their faults (``Visit.faults``). Faults go in before
    signing: the batch is well-formed and its signature valid.
    """
    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        raise ValueError(f"unknown faults {unknown}; known: {sorted(FAULTS)}")
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError(f"fault_rate {fault_rate} is not a probability")
    visits = [
        make_visit(
            rng,
            facility_code=facility_code,
            index=i,
            day=created - timedelta(days=rng.randint(9, 30)),
        )
        for i in range(first_index, first_index + count)
    ]
    per_visit = [name for name in dict.fromkeys(faults) if name not in BATCH_FAULTS]
    if per_visit:
        visits = [
            inject(visit, [name for name in per_visit if rng.random() < fault_rate])
            for visit in visits
        ]
    declared = None
    if "count_mismatch" in faults and rng.random() < fault_rate:
        declared = len(visits) + 1
    data = signed_batch(
        identity, facility_code, visits, created=created, wrapper=wrapper, declared_count=declared
    )
    return data, visits
