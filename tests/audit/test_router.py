"""GET /api/v1/audit: admins only, one organization's entries, newest first in pages that never skip or repeat,
filters, and the only verb there is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.audit.entries import AUDIT, actions, entries
from tests.factories import Account, add_member, create_api_key, error_of, register


async def _keys(client: httpx.AsyncClient, account: Account, count: int) -> list[dict[str, Any]]:
    return [await create_api_key(client, account, name=f"key {number}") for number in range(count)]


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_members_below_admin_are_refused(client: httpx.AsyncClient, role: str) -> None:
    owner, member = await register(client), await register(client)
    await add_member(client, owner, member, role)
    error_of(await client.get(AUDIT, headers=member.in_org(owner.org_id)), 403, "FORBIDDEN")


async def test_an_api_key_needs_the_admin_scope(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    reader = await create_api_key(client, owner, scopes=["documents:read", "search"])
    admin = await create_api_key(client, owner, scopes=["admin"])

    error_of(await client.get(AUDIT, headers={"X-API-Key": reader["secret"]}), 403, "FORBIDDEN")
    allowed = await client.get(AUDIT, headers={"X-API-Key": admin["secret"]})
    assert allowed.status_code == 200, allowed.text
    assert [entry["action"] for entry in allowed.json()["items"]] == ["api_key.created", "api_key.created"]


async def test_admins_and_owners_read_it(client: httpx.AsyncClient) -> None:
    owner, admin = await register(client), await register(client)
    await add_member(client, owner, admin, "admin")
    response = await client.get(AUDIT, headers=admin.in_org(owner.org_id))
    assert response.status_code == 200, response.text
    assert [entry["action"] for entry in response.json()["items"]] == ["invitation.accepted", "invitation.created"]


async def test_credentials_are_required(client: httpx.AsyncClient) -> None:
    error_of(await client.get(AUDIT), 401, "AUTH_REQUIRED")


async def test_another_organizations_entries_are_never_visible(client: httpx.AsyncClient) -> None:
    alice, mallory = await register(client), await register(client)
    key = await create_api_key(client, alice)
    await client.post("/api/v1/auth/login", json={"email": alice.email, "password": "x" * 12})

    assert await entries(client, mallory) == []
    assert await entries(client, mallory, target_id=key["id"]) == []
    assert await entries(client, mallory, actor_user_id=str(alice.user_id)) == []
    error_of(await client.get(AUDIT, headers=mallory.in_org(alice.org_id)), 403, "ORG_ACCESS_DENIED")
    assert len(await entries(client, alice)) == 2


async def test_pages_run_newest_first_without_skipping_or_repeating(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    keys = await _keys(client, owner, 7)

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await client.get(AUDIT, params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [entry["target"]["id"] for entry in seen] == [key["id"] for key in reversed(keys)]
    ids = [entry["id"] for entry in seen]
    assert ids == sorted(ids, reverse=True)


async def test_filters_by_action_actor_target_and_time(client: httpx.AsyncClient) -> None:
    owner, member = await register(client), await register(client)
    await add_member(client, owner, member, "admin")
    [key] = await _keys(client, owner, 1)
    as_member = member.in_org(owner.org_id)
    renamed = await client.patch(f"/api/v1/orgs/{owner.org_id}", json={"name": "New name"}, headers=as_member)
    assert renamed.status_code == 200, renamed.text

    assert await actions(client, owner, action=["org.updated", "api_key.created"]) == [
        "org.updated",
        "api_key.created",
    ]
    assert await actions(client, owner, actor_user_id=str(member.user_id)) == ["org.updated", "invitation.accepted"]
    assert await actions(client, owner, target_type="api_key", target_id=key["id"]) == ["api_key.created"]
    assert await actions(client, owner, target_id="no-such-target") == []

    everything = await entries(client, owner)
    newest = datetime.fromisoformat(everything[0]["created_at"])
    assert len(await entries(client, owner, **{"from": newest.isoformat()})) >= 1
    assert await entries(client, owner, **{"from": (newest + timedelta(seconds=1)).isoformat()}) == []
    before = await entries(client, owner, to=(newest + timedelta(seconds=1)).isoformat())
    assert len(before) == len(everything)
    assert await entries(client, owner, to=datetime(2000, 1, 1, tzinfo=UTC).isoformat()) == []


@pytest.mark.parametrize(
    "params",
    [
        {"action": "auth.nonsense"},
        {"action": ["auth.login"] * 200},
        {"actor_user_id": "not-a-uuid"},
        {"target_type": "User; DROP TABLE"},
        {"target_type": "x" * 33},
        {"target_id": "x" * 65},
        {"from": "2026-01-01T00:00:00"},  # no time zone
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"cursor": "not-a-cursor"},
        {"limit": 101},
    ],
)
async def test_invalid_queries_are_refused(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    owner = await register(client)
    response = await client.get(AUDIT, params=params, headers=owner.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in {"VALIDATION_ERROR", "INVALID_CURSOR"}


async def test_a_nul_byte_in_the_query_is_refused(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    error_of(await client.get(f"{AUDIT}?target_id=a%00b", headers=owner.headers), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_entries_cannot_be_written_changed_or_deleted_through_the_api(
    client: httpx.AsyncClient, method: str
) -> None:
    owner = await register(client)
    await create_api_key(client, owner)
    [entry] = await entries(client, owner)
    for path in (AUDIT, f"{AUDIT}/{entry['id']}"):
        response = await client.request(method, path, json={}, headers=owner.headers)
        assert response.status_code in {404, 405}, response.text
    assert await entries(client, owner) == [entry]


async def test_the_openapi_document_describes_the_route_with_an_example(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    route = spec["paths"][AUDIT]
    assert set(route) == {"get"}
    assert "403" in route["get"]["responses"]
    names = {parameter["name"] for parameter in route["get"]["parameters"]}
    assert {"action", "actor_user_id", "target_type", "target_id", "from", "to", "cursor", "limit"} <= names
    assert spec["components"]["schemas"]["AuditEntryRead"]["examples"]
