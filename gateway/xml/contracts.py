"""The contracts (XSDs and WSDLs): where the installed package keeps them, and loading every one
of them once, at startup, so that a missing or broken contract stops the gateway there.

The files live at the top of the repository (``xsd/``, ``wsdl/``) and travel inside the wheel as
``gateway/contracts/xsd`` and ``gateway/contracts/wsdl`` (pyproject.toml, ``force-include``), read
through ``importlib.resources``. ``GATEWAY_CONTRACTS`` names another folder of the same layout.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gateway.errors import ConfigError, GatewayError, first_line
from gateway.xml.parser import load_contract
from gateway.xml.schemas import SchemaRegistry

_PACKAGED = "contracts"


def default_folder() -> Path:
    """The contracts of the installed package; in a source checkout (an editable install, which
    has no built package data), the repository's own ``xsd/`` and ``wsdl/``."""
    packaged = importlib.resources.files("gateway").joinpath(_PACKAGED)
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "xsd").is_dir():
        return checkout
    raise ConfigError(
        f"the gateway package carries no contracts (looked for {packaged}); reinstall it from "
        "its wheel or set GATEWAY_CONTRACTS to a folder holding xsd/ and wsdl/"
    )


@dataclass(frozen=True)
class Contracts:
    """Every XSD compiled and every WSDL read, from one folder."""

    folder: Path
    schemas: SchemaRegistry
    wsdls: Mapping[str, bytes]  # by file name: "claims.wsdl"

    @classmethod
    def load(cls, folder: Path | None = None) -> Contracts:
        """Load ``folder`` (default: the package's); a contract that is missing, unreadable or
        does not compile is a ``ConfigError`` naming its file, in one line."""
        folder = (folder or default_folder()).resolve()
        wsdl_folder = folder / "wsdl"
        if not wsdl_folder.is_dir():
            raise ConfigError(f"contracts: {wsdl_folder} is not a directory")
        wsdls: dict[str, bytes] = {}
        for path in sorted(wsdl_folder.glob("*.wsdl")):
            try:
                load_contract(str(path), folder=str(folder))
            except (OSError, etree.XMLSyntaxError, GatewayError) as exc:
                raise ConfigError(f"contract {path} cannot be read: {first_line(exc)}") from exc
            wsdls[path.name] = path.read_bytes()
        return cls(folder=folder, schemas=SchemaRegistry(folder / "xsd"), wsdls=wsdls)

    def missing(self, *, schemas: Iterable[str], wsdls: Iterable[str]) -> list[str]:
        """The files among these that were not loaded, as paths under the contracts folder."""
        have = set(self.schemas.names())
        return [f"xsd/{name}.xsd" for name in schemas if name not in have] + [
            f"wsdl/{name}" for name in wsdls if name not in self.wsdls
        ]
