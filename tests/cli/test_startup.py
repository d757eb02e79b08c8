"""`folio --help` and every command's `--help` load none of the server's heavy parts (bench/cli_startup.py says how
long they take), and `folio --version` prints the version."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from typer.main import get_command

from folio.cli import app
from tests.cli_process import folio_env, run_folio

# What the server, the worker or a command's run loads, and `--help` must not.
HEAVY = (
    "sqlalchemy",
    "asyncpg",
    "alembic",
    "openai",
    "taskiq",
    "redis",
    "onnxruntime",
    "tokenizers",
    "numpy",
    "fastapi",
    "starlette",
    "uvicorn",
    "structlog",
    "pydantic_settings",
    "httpx",
    "folio_client",
    "rich",
    "folio.settings",
    "folio.models",
)


def loaded(imported: list[str], parts: tuple[str, ...]) -> set[str]:
    """The modules of `imported` that are `parts` or inside them."""
    return {name for name in imported if any(name == part or name.startswith(f"{part}.") for part in parts)}


def every_command() -> list[list[str]]:
    """The path of every command and group: [], ["serve"], ["keys"], ["keys", "create"]…"""
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, child in getattr(command, "commands", {}).items():
            walk(child, [*path, name])

    walk(get_command(app), [])
    return paths


# Runs every --help in one fresh interpreter, then prints the modules it imported.
PROBE = """
import json, sys
from folio.cli import app
for path in json.loads(sys.argv[1]):
    try:
        app([*path, "--help"], prog_name="folio")
    except SystemExit as exit:
        assert exit.code == 0, (path, exit.code)
sys.stderr.write(json.dumps(sorted(sys.modules)))
"""


def test_help_imports_none_of_the_heavy_parts(tmp_path: Path) -> None:
    commands = every_command()
    assert ["ask"] in commands
    assert ["keys", "revoke"] in commands

    done = subprocess.run(  # noqa: S603 — this interpreter, a fixed script
        [sys.executable, "-c", PROBE, json.dumps(commands)],
        capture_output=True,
        text=True,
        env=folio_env(),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stderr)
    assert loaded(imported, HEAVY) == set()
    assert "Usage: folio ask [OPTIONS]" in done.stdout


async def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    done = await run_folio("--version", env=folio_env(), cwd=tmp_path)

    assert (done.code, done.stdout, done.stderr) == (0, f"folio {version('folio')}\n", "")


# Runs a command in a fresh interpreter; prints its exit code, then the modules it imported.
REFUSAL_PROBE = """
import json, sys
from folio.cli import app
try:
    app(sys.argv[1:], prog_name="folio")
except SystemExit as exit:
    sys.stdout.write(str(exit.code))
sys.stderr.write(json.dumps(sorted(sys.modules)))
"""


def test_a_configuration_error_is_told_before_the_server_or_the_database_loads(tmp_path: Path) -> None:
    server_parts = ("sqlalchemy", "asyncpg", "alembic", "pgserver", "fastapi", "uvicorn", "folio.main", "folio.db")
    for command in (["serve"], ["worker"]):
        done = subprocess.run(  # noqa: S603 — this interpreter, a fixed script
            [sys.executable, "-c", REFUSAL_PROBE, *command],
            capture_output=True,
            text=True,
            env=folio_env(FOLIO_ENV="production", FOLIO_AUTH__JWT_SECRET="a" * 40),
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

        assert done.stdout.endswith("2"), (command, done.stdout)
        imported = json.loads(done.stderr[done.stderr.rindex("[") :])
        assert "FOLIO_AUTH__JWT_SECRET" in done.stderr
        assert loaded(imported, server_parts) == set(), command
