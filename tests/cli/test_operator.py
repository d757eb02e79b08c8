"""The `folio` operator commands (migrate, users, keys create, orgs, rotate-credentials) on the test database: their
results on stdout, their messages and errors on stderr. They run in-process (in a thread: each runs its own event
loop), except where the process itself is under test (tests/cli/test_keys.py captures `folio keys create` from a
shell)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import Protocol
from uuid import uuid4

import httpx
import pytest
import structlog
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from folio.cli import app as cli
from folio.llm.crypto import CredentialCipher
from folio.models import Integration, WebhookEndpoint
from tests.cli_process import Completed, folio_env, run_folio
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_JWT_SECRET
from tests.factories import PASSWORD, register


class Operator(Protocol):
    def __call__(self, *args: str, **settings: str) -> Awaitable[Completed]: ...


@pytest.fixture
def operator(database_url: str) -> Operator:
    """`folio *args` on the test database, with these FOLIO_ settings."""

    async def run(*args: str, **settings: str) -> Completed:
        env = {"FOLIO_DATABASE_URL": database_url, "FOLIO_AUTH__JWT_SECRET": TEST_JWT_SECRET, **settings}
        # The commands send the logs of what they use to stderr (structlog's global configuration): put it back.
        logging = structlog.get_config()
        try:
            result = await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env, catch_exceptions=False)
        finally:
            structlog.configure(**logging)
        return Completed(result.exit_code, result.stdout, result.stderr)

    return run


async def test_migrate_reports_success(operator: Operator) -> None:
    done = await operator("migrate")
    assert done.code == 0, done.stderr
    assert done.stdout == ""
    assert "latest migration" in done.stderr


async def test_users_create_makes_an_account_that_can_log_in(operator: Operator, client: httpx.AsyncClient) -> None:
    email = f"cli-{uuid4().hex[:8]}@example.com"
    done = await operator("users", "create", "--email", email, "--password", PASSWORD, "--json")
    assert done.code == 0, done.stdout + done.stderr
    created = json.loads(done.stdout)

    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.json()["role"] == "owner"
    assert (me.json()["user"]["id"], me.json()["org"]["id"], created["email"]) == (
        created["user_id"],
        created["org_id"],
        email,
    )


async def test_users_create_with_org_makes_them_owner_of_it(operator: Operator, client: httpx.AsyncClient) -> None:
    email = f"cli-{uuid4().hex[:8]}@example.com"
    done = await operator("users", "create", "--email", email, "--password", PASSWORD, "--org", "Acme Legal")
    assert done.code == 0, done.stdout + done.stderr

    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    orgs = await client.get("/api/v1/orgs", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    roles = {org["name"]: org["role"] for org in orgs.json()["items"]}
    assert roles["Acme Legal"] == "owner"


async def test_users_create_refuses_a_weak_password(operator: Operator) -> None:
    done = await operator("users", "create", "--email", "weak@example.com", "--password", "short")
    assert done.code == 1
    assert done.stderr.startswith("WEAK_PASSWORD: ")


async def test_keys_create_prints_a_working_key_with_its_scopes(operator: Operator, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    done = await operator(
        "keys",
        "create",
        "--org",
        str(owner.org_id),
        "--name",
        "nightly import",
        "--scopes",
        "documents:read,documents:write",
    )
    assert done.code == 0, done.stdout + done.stderr
    secret = done.stdout.removesuffix("\n")
    assert secret.startswith("folio_")
    assert "\n" not in secret

    me = await client.get("/api/v1/auth/me", headers={"X-API-Key": secret})
    assert me.status_code == 200, me.text
    assert me.json()["principal"] == "api_key"
    assert me.json()["org"]["id"] == str(owner.org_id)
    assert me.json()["scopes"] == ["documents:read", "documents:write"]


async def test_keys_create_refuses_unknown_scopes_and_orgs(operator: Operator) -> None:
    org = str(uuid4())
    unknown_scope = await operator("keys", "create", "--org", org, "--name", "x", "--scopes", "root")
    assert unknown_scope.code == 2
    assert "Unknown scope" in unknown_scope.stderr

    unknown_org = await operator("keys", "create", "--org", org, "--name", "x", "--scopes", "search")
    assert unknown_org.code == 1
    assert unknown_org.stdout == ""
    assert "ORG_NOT_FOUND" in unknown_org.stderr


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"]])
async def test_production_with_the_default_secret_refuses_to_start(
    command: list[str], database_url: str, tmp_path: Path
) -> None:
    env = folio_env(FOLIO_ENV="production", FOLIO_DATABASE_URL=database_url)
    done = await run_folio(*command, env=env, cwd=tmp_path)
    assert done.code == 2
    assert "FOLIO_AUTH__JWT_SECRET" in done.stderr


async def test_orgs_set_plan_puts_an_organization_on_a_configured_plan(
    operator: Operator, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    done = await operator("orgs", "set-plan", str(owner.org_id), "team")
    assert done.code == 0, done.stdout + done.stderr
    plan = await client.get("/api/v1/plan", headers=owner.headers)
    assert (plan.json()["plan"], plan.json()["enforced"]) == ("team", False)
    assert plan.json()["members"] == {"allowed": 100, "used": 1, "remaining": 99}

    unknown = await operator("orgs", "set-plan", str(owner.org_id), "platinum")
    assert unknown.code == 2
    assert "enterprise, free, team" in unknown.stderr
    missing = await operator("orgs", "set-plan", str(uuid4()), "team")
    assert missing.code == 1
    assert "ORG_NOT_FOUND" in missing.stderr
    assert (await client.get("/api/v1/plan", headers=owner.headers)).json()["plan"] == "team"


async def test_rotate_credentials_reencrypts_every_secret_under_the_first_key(
    operator: Operator, client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner = await register(client)
    connected = await client.post(
        "/api/v1/integrations",
        json={"kind": "notion", "name": "Notion", "credentials": {"token": "ntn_rotate_me"}, "sync_now": False},
        headers=owner.headers,
    )
    hooked = await client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x"}, headers=owner.headers)
    assert (connected.status_code, hooked.status_code) == (201, 201)
    new_key = Fernet.generate_key().decode()

    done = await operator("rotate-credentials", FOLIO_ENCRYPTION_KEYS=f"{new_key},{TEST_ENCRYPTION_KEY}")

    assert done.code == 0, done.stdout + done.stderr
    assert "Re-encrypted 2 credentials" in done.stderr
    only_new = CredentialCipher([new_key])
    async with app.state.sessionmaker() as session:
        token = await session.scalar(select(Integration.credentials_encrypted))
        secret = await session.scalar(select(WebhookEndpoint.secret_encrypted))
    assert token is not None
    assert secret is not None
    assert json.loads(only_new.decrypt(token)) == {"token": "ntn_rotate_me"}
    assert only_new.decrypt(secret) == hooked.json()["secret"]
    lost = await operator("rotate-credentials", FOLIO_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEY)
    assert lost.code == 1
    assert "could not be decrypted" in lost.stderr
