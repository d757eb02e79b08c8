"""A real Folio server for the tests of a package (tests/cli, tests/client): the app served by uvicorn from a thread
(embedded PostgreSQL, jobs run in the server's process), wrapped in the `Recorder` that notes every request and can
play an older server. A conftest imports the fixtures below (its package then has one server, whose accounts and
corpus live until the package ends, when the tables are emptied) and makes its own `corpus` with `holding`."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI
from folio_client import Folio
from folio_client.models import Scope

from folio.ingestion.extract import extract_isolated
from folio.main import create_app
from tests.conftest import empty_tables, make_settings
from tests.factories import PASSWORD
from tests.live_server import serve_in_thread
from tests.recorder import Recorder

SCOPES: list[Scope] = ["documents:read", "documents:write", "search", "answers"]


@dataclass
class Served:
    url: str
    recorder: Recorder


@dataclass
class Account:
    email: str
    access_token: str
    refresh_token: str
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


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Ingestion jobs wait at their extraction until the test sets this: so a command or a wait starts while they
    run."""
    opened = threading.Event()

    def gated(*args: Any) -> Any:
        opened.wait(timeout=60)
        return extract_isolated(*args)

    # Where the ingestion job looks it up.
    monkeypatch.setattr("folio.ingestion.tasks.extract_isolated", gated)
    yield opened
    opened.set()


def register(url: str, who: str, scopes: list[Scope]) -> Account:
    """A new account (its own organization) with an API key of `scopes` named "`who` tests", made through the SDK."""
    email = f"{who}-{uuid4().hex[:12]}@example.com"
    with Folio(url) as folio:
        registration = folio.auth.register(email, PASSWORD, f"{who.upper()} Test")
        key = folio.api_keys.create(f"{who} tests", scopes)
    return Account(email, registration.access_token, registration.refresh_token, key.secret)


def write_folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def holding(url: str, account: Account, folder: Path, files: dict[str, str]) -> Account:
    """`account`, once its organization holds `files` (written to `folder`), ingested."""
    with Folio(url, api_key=account.api_key) as folio:
        uploaded = folio.documents.upload_folder(write_folder(folder, files))
        jobs = folio.jobs.wait_all(uploaded.job_ids, timeout=120)
    assert [job.status for job in jobs] == ["succeeded"] * len(files)
    return account
