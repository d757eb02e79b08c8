"""GET/PUT/DELETE /api/v1/llm/settings: roles, the key never shown and stored encrypted, tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from folio.llm.crypto import CredentialCipher
from tests.conftest import AppFactory
from tests.factories import Account, add_member, create_api_key, error_code, error_of, register

URL = "/api/v1/llm/settings"
KEY = "sk-org-secret-0123456789abcdef"
# A public address: the session's app refuses internal ones (tests/llm/test_outbound_api.py).
OLLAMA: dict[str, Any] = {
    "provider": "openai",
    "base_url": "https://ollama.example.net:11434/v1",
    "model": "qwen2.5:7b-instruct",
    "api_key": KEY,
}


async def put(client: httpx.AsyncClient, account: Account, body: dict[str, Any]) -> httpx.Response:
    return await client.put(URL, json=body, headers=account.headers)


async def stored_ciphertext(app: FastAPI, account: Account) -> str | None:
    async with app.state.engine.connect() as connection:
        value: str | None = await connection.scalar(
            text("SELECT api_key_encrypted FROM org_llm_settings WHERE org_id = :org_id"), {"org_id": account.org_id}
        )
    return value


async def test_by_default_an_organization_uses_the_servers_settings(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    response = await client.get(URL, headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "provider": "extractive",
        "model": None,
        "base_url": None,
        "source": "server",
        "api_key_set": False,
        "updated_at": None,
    }


async def test_an_admin_sets_the_organizations_model_and_the_key_is_never_returned(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)

    response = await put(client, owner, OLLAMA)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "openai"
    assert body["model"] == "qwen2.5:7b-instruct"
    assert body["base_url"] == "https://ollama.example.net:11434/v1"
    assert body["source"] == "org"
    assert body["api_key_set"] is True
    assert body["updated_at"]
    assert "api_key" not in body
    assert KEY not in response.text
    again = await client.get(URL, headers=owner.headers)
    assert again.json() == body
    assert KEY not in again.text


async def test_the_key_is_stored_encrypted(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await put(client, owner, OLLAMA)

    ciphertext = await stored_ciphertext(app, owner)

    assert ciphertext is not None
    assert KEY not in ciphertext
    assert CredentialCipher(app.state.settings.encryption_key_list).decrypt(ciphertext) == KEY


async def test_members_read_but_only_admins_change_the_settings(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    viewer, editor, admin = await register(client), await register(client), await register(client)
    for member, role in ((viewer, "viewer"), (editor, "editor"), (admin, "admin")):
        await add_member(client, owner, member, role)
    assert (await client.put(URL, json=OLLAMA, headers=admin.in_org(owner.org_id))).status_code == 200

    read = await client.get(URL, headers=viewer.in_org(owner.org_id))
    assert read.status_code == 200
    assert read.json()["source"] == "org"
    assert read.json()["api_key_set"] is True
    assert KEY not in read.text
    for member in (viewer, editor):
        headers = member.in_org(owner.org_id)
        error_of(await client.put(URL, json={"provider": "extractive"}, headers=headers), 403, "FORBIDDEN")
        error_of(await client.delete(URL, headers=headers), 403, "FORBIDDEN")
    assert (await client.get(URL, headers=owner.headers)).json()["model"] == "qwen2.5:7b-instruct"


async def test_an_api_key_needs_the_admin_scope(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    reader = await create_api_key(client, owner, scopes=["documents:read"])
    admin = await create_api_key(client, owner, scopes=["admin"])
    assert (await client.get(URL, headers={"X-API-Key": reader["secret"]})).status_code == 200
    error_of(await client.put(URL, json=OLLAMA, headers={"X-API-Key": reader["secret"]}), 403, "FORBIDDEN")
    assert (await client.put(URL, json=OLLAMA, headers={"X-API-Key": admin["secret"]})).status_code == 200


async def test_another_organization_never_sees_the_settings(client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client), await register(client)
    await put(client, owner, OLLAMA)

    theirs = await client.get(URL, headers=stranger.headers)
    assert theirs.json()["source"] == "server"
    assert theirs.json()["api_key_set"] is False
    assert KEY not in theirs.text
    # Nor can they act in it.
    refused = await client.get(URL, headers=stranger.in_org(owner.org_id))
    assert refused.status_code == 403
    assert error_code(refused) == "ORG_ACCESS_DENIED"
    # Their own DELETE leaves the other organization's settings alone.
    assert (await client.delete(URL, headers=stranger.headers)).status_code == 204
    assert (await client.get(URL, headers=owner.headers)).json()["source"] == "org"


async def test_bad_base_urls_are_refused_with_the_envelope(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    for base_url in (
        "ftp://models.example.com/v1",
        "not a url",
        "http://",
        "file:///etc/passwd",
        "https://user:password@models.example.com/v1",
        "http://models.example.com:99999/v1",
    ):
        response = await put(client, owner, {**OLLAMA, "base_url": base_url})
        error = error_of(response, 422, "VALIDATION_ERROR")
        assert error["details"]["errors"][0]["loc"] == ["body", "base_url"], base_url
    assert (await client.get(URL, headers=owner.headers)).json()["source"] == "server"


async def test_the_fields_must_fit_the_provider(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    error_of(await put(client, owner, {"provider": "openai", "api_key": KEY}), 422, "VALIDATION_ERROR")
    error_of(await put(client, owner, {"provider": "extractive", "model": "gpt-4o"}), 422, "VALIDATION_ERROR")
    error_of(await put(client, owner, {"provider": "elsewhere", "model": "x"}), 422, "VALIDATION_ERROR")


async def test_leaving_the_key_out_keeps_it_but_not_for_a_new_address(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await put(client, owner, OLLAMA)
    stored = await stored_ciphertext(app, owner)
    without_key = {name: value for name, value in OLLAMA.items() if name != "api_key"}

    response = await put(client, owner, {**without_key, "model": "mistral:7b"})

    assert response.status_code == 200, response.text
    assert response.json()["api_key_set"] is True
    assert response.json()["model"] == "mistral:7b"
    assert await stored_ciphertext(app, owner) == stored

    moved = await put(client, owner, {**without_key, "base_url": "https://collector.example.net/v1"})
    error = error_of(moved, 422, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["loc"] == ["body", "api_key"]
    assert (await client.get(URL, headers=owner.headers)).json()["base_url"] == OLLAMA["base_url"]


async def test_a_null_key_removes_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await put(client, owner, OLLAMA)
    response = await put(client, owner, {**OLLAMA, "api_key": None})
    assert response.json()["api_key_set"] is False
    assert await stored_ciphertext(app, owner) is None


async def test_an_organization_may_choose_the_offline_engine(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await put(client, owner, OLLAMA)
    response = await put(client, owner, {"provider": "extractive"})
    assert response.json() | {"updated_at": None} == {
        "provider": "extractive",
        "model": None,
        "base_url": None,
        "source": "org",
        "api_key_set": False,
        "updated_at": None,
    }
    assert await stored_ciphertext(app, owner) is None


async def test_delete_goes_back_to_the_servers_settings(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await put(client, owner, OLLAMA)

    assert (await client.delete(URL, headers=owner.headers)).status_code == 204
    assert (await client.delete(URL, headers=owner.headers)).status_code == 204

    assert (await client.get(URL, headers=owner.headers)).json()["source"] == "server"
    async with app.state.engine.connect() as connection:
        rows = await connection.scalar(text("SELECT count(*) FROM org_llm_settings"))
    assert rows == 0


async def test_the_routes_need_credentials(client: httpx.AsyncClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, URL, json=OLLAMA if method == "PUT" else None)
        error_of(response, 401, "AUTH_REQUIRED")


async def test_the_servers_remote_model_is_shown_without_its_key(app_factory: AppFactory) -> None:
    server = {"provider": "openai", "base_url": "http://vllm.internal:8000/v1", "model": "served", "api_key": KEY}
    async with app_factory(llm=server) as client:
        owner = await register(client)
        response = await client.get(URL, headers=owner.headers)
    assert response.json() == {
        "provider": "openai",
        "model": "served",
        "base_url": "http://vllm.internal:8000/v1",
        "source": "server",
        "api_key_set": True,
        "updated_at": None,
    }
    assert KEY not in response.text
