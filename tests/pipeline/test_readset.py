"""The read set: how long each index list may be for what the judgement read to still hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ulid import ULID

from gateway.pipeline.readset import ReadSet
from gateway.store.ports import IndexEntry, IndexRead, StoredReceipt, Submission
from gateway.store.sqlite import SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "gateway.sqlite3")
    receipt = StoredReceipt(str(ULID()), "hospital-01929", "0" * 64, True, b"{}", b"<r/>")
    entries = tuple(IndexEntry("three", f"v{n}".encode()) for n in range(3))
    opened.save_accepted(Submission(receipt=receipt, records=(), original=b"x", index=entries))
    yield opened
    opened.close()


def test_a_whole_list_read_holds_while_the_list_keeps_its_length(store: SqliteStore) -> None:
    reads = ReadSet(store)
    assert len(reads.entries("three")) == 3
    assert reads.entries("none") == []
    assert reads.reads() == (IndexRead("three", 3), IndexRead("none", 0))


def test_a_full_page_does_not_depend_on_what_is_appended_later(store: SqliteStore) -> None:
    reads = ReadSet(store)
    assert reads.entries("three", start=0, limit=2) == [b"v0", b"v1"]
    assert reads.reads() == ()
    assert reads.entries("three", start=2, limit=2) == [b"v2"]
    assert reads.entries("three", start=7, limit=2) == []
    # The last page ended the list at 3; the read past the end allowed up to 7.
    assert reads.reads() == (IndexRead("three", 3),)
