"""TypeScript types generated from the OpenAPI document by openapi-typescript, and a small client using them that
tsc --strict compiles with its default options (clients/typescript/check.sh). Skipped without npm, unless
FOLIO_REQUIRE_NODE=1 (CI) makes that a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi import FastAPI

CHECK = Path(__file__).parents[2] / "clients" / "typescript" / "check.sh"


def test_a_client_generated_from_the_document_compiles(app: FastAPI, tmp_path: Path) -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        if os.environ.get("FOLIO_REQUIRE_NODE") == "1":
            pytest.fail("FOLIO_REQUIRE_NODE=1 but node or npm is not installed")
        pytest.skip("node and npm are not installed")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(app.openapi()))
    checked = subprocess.run(  # noqa: S603  # our own script
        [str(CHECK)],
        env={**os.environ, "FOLIO_OPENAPI": str(document)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
