"""The `folio` command against a real Folio server: the app served by uvicorn from a thread (embedded PostgreSQL,
jobs run in the server's process), wrapped in the `Recorder` that notes every request. The client commands run
in-process with typer's CliRunner (the SDK's blocking client, as a real run), a few as real processes. One server
serves the package; its accounts live until the package ends, when the tables are emptied."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

import pytest
from fastapi import FastAPI
from folio_client import Folio
from folio_client.models import Scope
from typer.testing import CliRunner, Result

from folio.cli import app as cli
from folio.ingestion.extract import extract_isolated
from folio.main import create_app
from tests.conftest import empty_tables, make_settings
from tests.factories import PASSWORD
from tests.live_server import serve_in_thread
from tests.recorder import Recorder

CLIENT_SCOPES: list[Scope] = ["documents:read", "documents:write", "search", "answers"]
CORPUS = {
    "leave.md": "# Leave policy\n\nEmployees get twenty-five days of paid annual leave every year.\n",
    "expenses.md": "# Expenses\n\nTravel expenses are reimbursed within thirty days of the claim.\n",
    "security.txt": "Badges must be worn at all times inside the office building.\n",
}


@dataclass
class Served:
    url: str
    recorder: Recorder


@dataclass
class Account:
    email: str
    access_token: str
    api_key: str


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """The package's accounts and corpus live until the package ends (see `served`)."""


@pytest.fixture(scope="package")
async def served(app: FastAPI, database_url: str) -> AsyncIterator[Served]:
    recorder = Recorder(create_app(make_settings(database_url)))
    with serve_in_thread(recorder) as url:
        yield Served(url, recorder)
    await empty_tables(app)


@pytest.fixture
def server(served: Served) -> Iterator[Served]:
    """The server, with no request recorded yet and nothing played."""
    served.recorder.reset()
    yield served
    served.recorder.reset()


def new_account(url: str, scopes: list[Scope] = CLIENT_SCOPES) -> Account:
    """A new account (its own organization) with an API key of `scopes`."""
    email = f"cli-{uuid4().hex[:12]}@example.com"
    with Folio(url) as folio:
        registration = folio.auth.register(email, PASSWORD, "CLI Test")
        key = folio.api_keys.create("cli tests", scopes)
    return Account(email, registration.access_token, key.secret)


def write_folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="package")
def corpus(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Account:
    """An account whose organization holds `CORPUS`, ingested."""
    account = new_account(served.url)
    folder = write_folder(tmp_path_factory.mktemp("corpus"), CORPUS)
    with Folio(served.url, api_key=account.api_key) as folio:
        uploaded = folio.documents.upload_folder(folder)
        jobs = folio.jobs.wait_all(uploaded.job_ids, timeout=120)
    assert [job.status for job in jobs] == ["succeeded"] * len(CORPUS)
    return account


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


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Ingestion jobs wait at their extraction until the test sets this: so a command starts while they run."""
    opened = threading.Event()

    def gated(*args: Any) -> Any:
        opened.wait(timeout=60)
        return extract_isolated(*args)

    # Where the ingestion job looks it up.
    monkeypatch.setattr("folio.ingestion.tasks.extract_isolated", gated)
    yield opened
    opened.set()
