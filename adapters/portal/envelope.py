"""The ``Hoso`` envelope once verified and valid: its fields, its files and their counts.

``SoLuongFile`` is the number of ``FileToKhai``; ``DoDaiFile`` is the length of the base64 text
in ``NoiDungFile`` (the I-VAN generator's meaning, reference/DOSSIERS.md 1b), not of the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gateway.errors import Issue, RuleViolation
from gateway.xml.tree import children

HOSO_PATH = "/Hoso/NoiDung/ThongTinHoSo"
FILES_PATH = f"{HOSO_PATH}/ToKhais"


@dataclass(frozen=True)
class FileEntry:
    """One ``FileToKhai``, as written."""

    index: int  # 1-based, its position among the files
    code: str  # MaToKhai
    file_name: str
    file_type: str
    declared_length: int  # DoDaiFile
    content: str  # NoiDungFile: base64

    @property
    def path(self) -> str:
        return f"{FILES_PATH}/FileToKhai[{self.index}]"


@dataclass(frozen=True)
class Envelope:
    ma_thu_tuc: str
    period: str  # KyKeKhai, MM/yyyy
    created: str  # NgayLap, dd/MM/yyyy
    unit: dict[str, str]  # ThongTinDonVi's fields, by tag
    ivan: dict[str, str]  # ThongTinIVAN's fields, by tag
    file_count: int  # SoLuongFile
    files: tuple[FileEntry, ...]


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _fields(nodes: dict[str, etree._Element]) -> dict[str, str]:
    return {tag: _text(node) for tag, node in nodes.items()}


def _file(index: int, fields: dict[str, etree._Element]) -> FileEntry:
    return FileEntry(
        index=index,
        code=_text(fields["MaToKhai"]),
        file_name=_text(fields["TenFile"]),
        file_type=_text(fields["LoaiFile"]),
        declared_length=int(fields["DoDaiFile"].text or "0"),
        content=fields["NoiDungFile"].text or "",
    )


def read_envelope(root: etree._Element) -> Envelope:
    """The fields of a ``Hoso`` that passed its XSD (so every required one is there, once)."""
    parts = children(children(root)["NoiDung"])
    info = children(parts["ThongTinHoSo"])
    hoso = _fields(info)
    files = info["ToKhais"].iterchildren("FileToKhai")
    return Envelope(
        ma_thu_tuc=hoso["MaThuTuc"],
        period=hoso["KyKeKhai"],
        created=hoso["NgayLap"],
        unit=_fields(children(parts["ThongTinDonVi"])),
        ivan=_fields(children(parts["ThongTinIVAN"])),
        file_count=int(hoso["SoLuongFile"]),
        files=tuple(_file(index, children(f)) for index, f in enumerate(files, 1)),
    )


def check_counts(envelope: Envelope) -> None:
    """``SoLuongFile`` and every ``DoDaiFile`` against what arrived."""
    if envelope.file_count != len(envelope.files):
        raise RuleViolation(
            f"SoLuongFile says {envelope.file_count} files; the dossier has {len(envelope.files)}",
            issues=[
                Issue(
                    f"{len(envelope.files)} FileToKhai",
                    rule="DOSSIER.FILE_COUNT",
                    path=f"{HOSO_PATH}/SoLuongFile",
                )
            ],
        )
    for entry in envelope.files:
        if entry.declared_length != len(entry.content):
            raise RuleViolation(
                f"file {entry.index} ({entry.code}) says DoDaiFile {entry.declared_length}; "
                f"its NoiDungFile has {len(entry.content)} characters",
                issues=[
                    Issue(
                        "DoDaiFile is not the length of NoiDungFile",
                        rule="DOSSIER.FILE_LENGTH",
                        table=entry.code,
                        path=f"{entry.path}/DoDaiFile",
                    )
                ],
            )
