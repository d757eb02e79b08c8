"""The SDK against a real Folio server: the app served by uvicorn from a thread (embedded PostgreSQL, jobs run in
the server's process), wrapped in the `Recorder` that notes every request and can play a server without an event
stream. One server and one ingested corpus serve every test of the package; the tables are emptied at its end."""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# The corpus: facts that a question finds in one file each, and enough files for several pages of two.
CORPUS = {
    "leave.md": "# Leave policy\n\nEmployees get twenty-five days of paid annual leave every year.\n",
    "expenses.md": "# Expenses\n\nTravel expenses are reimbursed within thirty days of the claim.\n",
    "security.txt": "Badges must be worn at all times inside the office building.\n",
    "onboarding.md": "# Onboarding\n\nNew staff meet their mentor on the first Monday.\n",
    "holidays.txt": "The office is closed between Christmas and New Year.\n",
}
_numbers = itertools.count()


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


def new_account(url: str) -> Account:
    """A new account (its own organization) with an API key of `SCOPES`, made through the SDK."""
    email = f"sdk{next(_numbers)}@example.com"
    with Folio(url) as folio:
        registration = folio.auth.register(email, PASSWORD, "SDK Test")
        key = folio.api_keys.create("sdk tests", SCOPES)
    return Account(email, registration.access_token, registration.refresh_token, key.secret)


def write_folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
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
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Ingestion jobs wait at their extraction until the test sets this: so a wait starts while they run."""
    opened = threading.Event()

    def gated(*args: Any) -> Any:
        opened.wait(timeout=60)
        return extract_isolated(*args)

    # Where the ingestion job looks it up.
    monkeypatch.setattr("folio.ingestion.tasks.extract_isolated", gated)
    yield opened
    opened.set()
