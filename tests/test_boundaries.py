"""Architecture rules: the pipeline core and the audited reads load no web framework, no HTTP
client, no Redis; the core imports adapters only where it is composed and started."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import gateway

FORBIDDEN_IN_CORE = ("fastapi", "starlette", "uvicorn", "httpx", "redis", "zeep")
# The composition root, and the entry points that run adapters' tools (generators, simulators).
COMPOSERS = {
    "gateway/bootstrap.py",
    "gateway/cli.py",
    "gateway/demo.py",
    "gateway/demo_identity.py",
}


def _loaded_by(modules: str) -> list[str]:
    """The top-level packages a fresh interpreter has loaded after ``import <modules>``."""
    probe = (
        "import json, sys\n"
        f"import {modules}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded: list[str] = json.loads(subprocess.check_output([sys.executable, "-c", probe]))
    return loaded


def test_pipeline_imports_no_entrypoint_or_driver_code() -> None:
    loaded = _loaded_by("gateway.pipeline.batches, adapters.hospital.qd130")
    assert [m for m in FORBIDDEN_IN_CORE if m in loaded] == []


def test_audit_and_reads_import_no_entrypoint_or_driver_code() -> None:
    loaded = _loaded_by("gateway.audit, gateway.reads")
    assert [m for m in FORBIDDEN_IN_CORE if m in loaded] == []


def _imported(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_only_the_composition_root_and_entry_points_import_adapters() -> None:
    root = Path(gateway.__file__).parent.parent
    importing = {
        path.relative_to(root).as_posix()
        for path in (root / "gateway").rglob("*.py")
        if any(m == "adapters" or m.startswith("adapters.") for m in _imported(path))
    }
    assert importing <= COMPOSERS
    assert "gateway/bootstrap.py" in importing  # the scan sees imports: it can fail


def test_the_dossier_core_loads_no_adapter_nor_driver() -> None:
    loaded = _loaded_by(
        "gateway.dossiers.service, gateway.dossiers.delivery, gateway.dossiers.worker, "
        "gateway.store.sqlite_dossiers"
    )
    assert [m for m in (*FORBIDDEN_IN_CORE, "adapters") if m in loaded] == []
