"""The `folio` command against a real Folio server (tests/live_folio.py: the app served from a thread, wrapped in the
`Recorder` that notes every request). The client commands run in-process with typer's CliRunner (the SDK's blocking
client, as a real run), a few as real processes. One server serves the package; its accounts live until the package
ends, when the tables are emptied."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest
from folio_client.models import Scope
from typer.testing import CliRunner, Result

from folio.cli import app as cli
from tests.live_folio import SCOPES, holding, register
from tests.live_folio import Account as Account
from tests.live_folio import Served as Served
from tests.live_folio import _empty_tables as _empty_tables
from tests.live_folio import gate as gate
from tests.live_folio import served as served
from tests.live_folio import server as server
from tests.live_folio import write_folder as write_folder

CORPUS = {
    "leave.md": "# Leave policy\n\nEmployees get twenty-five days of paid annual leave every year.\n",
    "expenses.md": "# Expenses\n\nTravel expenses are reimbursed within thirty days of the claim.\n",
    "security.txt": "Badges must be worn at all times inside the office building.\n",
}


def new_account(url: str, scopes: list[Scope] = SCOPES) -> Account:
    """A new account (its own organization) with an API key of `scopes`, named "cli tests"."""
    return register(url, "cli", scopes)


@pytest.fixture(scope="package")
def corpus(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Account:
    """An account whose organization holds `CORPUS`, ingested."""
    return holding(served.url, new_account(served.url), tmp_path_factory.mktemp("corpus"), CORPUS)


@pytest.fixture
def config_home(tmp_path: Path) -> Path:
    """XDG_CONFIG_HOME of the commands a test runs: a folder of its own, so no developer's config is read."""
    home = tmp_path / "config-home"
    home.mkdir()
    return home


class RunFolio(Protocol):
    def __call__(self, *args: str, key: str | None, server: str | None = None, stdin: str | None = None) -> Result:
        """`folio *args` with this key (None: none), against the live server unless `server` is given."""


@pytest.fixture
def folio(served: Served, config_home: Path) -> RunFolio:
    """Run `folio …` in-process; the result has `exit_code`, `stdout` and `stderr`."""

    def run(*args: str, key: str | None, server: str | None = None, stdin: str | None = None) -> Result:
        env = {
            "FOLIO_SERVER": server or served.url,
            "FOLIO_API_KEY": key,
            "XDG_CONFIG_HOME": str(config_home),
            "COLUMNS": "200",
        }
        return CliRunner().invoke(cli, list(args), env=env, input=stdin)

    return run


def folio_command(*args: str) -> list[str]:
    """The real `folio`, as a child process runs it."""
    return [sys.executable, "-m", "folio", *args]


def until(happened: Callable[[], object], *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not happened():
        if time.monotonic() > deadline:
            raise TimeoutError("it did not happen in time")
        time.sleep(0.02)
