"""`folio keys`: `create` is the operator's (on the database: the first key of an organization, before anyone can
speak to the API); `list` and `revoke` speak to the server with a key, under the API's rules: a key with the `admin`
scope sees and revokes the organization's keys, any other key only itself."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from folio.cli.connection import connect
from folio.cli.operator import create_key
from folio.cli.options import ApiKey, Json, Server
from folio.cli.output import PAGE, first, listed, say

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
keys_app.command("create")(create_key)


@keys_app.command("list")
def list_keys(
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    as_json: Json = False,
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """(Client) List the live API keys.

    An admin key sees the organization's keys, another key itself; never their secrets."""
    with connect(server, api_key) as folio:
        keys = first(folio.api_keys.list(limit=min(limit, PAGE)), limit)
    listed(
        keys,
        as_json=as_json,
        headers=["ID", "PREFIX", "SCOPES", "LAST USED", "NAME"],
        row=lambda key: [
            str(key.id),
            key.prefix + "…",
            ",".join(key.scopes),
            key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never",
            key.name,
        ],
    )


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[UUID, typer.Argument(metavar="KEY_ID", help="The key's id (`folio keys list` shows it).")],
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """(Client) Revoke an API key: it stops working at once."""
    with connect(server, api_key) as folio:
        folio.api_keys.revoke(key_id)
    say(f"Revoked API key {key_id}.")
