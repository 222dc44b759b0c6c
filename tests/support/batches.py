"""Building test batches table by table: synthetic visits, chosen faults, signed like exporters."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date

from lxml import etree

from adapters.hospital import synth
from gateway.trust.sign import SigningIdentity, sign_enveloped
from gateway.xml.parser import XmlLimits, parse
from tests.support.xml_edits import Edit


def sign(unsigned: bytes, identity: SigningIdentity) -> bytes:
    """Sign a GIAMDINHHS envelope in CHUKYDONVI with the gateway's own .NET-layout signer."""
    root = parse(unsigned, XmlLimits())
    container = root.find("CHUKYDONVI")
    assert container is not None
    sign_enveloped(root, identity, container=container)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def visit_tables(seed: int, facility: str = "01929") -> dict[str, bytes]:
    visit = synth.make_visit(random.Random(seed), facility_code=facility, index=seed)
    return synth.tables(visit)


DAY = date(2026, 10, 5)


def visit(seed: int, facility: str, *, inpatient: bool) -> synth.Visit:
    """A synthetic visit of the wanted kind of care, arriving on DAY (MA_LK numbered ``seed``)."""
    for attempt in range(500):
        made = synth.make_visit(
            random.Random(seed * 1000 + attempt), facility_code=facility, index=seed, day=DAY
        )
        if (made.ma_loai_kcb == "03") == inpatient:
            return made
    raise AssertionError("no such visit")


def same_card(made: synth.Visit, like: synth.Visit) -> synth.Visit:
    """``made`` with the HI card of ``like``."""
    return replace(
        made,
        ma_the_bhyt=like.ma_the_bhyt,
        gt_the_tu=like.gt_the_tu,
        gt_the_den=like.gt_the_den,
    )


def batch_with(
    identity: SigningIdentity,
    tables: list[dict[str, bytes]],
    *,
    facility: str = "01929",
) -> bytes:
    return sign(synth.envelope(facility, tables, created=date.today()), identity)


def edit_xml1(tables: dict[str, bytes], change: Callable[[bytes], bytes]) -> dict[str, bytes]:
    """The same tables with XML1 changed by ``change`` (which must change something)."""
    changed = change(tables["XML1"])
    assert changed != tables["XML1"]
    return {**tables, "XML1": changed}


def edit_row(
    tables: dict[str, bytes],
    kind: str,
    pick: Callable[[etree._Element], bool],
    *edits: Edit,
) -> dict[str, bytes]:
    """The same tables with the first row of table ``kind`` that ``pick`` accepts changed by
    ``edits`` (``tests.support.xml_edits``)."""
    root = parse(tables[kind], XmlLimits())
    row = next((row for row in root.iter(synth.LAYOUTS[kind].row) if pick(row)), None)
    assert row is not None, f"no {kind} row to edit"
    for edit in edits:
        edit(row)
    return {**tables, kind: etree.tostring(root, xml_declaration=True, encoding="utf-8")}
