"""The catalogue of VSS procedures a dossier may be filed under, and of the forms they take.

The data is ``procedures.toml`` (packaged beside this module): which of its codes are VSS's own
and which were designed for the gateway is said there. The department and the time limit of a
procedure are not here: they are the routing file's.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, cast

from gateway.dossiers.ports import ApplicantKind

_APPLICANTS: frozenset[str] = frozenset({"citizen", "unit"})
# How the content of each attachment file type starts (its "magic number"): an attachment whose
# bytes do not start so is not the file its LoaiFile says it is.
CONTENT_STARTS: Mapping[str, bytes] = MappingProxyType(
    {".pdf": b"%PDF-", ".jpg": b"\xff\xd8\xff", ".png": b"\x89PNG\r\n\x1a\n"}
)


@dataclass(frozen=True)
class Form:
    """A form (``MaToKhai``): an XML form, signed and validated, or an attachment."""

    code: str
    name: str
    file_types: tuple[str, ...]  # LoaiFile values it may come as, e.g. (".xml",)
    max_files: int = 1  # how many times it may be in one dossier (an XML form: once)
    max_bytes: int | None = None  # an attachment's decoded size; None: the gateway's limit

    @property
    def kind(self) -> Literal["xml", "attachment"]:
        return "xml" if self.file_types == (".xml",) else "attachment"


@dataclass(frozen=True)
class Procedure:
    """One procedure: its codes in each vocabulary, who may file it, the forms it takes."""

    code: str  # the gateway's canonical code (SPEC section 3)
    ma_thu_tuc: str  # VSS's (the envelope's MaThuTuc)
    ma_tthc: str  # DVCQG's (the portal's MaTTHC)
    name: str  # TenTTHC
    domain_code: str  # MaLinhVuc
    domain_name: str  # TenLinhVuc
    applicants: frozenset[ApplicantKind]
    required_forms: tuple[str, ...]
    optional_forms: tuple[str, ...]

    def takes(self, form: str) -> bool:
        return form in self.required_forms or form in self.optional_forms


def _load() -> tuple[dict[str, Procedure], dict[str, Form]]:
    text = importlib.resources.files(__package__).joinpath("procedures.toml").read_text("utf-8")
    data = tomllib.loads(text)
    forms = {code: _form(code, entry) for code, entry in data["forms"].items()}
    procedures = {
        code: _procedure(code, entry, forms) for code, entry in data["procedures"].items()
    }
    return procedures, forms


def _form(code: str, entry: dict[str, Any]) -> Form:
    form = Form(
        code=code,
        name=entry["name"],
        file_types=tuple(entry["file_types"]),
        max_files=entry.get("max_files", 1),
        max_bytes=entry.get("max_bytes"),
    )
    # An XML form is signed and read once; an attachment's content is known by how it starts.
    known = form.kind == "xml" or all(t in CONTENT_STARTS for t in form.file_types)
    if not known or form.max_files < 1 or (form.kind == "xml" and form.max_files != 1):
        raise ValueError(f"procedures.toml: form {code} has unknown file types or bounds")
    return form


def _procedure(code: str, entry: dict[str, Any], forms: Mapping[str, Form]) -> Procedure:
    procedure = Procedure(
        code=code,
        ma_thu_tuc=entry["ma_thu_tuc"],
        ma_tthc=entry["ma_tthc"],
        name=entry["name"],
        domain_code=entry["domain_code"],
        domain_name=entry["domain_name"],
        applicants=frozenset(cast(list[ApplicantKind], entry["applicants"])),
        required_forms=tuple(entry["required_forms"]),
        optional_forms=tuple(entry["optional_forms"]),
    )
    # A mistake in the packaged file is a bug of this release: it fails on import, in every test.
    unknown = [f for f in (*procedure.required_forms, *procedure.optional_forms) if f not in forms]
    if unknown or not procedure.applicants <= _APPLICANTS:
        raise ValueError(f"procedures.toml: {code} names unknown forms or applicants")
    return procedure


_PROCEDURES, _FORMS = _load()
CATALOGUE: Mapping[str, Procedure] = MappingProxyType(_PROCEDURES)
FORMS: Mapping[str, Form] = MappingProxyType(_FORMS)
_BY_MA_TTHC = {p.ma_tthc: p for p in _PROCEDURES.values()}
_BY_MA_THU_TUC = {p.ma_thu_tuc: p for p in _PROCEDURES.values()}


def by_ma_tthc(code: str) -> Procedure | None:
    """The procedure of a DVCQG ``MaTTHC``, or None."""
    return _BY_MA_TTHC.get(code)


def by_ma_thu_tuc(code: str) -> Procedure | None:
    """The procedure of a VSS ``MaThuTuc``, or None."""
    return _BY_MA_THU_TUC.get(code)
