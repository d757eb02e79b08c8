"""The `folio` operator commands (migrate, users, keys, orgs, rotate-credentials), run as real processes on the test
database."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import select

from folio.llm.crypto import CredentialCipher
from folio.models import Integration, WebhookEndpoint
from tests.cli_process import folio_env, run_folio
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_JWT_SECRET
from tests.factories import PASSWORD, register


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return folio_env(FOLIO_DATABASE_URL=database_url, FOLIO_AUTH__JWT_SECRET=TEST_JWT_SECRET, FOLIO_LOG__JSON="false")


async def test_migrate_reports_success(env: dict[str, str], tmp_path: Path) -> None:
    done = await run_folio("migrate", env=env, cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "latest migration" in done.stdout


async def test_users_create_makes_an_account_that_can_log_in(
    env: dict[str, str], tmp_path: Path, client: httpx.AsyncClient
) -> None:
    email = f"cli-{uuid4().hex[:8]}@example.com"
    done = await run_folio("users", "create", "--email", email, "--password", PASSWORD, env=env, cwd=tmp_path)
    assert done.code == 0, done.stdout + done.stderr

    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.json()["role"] == "owner"


async def test_users_create_with_org_makes_them_owner_of_it(
    env: dict[str, str], tmp_path: Path, client: httpx.AsyncClient
) -> None:
    email = f"cli-{uuid4().hex[:8]}@example.com"
    done = await run_folio(
        "users", "create", "--email", email, "--password", PASSWORD, "--org", "Acme Legal", env=env, cwd=tmp_path
    )
    assert done.code == 0, done.stdout + done.stderr

    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    orgs = await client.get("/api/v1/orgs", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    roles = {org["name"]: org["role"] for org in orgs.json()["items"]}
    assert roles["Acme Legal"] == "owner"


async def test_users_create_refuses_a_weak_password(env: dict[str, str], tmp_path: Path) -> None:
    done = await run_folio(
        "users", "create", "--email", "weak@example.com", "--password", "short", env=env, cwd=tmp_path
    )
    assert done.code == 1
    assert "WEAK_PASSWORD" in done.stdout


async def test_keys_create_prints_a_working_key_with_its_scopes(
    env: dict[str, str], tmp_path: Path, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    done = await run_folio(
        "keys",
        "create",
        "--org",
        str(owner.org_id),
        "--name",
        "nightly import",
        "--scopes",
        "documents:read,documents:write",
        env=env,
        cwd=tmp_path,
    )
    assert done.code == 0, done.stdout + done.stderr
    secret = done.stdout.strip().splitlines()[-1]

    me = await client.get("/api/v1/auth/me", headers={"X-API-Key": secret})
    assert me.status_code == 200, me.text
    assert me.json()["principal"] == "api_key"
    assert me.json()["org"]["id"] == str(owner.org_id)
    assert me.json()["scopes"] == ["documents:read", "documents:write"]


async def test_keys_create_refuses_unknown_scopes_and_orgs(env: dict[str, str], tmp_path: Path) -> None:
    org = str(uuid4())
    unknown_scope = await run_folio(
        "keys", "create", "--org", org, "--name", "x", "--scopes", "root", env=env, cwd=tmp_path
    )
    assert unknown_scope.code == 2
    assert "Unknown scope" in unknown_scope.stdout

    unknown_org = await run_folio(
        "keys", "create", "--org", org, "--name", "x", "--scopes", "search", env=env, cwd=tmp_path
    )
    assert unknown_org.code == 1
    assert "ORG_NOT_FOUND" in unknown_org.stdout


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"]])
async def test_production_with_the_default_secret_refuses_to_start(
    command: list[str], database_url: str, tmp_path: Path
) -> None:
    env = folio_env(FOLIO_ENV="production", FOLIO_DATABASE_URL=database_url)
    done = await run_folio(*command, env=env, cwd=tmp_path)
    assert done.code == 2
    assert "FOLIO_AUTH__JWT_SECRET" in done.stdout


async def test_orgs_set_plan_puts_an_organization_on_a_configured_plan(
    env: dict[str, str], tmp_path: Path, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    done = await run_folio("orgs", "set-plan", str(owner.org_id), "team", env=env, cwd=tmp_path)
    assert done.code == 0, done.stdout + done.stderr
    plan = await client.get("/api/v1/plan", headers=owner.headers)
    assert (plan.json()["plan"], plan.json()["enforced"]) == ("team", False)
    assert plan.json()["members"] == {"allowed": 100, "used": 1, "remaining": 99}

    unknown = await run_folio("orgs", "set-plan", str(owner.org_id), "platinum", env=env, cwd=tmp_path)
    assert unknown.code == 2
    assert "enterprise, free, team" in unknown.stdout
    missing = await run_folio("orgs", "set-plan", str(uuid4()), "team", env=env, cwd=tmp_path)
    assert missing.code == 1
    assert "ORG_NOT_FOUND" in missing.stdout
    assert (await client.get("/api/v1/plan", headers=owner.headers)).json()["plan"] == "team"


async def test_rotate_credentials_reencrypts_every_secret_under_the_first_key(
    env: dict[str, str], tmp_path: Path, client: httpx.AsyncClient, app: FastAPI
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

    done = await run_folio(
        "rotate-credentials", env={**env, "FOLIO_ENCRYPTION_KEYS": f"{new_key},{TEST_ENCRYPTION_KEY}"}, cwd=tmp_path
    )

    assert done.code == 0, done.stdout + done.stderr
    assert "Re-encrypted 2 credentials" in done.stdout
    only_new = CredentialCipher([new_key])
    async with app.state.sessionmaker() as session:
        token = await session.scalar(select(Integration.credentials_encrypted))
        secret = await session.scalar(select(WebhookEndpoint.secret_encrypted))
    assert token is not None
    assert secret is not None
    assert json.loads(only_new.decrypt(token)) == {"token": "ntn_rotate_me"}
    assert only_new.decrypt(secret) == hooked.json()["secret"]
    lost = await run_folio(
        "rotate-credentials", env={**env, "FOLIO_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY}, cwd=tmp_path
    )
    assert lost.code == 1
    assert "could not be decrypted" in lost.stdout
