"""Each security-relevant action, done through the API, leaves its entry: who, from where, on what, and what changed
(never a secret)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import httpx
import orjson
import pytest
from fastapi import FastAPI

from folio.auth import service as auth_service
from tests.audit.entries import actions, stored_rows, the_entry
from tests.auth.test_router import GRACE, Clock, login, refresh
from tests.factories import PASSWORD, add_member, create_api_key, error_of, register
from tests.orgs.membership import accept, invitations_path, invite

BROWSER = {"User-Agent": "AuditTest/1.0 (X11; Linux x86_64)", "X-Request-ID": "audit-test-request-1"}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(auth_service, "now", frozen)
    return frozen


async def test_a_login_is_recorded_with_the_client_and_the_request(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}, headers=BROWSER
    )
    assert response.status_code == 200, response.text

    entry = await the_entry(client, owner, "auth.login")
    assert entry["actor"] == {"type": "user", "user_id": str(owner.user_id), "api_key_id": None, "email": owner.email}
    assert entry["target"] == {"type": "user", "id": str(owner.user_id)}
    assert entry["user_agent"] == BROWSER["User-Agent"]
    assert entry["request_id"] == "audit-test-request-1"
    assert entry["ip"] == "127.0.0.1"


async def test_a_failed_login_is_recorded_though_the_request_failed(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": "not the password"}, headers=BROWSER
    )
    error_of(response, 401, "INVALID_CREDENTIALS")

    entry = await the_entry(client, owner, "auth.login_failed")
    assert entry["actor"] == {"type": "anonymous", "user_id": None, "api_key_id": None, "email": None}
    assert entry["target"] == {"type": "user", "id": str(owner.user_id)}
    assert entry["details"] == {"reason": "wrong_password"}
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert "not the password" not in orjson.dumps(await stored_rows(app), default=str).decode()


async def test_a_failed_login_is_recorded_in_each_of_the_users_organizations(client: httpx.AsyncClient) -> None:
    member, other_owner = await register(client), await register(client)
    await add_member(client, other_owner, member, "viewer")

    error_of(
        await client.post("/api/v1/auth/login", json={"email": member.email, "password": "x" * 12}),
        401,
        "INVALID_CREDENTIALS",
    )

    assert await actions(client, member, action="auth.login_failed") == ["auth.login_failed"]
    assert await actions(client, other_owner, action="auth.login_failed") == ["auth.login_failed"]


async def test_a_failed_login_for_an_unknown_email_writes_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
    error_of(response, 401, "INVALID_CREDENTIALS")
    assert await stored_rows(app) == []


async def test_a_user_in_many_organizations_is_recorded_in_a_bounded_number(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    for number in range(25):
        created = await client.post("/api/v1/orgs", json={"name": f"Org {number}"}, headers=owner.headers)
        assert created.status_code == 201, created.text

    error_of(
        await client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12}),
        401,
        "INVALID_CREDENTIALS",
    )

    failed = [row for row in await stored_rows(app) if row["action"] == "auth.login_failed"]
    assert len(failed) == 20
    assert len({row["org_id"] for row in failed}) == 20


async def test_logout_is_recorded(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    assert (await client.post("/api/v1/auth/logout", headers=owner.headers)).status_code == 204
    second = await login(client, owner.email)
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    response = await client.get("/api/v1/audit", params={"action": "auth.logout"}, headers=headers)
    [entry] = response.json()["items"]
    assert entry["actor"]["user_id"] == str(owner.user_id)


async def test_a_reused_refresh_token_records_the_revoked_session(client: httpx.AsyncClient, clock: Clock) -> None:
    owner = await register(client)
    assert (await refresh(client, owner.refresh_token)).status_code == 200
    clock.advance(GRACE + timedelta(seconds=1))

    error_of(await refresh(client, owner.refresh_token), 401, "AUTH_INVALID")

    fresh = await login(client, owner.email)
    headers = {"Authorization": f"Bearer {fresh['access_token']}"}
    response = await client.get("/api/v1/audit", params={"action": "auth.session_revoked"}, headers=headers)
    [entry] = response.json()["items"]
    assert entry["actor"]["type"] == "anonymous"
    assert entry["details"] == {"reason": "refresh_token_reuse"}


async def test_api_keys_created_and_revoked_are_recorded_without_their_secret(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    key = await create_api_key(client, owner, name="CI uploader", scopes=["documents:write"])
    assert (await client.delete(f"/api/v1/api-keys/{key['id']}", headers=owner.headers)).status_code == 204

    created = await the_entry(client, owner, "api_key.created")
    assert created["target"] == {"type": "api_key", "id": key["id"]}
    assert created["details"] == {
        "name": "CI uploader",
        "prefix": key["prefix"],
        "scopes": ["documents:write"],
        "expires_at": None,
    }
    assert (await the_entry(client, owner, "api_key.revoked"))["target"]["id"] == key["id"]
    assert key["secret"] not in orjson.dumps(await stored_rows(app), default=str).decode()


async def test_an_api_key_is_recorded_as_the_actor_for_its_creator(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    admin_key = await create_api_key(client, owner, scopes=["admin"])
    headers = {"X-API-Key": admin_key["secret"]}
    renamed = await client.patch(f"/api/v1/orgs/{owner.org_id}", json={"name": "Renamed"}, headers=headers)
    assert renamed.status_code == 200, renamed.text

    entry = await the_entry(client, owner, "org.updated")
    assert entry["actor"] == {
        "type": "api_key",
        "user_id": str(owner.user_id),
        "api_key_id": admin_key["id"],
        "email": owner.email,
    }
    assert entry["details"]["name"]["to"] == "Renamed"


async def test_invitations_role_changes_and_removals_are_recorded(client: httpx.AsyncClient) -> None:
    owner, member = await register(client), await register(client)
    revoked = await invite(client, owner, "someone@example.com", "editor")
    response = await client.delete(f"{invitations_path(owner.org_id)}/{revoked['id']}", headers=owner.headers)
    assert response.status_code == 204, response.text
    invitation = await invite(client, owner, member.email, "viewer")
    assert (await accept(client, member, invitation["id"])).status_code == 200
    path = f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}"
    assert (await client.patch(path, json={"role": "editor"}, headers=owner.headers)).status_code == 200
    assert (await client.delete(path, headers=owner.headers)).status_code == 204

    assert await actions(client, owner, target_type="invitation") == [
        "invitation.accepted",
        "invitation.created",
        "invitation.revoked",
        "invitation.created",
    ]
    accepted = await the_entry(client, owner, "invitation.accepted")
    assert accepted["actor"]["user_id"] == str(member.user_id)
    assert accepted["details"]["role"] == "viewer"
    changed = await the_entry(client, owner, "member.role_changed")
    assert changed["target"] == {"type": "user", "id": str(member.user_id)}
    assert changed["details"]["role"] == {"from": "viewer", "to": "editor"}
    removed = await the_entry(client, owner, "member.removed")
    assert removed["details"] == {"email": member.email, "role": "editor", "left": False}


async def test_language_model_settings_are_recorded_without_the_key(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    key = "sk-audit-secret-0123456789abcdef"
    settings = {
        "provider": "openai",
        "base_url": "https://models.example.net:8443/v1?token=in-the-url",
        "model": "qwen2.5:7b-instruct",
        "api_key": key,
    }
    assert (await client.put("/api/v1/llm/settings", json=settings, headers=owner.headers)).status_code == 200
    assert (await client.delete("/api/v1/llm/settings", headers=owner.headers)).status_code == 204

    updated = await the_entry(client, owner, "llm_settings.updated")
    assert updated["details"] == {
        "provider": "openai",
        "model": "qwen2.5:7b-instruct",
        "base_url": "https://models.example.net:8443",
        "api_key": "set",
    }
    assert (await the_entry(client, owner, "llm_settings.removed"))["target"] == {"type": "llm_settings", "id": None}
    stored = orjson.dumps(await stored_rows(app), default=str).decode()
    assert key not in stored
    assert "in-the-url" not in stored


async def test_webhook_changes_are_recorded_without_the_secret_or_the_urls_path(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    url = "https://hooks.example.com/services/T0001/B0002/receiver-secret"
    created = await client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": ["document.ready"]}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    webhook = created.json()
    path = f"/api/v1/webhooks/{webhook['id']}"
    assert (await client.patch(path, json={"enabled": False}, headers=owner.headers)).status_code == 200
    rotated = await client.post(f"{path}/rotate-secret", headers=owner.headers)
    assert rotated.status_code == 200, rotated.text
    assert (await client.delete(path, headers=owner.headers)).status_code == 204

    assert await actions(client, owner, target_type="webhook", target_id=webhook["id"]) == [
        "webhook.deleted",
        "webhook.secret_rotated",
        "webhook.updated",
        "webhook.created",
    ]
    made = await the_entry(client, owner, "webhook.created")
    assert made["details"] == {"url": "https://hooks.example.com", "event_types": ["document.ready"], "description": ""}
    assert (await the_entry(client, owner, "webhook.updated"))["details"] == {"enabled": False}
    stored = orjson.dumps(await stored_rows(app), default=str).decode()
    for secret in (webhook["secret"], rotated.json()["secret"], "receiver-secret"):
        assert secret not in stored


async def test_an_entry_keeps_the_actors_email_after_they_leave(client: httpx.AsyncClient) -> None:
    owner, member = await register(client), await register(client)
    await add_member(client, owner, member, "admin")
    member_in_owner_org = member.in_org(owner.org_id)
    renamed = await client.patch(
        f"/api/v1/orgs/{owner.org_id}", json={"name": "By the member"}, headers=member_in_owner_org
    )
    assert renamed.status_code == 200, renamed.text
    left = await client.delete(f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}", headers=member_in_owner_org)
    assert left.status_code == 204, left.text

    assert (await the_entry(client, owner, "org.updated"))["actor"]["email"] == member.email
    assert (await the_entry(client, owner, "member.removed"))["details"]["left"] is True
    assert UUID((await the_entry(client, owner, "member.removed"))["target"]["id"]) == member.user_id
