"""Run the real `folio` command in a child process, as an operator would."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str


def folio_env(**values: str) -> dict[str, str]:
    """The environment without any FOLIO_ setting of the developer's shell, plus `values`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOLIO_")}
    return {**env, **values}


async def run_folio(*args: str, env: dict[str, str], cwd: Path, stdin: bytes = b"") -> Completed:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "folio",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        stdout, stderr = await process.communicate(stdin)
    assert process.returncode is not None
    return Completed(process.returncode, stdout.decode(), stderr.decode())
