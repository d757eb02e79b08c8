"""`folio keys`: `create` on the database (the operator's; its stdout is the key alone, whatever the embedded
database logs), `list` and `revoke` through the API with a key, under its rules."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from folio_client import Folio

from tests.cli.conftest import Account, RunFolio, Served, folio_command, new_account
from tests.cli_process import folio_env
from tests.conftest import TEST_JWT_SECRET


def admin_key(served: Served, account: Account) -> str:
    """A key of the account's owner with the `admin` scope: it sees and revokes the organization's keys."""
    with Folio(served.url, access_token=account.access_token) as client:
        return client.api_keys.create("admin", ["admin", "search"]).secret


def test_an_admin_key_lists_and_revokes_the_organizations_keys(served: Served, folio: RunFolio) -> None:
    account = new_account(served.url)
    admin = admin_key(served, account)

    listed = folio("keys", "list", "--json", key=admin)
    assert listed.exit_code == 0, listed.stderr
    keys = {key["name"]: key for key in json.loads(listed.stdout)["items"]}
    assert set(keys) == {"cli tests", "admin"}
    assert all("secret" not in key for key in keys.values())
    text = folio("keys", "list", key=admin)
    assert text.stdout.splitlines()[0].split() == ["ID", "PREFIX", "SCOPES", "LAST", "USED", "NAME"]
    assert f"{keys['cli tests']['prefix']}…  answers,documents:read,documents:write,search  never" in text.stdout

    revoked = folio("keys", "revoke", keys["cli tests"]["id"], key=admin)

    assert (revoked.exit_code, revoked.stdout) == (0, "")
    refused = folio("search", "leave", key=account.api_key)
    assert refused.exit_code == 2
    assert "AUTH_INVALID" in refused.stderr
    assert [key["name"] for key in json.loads(folio("keys", "list", "--json", key=admin).stdout)["items"]] == ["admin"]


def test_another_key_sees_only_itself_and_cannot_revoke_the_others(served: Served, folio: RunFolio) -> None:
    account = new_account(served.url)
    admin = admin_key(served, account)

    listed = folio("keys", "list", "--json", key=account.api_key)
    every = json.loads(folio("keys", "list", "--json", key=admin).stdout)["items"]
    [admin_id] = [key["id"] for key in every if key["name"] == "admin"]
    refused = folio("keys", "revoke", admin_id, key=account.api_key)
    unknown = folio("keys", "revoke", str(uuid4()), key=admin)

    assert [key["name"] for key in json.loads(listed.stdout)["items"]] == ["cli tests"]
    assert refused.exit_code == unknown.exit_code == 1
    assert refused.stderr.startswith("API_KEY_NOT_FOUND: ")
    assert folio("search", "leave", key=admin).exit_code == 0


def embedded_data_dir(database_url: str, root: Path) -> Path:
    """A FOLIO_DATA_DIR whose embedded PostgreSQL is the test session's (a link to its data directory): a `folio`
    process then starts it as `make run` would, and finds it already running."""
    pgdata = parse_qs(urlsplit(database_url).query)["host"][0]
    data_dir = root / "data"
    data_dir.mkdir()
    (data_dir / "postgres").symlink_to(pgdata)
    return data_dir


async def test_keys_create_prints_the_key_alone_so_a_shell_can_capture_it(
    served: Served, database_url: str, tmp_path: Path
) -> None:
    account = new_account(served.url)
    with Folio(served.url, api_key=account.api_key) as client:
        org_id = client.auth.me().org.id
    settings = {"FOLIO_AUTH__JWT_SECRET": TEST_JWT_SECRET, "FOLIO_LOG__JSON": "false"}
    embedded = not os.environ.get("FOLIO_TEST_DATABASE_URL")
    if embedded:
        settings["FOLIO_DATA_DIR"] = str(embedded_data_dir(database_url, tmp_path))
    else:
        settings["FOLIO_DATABASE_URL"] = database_url
    create = shlex.join(
        folio_command("keys", "create", "--org", str(org_id), "--name", "nightly", "--scopes", "search")
    )
    # The line an operator writes: $KEY holds the key, and nothing else.
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        f'KEY=$({create}) && printf "%s" "$KEY" > captured',
        env=folio_env(**settings),
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        _, stderr = await process.communicate()

    assert process.returncode == 0, stderr.decode()
    key = (tmp_path / "captured").read_text()
    with Folio(served.url, api_key=key) as client:
        me = client.auth.me()
    assert (me.org.id, me.scopes, me.api_key and me.api_key.name) == (org_id, ["search"], "nightly")
    assert b"store it now" in stderr
    assert not embedded or b"embedded_postgres_ready" in stderr
