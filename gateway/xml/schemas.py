"""The XSD registry: every schema in ``xsd/`` compiled once at startup, validated by name."""

from __future__ import annotations

import threading
from pathlib import Path

from lxml import etree

from gateway.errors import ConfigError, Issue, SchemaInvalid, first_line
from gateway.xml.parser import load_contract


class SchemaRegistry:
    """Compiled XSDs keyed by their path under the contracts folder, without ``.xsd``."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder.resolve()
        if not self._folder.is_dir():
            raise ConfigError(f"contracts: {self._folder} is not a directory")
        # An XMLSchema keeps the last error log on itself, so each schema validates one
        # document at a time.
        self._schemas: dict[str, tuple[etree.XMLSchema, threading.Lock]] = {}
        self._sources: dict[str, bytes] = {}
        for path in sorted(self._folder.rglob("*.xsd")):
            name = path.relative_to(self._folder).with_suffix("").as_posix()
            try:
                doc = load_contract(str(path), folder=str(self._folder))
                self._schemas[name] = (etree.XMLSchema(doc), threading.Lock())
            except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                raise ConfigError(f"schema {path} does not compile: {first_line(exc)}") from exc
            self._sources[name] = path.read_bytes()

    def names(self) -> list[str]:
        return sorted(self._schemas)

    def source(self, name: str) -> bytes:
        """The text of schema ``name``, as loaded (published beside a WSDL)."""
        return self._sources[name]

    def validate(self, name: str, root: etree._Element, *, table: str | None = None) -> None:
        """Validate ``root`` against schema ``name``; raise ``SchemaInvalid`` with every issue."""
        schema, lock = self._schemas[name]
        with lock:
            if schema.validate(root):
                return
            issues = [
                Issue(message=err.message, path=err.path, line=err.line, table=table)
                for err in schema.error_log  # type: ignore[attr-defined]
            ]
        where = f" in {table}" if table else ""
        raise SchemaInvalid(f"the document fails schema {name}{where}", issues=issues)
