"""Architecture rules: the pipeline core and the audited reads load no web framework, no HTTP
client, no Redis."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_IN_CORE = ("fastapi", "starlette", "uvicorn", "httpx", "redis", "zeep")


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
