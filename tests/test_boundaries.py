"""Architecture rules: the pipeline core loads no web framework, no HTTP client, no Redis."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_IN_CORE = ("fastapi", "starlette", "uvicorn", "httpx", "redis", "zeep")


def test_pipeline_imports_no_entrypoint_or_driver_code() -> None:
    probe = (
        "import json, sys\n"
        "import gateway.pipeline.batches, adapters.hospital.qd130\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", probe]))
    assert [m for m in FORBIDDEN_IN_CORE if m in loaded] == []
