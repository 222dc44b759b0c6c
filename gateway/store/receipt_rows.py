"""Receipts at rest: the columns every receipts table shares, the JSON and signed XML packed by
zstd with the receipts' dictionary, each frame carrying its checksum.

A receipt row holds ``RECEIPT_COLUMNS``: one ``codec`` for both blobs (``gateway.store.packing``)
and each blob's unpacked size. The signed XML is stored whole and handed back byte for byte (it
is never signed again on read), so a frame's XXH64 checksum and size guard it as they guard a
record. Invariant: ``receipt_of`` returns the stored JSON and XML or raises ``ReceiptCorrupt``,
and never produces more than their stored sizes. Rows stored before compression (codec
``identity``, sizes unset) read as they are. ``python -m bench.dictionary --receipts`` trains a
new dictionary.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import ReceiptCorrupt
from gateway.store.packing import IDENTITY, Undecodable, compress, expand, packed_row
from gateway.store.ports import StoredReceipt

# The dictionary new receipts are compressed with, trained on the receipts of generated batches
# of other hospitals and gateways (its own certificate chain is not in it): 2.0 KB of JSON and
# XML per HOSO to 0.7 KB at level 3 (plain zstd: 1.3 KB).
RECEIPT_DICTIONARY: int | None = 900370488
LEVEL = 3

# A receipt's columns, in every store's receipts table: ``receipt_values`` and ``receipt_of``.
RECEIPT_COLUMNS = "id, partner_id, sha256, accepted, codec, json_size, json, xml_size, xml"
# Placeholders for ``RECEIPT_COLUMNS``' values, after a table's own columns.
RECEIPT_VALUES = len(RECEIPT_COLUMNS.split(", "))

ReceiptValues = tuple[str, str, str, bool, str, int, bytes, int, bytes]


def receipt_values(receipt: StoredReceipt) -> ReceiptValues:
    """The values of ``RECEIPT_COLUMNS`` for ``receipt``, its JSON and XML compressed."""
    json, xml = (
        compress(blob, dictionary=RECEIPT_DICTIONARY, level=LEVEL, checksum=True)
        for blob in (receipt.json, receipt.xml)
    )
    assert json.codec == xml.codec
    return (
        receipt.id,
        receipt.partner_id,
        receipt.sha256,
        receipt.accepted,
        json.codec,
        json.size,
        json.blob,
        xml.size,
        xml.blob,
    )


def receipt_of(row: tuple[Any, ...] | None) -> StoredReceipt | None:
    """The receipt of a row of ``RECEIPT_COLUMNS``; ``ReceiptCorrupt`` if a blob fails."""
    if row is None:
        return None
    receipt_id, codec = row[0], row[4] or IDENTITY
    try:
        json = expand(packed_row(codec, row[5], bytes(row[6])))
        xml = expand(packed_row(codec, row[7], bytes(row[8])))
    except Undecodable as exc:
        raise ReceiptCorrupt(receipt_id) from exc
    return StoredReceipt(receipt_id, row[1], row[2], bool(row[3]), json, xml)
