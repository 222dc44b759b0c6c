"""The ``Hoso`` envelope once verified and valid: its fields, its files and their counts.

``SoLuongFile`` is the number of ``FileToKhai``; ``DoDaiFile`` is the length of the base64 text
in ``NoiDungFile`` (the I-VAN generator's meaning, reference/DOSSIERS.md 1b), not of the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gateway.errors import Issue, RuleViolation

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


def _fields(node: etree._Element | None) -> dict[str, str]:
    if node is None:
        return {}
    return {str(c.tag): (c.text or "").strip() for c in node if isinstance(c.tag, str)}


def read_envelope(root: etree._Element) -> Envelope:
    """The fields of a ``Hoso`` that passed its XSD (so every required one is there)."""
    info = root.find("NoiDung/ThongTinHoSo")
    assert info is not None  # required by the schema
    hoso = _fields(info)
    files = tuple(
        FileEntry(
            index=index,
            code=(f.findtext("MaToKhai") or "").strip(),
            file_name=(f.findtext("TenFile") or "").strip(),
            file_type=(f.findtext("LoaiFile") or "").strip(),
            declared_length=int(f.findtext("DoDaiFile") or "0"),
            content=f.findtext("NoiDungFile") or "",
        )
        for index, f in enumerate(info.iterfind("ToKhais/FileToKhai"), 1)
    )
    return Envelope(
        ma_thu_tuc=hoso["MaThuTuc"],
        period=hoso["KyKeKhai"],
        created=hoso["NgayLap"],
        unit=_fields(root.find("NoiDung/ThongTinDonVi")),
        ivan=_fields(root.find("NoiDung/ThongTinIVAN")),
        file_count=int(hoso["SoLuongFile"]),
        files=files,
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
