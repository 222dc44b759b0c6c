"""Test visits: synthetic XML1–XML3 plus hand-made XML4/XML5, parsed, and edits of single fields."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree

from adapters.hospital import lines, synth, values
from adapters.hospital.visit import normalize_visit
from gateway.records.model import Subject
from gateway.xml.parser import XmlLimits, parse
from tests.adapters.hospital.contracts import documented_fields

FACILITY = "79071"

LAYOUTS = {
    "XML2": ("CHITIEU_CHITIET_THUOC", "DSACH_CHI_TIET_THUOC", "CHI_TIET_THUOC"),
    "XML3": ("CHITIEU_CHITIET_DVKT_VTYT", "DSACH_CHI_TIET_DVKT", "CHI_TIET_DVKT"),
    "XML4": ("CHITIEU_CHITIET_DICHVUCANLAMSANG", "DSACH_CHI_TIET_CLS", "CHI_TIET_CLS"),
    "XML5": (
        "CHITIEU_CHITIET_DIENBIENLAMSANG",
        "DSACH_CHI_TIET_DIEN_BIEN_BENH",
        "CHI_TIET_DIEN_BIEN_BENH",
    ),
}

# The official field lists of QĐ 130 Bảng 2–5 as amended by QĐ 4750 (QD130.md section B), in
# order: the oracle for "every official field is mapped". Read from the XSDs, where
# test_tables_xsd checks them against the appendix's field counts, so that neither the normalizer
# nor the generator is checked against its own list.
OFFICIAL_FIELDS = {kind: documented_fields(kind) for kind in LAYOUTS}


_FREE_TEXT = frozenset(
    {"DIEN_BIEN_LS", "KET_LUAN", "MO_TA", "TEN_CHI_SO", "TEN_THUOC", "TEN_DICH_VU"}
)


def table(kind: str, rows: list[dict[str, str]], *, wrapped: bool = True) -> bytes:
    """A line table written by hand: every official field in order, empty when not given; with
    or without the CHITIEU_* wrapper; free text as CDATA like exporters do."""
    wrapper, listing, row_tag = LAYOUTS[kind]
    root = etree.Element(wrapper) if wrapped else None
    rows_parent = etree.Element(listing) if root is None else etree.SubElement(root, listing)
    for given in rows:
        row = etree.SubElement(rows_parent, row_tag)
        for name in OFFICIAL_FIELDS[kind]:
            text = given.get(name, "")
            element = etree.SubElement(row, name)
            is_free_text = name in _FREE_TEXT
            element.text = etree.CDATA(text) if text and is_free_text else text
    document = root if root is not None else rows_parent
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + etree.tostring(document, encoding="utf-8")


# A valid text for each kind of conversion, to fill every field of a row.
SAMPLES: dict[Callable[[str], Any], str] = {
    lines.text: "X1",
    values.integer: "7",
    values.decimal: "12.5",
    values.date_time: "202402291530",
    values.split_list: "A;B",
}


def full_row(spec: lines.LineTable) -> dict[str, str]:
    """A row of ``spec``'s table with every official field filled."""
    return {field: SAMPLES[convert] for field, (_, convert) in spec.fields.items()}


def _yyyymmddhhmm(value: datetime) -> str:
    return f"{value:%Y%m%d%H%M}"


def make_visit(seed: int, *faults: str) -> synth.Visit:
    visit = synth.make_visit(random.Random(seed), facility_code=FACILITY, index=seed + 1)
    return synth.inject(visit, faults) if faults else visit


def raw_tables(visit: synth.Visit) -> dict[str, bytes]:
    """XML1–XML5 as the generator writes them (XML5 for inpatient stays only)."""
    return dict(synth.tables(visit))


def parsed(raw: dict[str, bytes]) -> dict[str, etree._Element]:
    return {kind: parse(data, XmlLimits()) for kind, data in raw.items()}


def visit_tables(seed: int) -> dict[str, etree._Element]:
    return parsed(raw_tables(make_visit(seed)))


def normalized(tables: dict[str, etree._Element]) -> tuple[Subject, dict[str, Any]]:
    return normalize_visit(tables)


def first_seed(predicate: Callable[[synth.Visit], bool]) -> int:
    """The first seed whose visit satisfies ``predicate``."""
    return next(seed for seed in range(1000) if predicate(make_visit(seed)))


def inpatient(visit: synth.Visit) -> bool:
    return visit.ngay_vao_noi_tru is not None


# --- Single-field edits -----------------------------------------------------------------------


def rows(tables: dict[str, etree._Element], kind: str) -> list[etree._Element]:
    return list(tables[kind].iter(LAYOUTS[kind][2]))


def field(element: etree._Element, name: str) -> etree._Element:
    found = element.find(name)
    assert found is not None, name
    return found


def get(element: etree._Element, name: str) -> str:
    return field(element, name).text or ""


def put(element: etree._Element, name: str, value: str) -> None:
    field(element, name).text = value


def shift(element: etree._Element, name: str, minutes: int) -> None:
    """Move the yyyyMMddHHmm date-time ``name`` by ``minutes``."""
    moved = datetime.strptime(get(element, name), "%Y%m%d%H%M") + timedelta(minutes=minutes)
    put(element, name, _yyyymmddhhmm(moved))


def add(element: etree._Element, name: str, amount: str) -> None:
    """Add ``amount`` to the money field ``name``, keeping 2 decimals."""
    put(element, name, f"{Decimal(get(element, name)) + Decimal(amount):.2f}")
