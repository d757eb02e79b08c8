"""The `folio` command.

Operator commands act on the database and run the server's processes (`operator.py`); client commands speak to a
server over HTTP through the SDK (`folio_client`), with a key. Building the command list imports typer and these
light modules only: what a command needs (SQLAlchemy, the app's settings, the SDK, rich…) is imported when it runs,
mostly from the modules whose names start with `_`, so that `folio --help` answers at once
(tests/cli/test_startup.py checks what it imports, bench/cli_startup.py how long it takes).
"""

from __future__ import annotations

from typing import Annotated

import typer

from folio.cli import documents, ingest, operator, search
from folio.cli.config import config_app
from folio.cli.keys import keys_app
from folio.cli.output import line

app = typer.Typer(
    help="Folio: document intelligence you host yourself.",
    epilog="Operator commands (serve, worker, migrate, users, keys create, orgs, rotate-credentials, makemigration) "
    "act on the database: FOLIO_DATABASE_URL, else the embedded one. Client commands (ingest, search, ask, "
    "documents, jobs, summarize, keys list|revoke) speak to a server: --server, FOLIO_SERVER or the config file "
    "(`folio config`), with --api-key, FOLIO_API_KEY or the config file's key. Results go to stdout, everything "
    "else to stderr. Exit codes: 0 done, 1 failed (a job, a missing document…), 2 usage or configuration (no key, "
    "server unreachable, key refused), 130 interrupted.",
    no_args_is_help=True,
    # Plain help: typer's rich help imports rich's renderers and markdown, the larger part of `folio --help`.
    rich_markup_mode=None,
)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version

        line(f"folio {version('folio')}")
        raise typer.Exit


@app.callback()
def main(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    pass


app.command()(operator.serve)
app.command()(operator.worker)
app.command()(operator.migrate)
app.add_typer(operator.users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(operator.orgs_app, name="orgs")
app.command("rotate-credentials")(operator.rotate_credentials)
app.command()(operator.makemigration)
app.command()(ingest.ingest)
app.command()(search.search)
app.command()(search.ask)
app.add_typer(documents.documents_app, name="documents")
app.add_typer(documents.jobs_app, name="jobs")
app.command()(documents.summarize)
app.add_typer(config_app, name="config")
