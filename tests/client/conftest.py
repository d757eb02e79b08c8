"""The SDK against a real Folio server (tests/live_folio.py: the app served from a thread, wrapped in the `Recorder`
that notes every request and can play a server without an event stream). One server and one ingested corpus serve
every test of the package; the tables are emptied at its end."""

from __future__ import annotations

import pytest

from tests.live_folio import SCOPES, holding, register
from tests.live_folio import Account as Account
from tests.live_folio import Served as Served
from tests.live_folio import _empty_tables as _empty_tables
from tests.live_folio import gate as gate
from tests.live_folio import served as served
from tests.live_folio import server as server
from tests.live_folio import write_folder as write_folder

# The corpus: facts that a question finds in one file each, and enough files for several pages of two.
CORPUS = {
    "leave.md": "# Leave policy\n\nEmployees get twenty-five days of paid annual leave every year.\n",
    "expenses.md": "# Expenses\n\nTravel expenses are reimbursed within thirty days of the claim.\n",
    "security.txt": "Badges must be worn at all times inside the office building.\n",
    "onboarding.md": "# Onboarding\n\nNew staff meet their mentor on the first Monday.\n",
    "holidays.txt": "The office is closed between Christmas and New Year.\n",
}


def new_account(url: str) -> Account:
    """A new account (its own organization) with an API key of `SCOPES`, made through the SDK."""
    return register(url, "sdk", SCOPES)


@pytest.fixture(scope="package")
def corpus(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Account:
    """An account whose organization holds `CORPUS`, ingested."""
    return holding(served.url, new_account(served.url), tmp_path_factory.mktemp("corpus"), CORPUS)
