"""/api/v1/api-keys and authentication with X-API-Key (or the key as a Bearer token)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.factories import Account, create_api_key, error_of, register
from tests.orgs.membership import add_member

KEYS = "/api/v1/api-keys"
ME = "/api/v1/auth/me"
ALL_SCOPES = ["admin", "answers", "documents:read", "documents:write", "search"]


def key_headers(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


async def list_keys(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(KEYS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def member_of(client: httpx.AsyncClient, owner: Account, role: str) -> Account:
    member = await register(client)
    await add_member(client, owner, member, role)
    return member


# --- create -----------------------------------------------------------------------------------------------------


async def test_create_returns_the_secret_once(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(
        KEYS, json={"name": "ingestion", "scopes": ["search", "documents:read"]}, headers=account.headers
    )

    assert response.status_code == 201, response.text
    key = response.json()
    secret = key["secret"]
    assert secret.startswith("folio_")
    randomness = secret.removeprefix("folio_")
    assert len(randomness) >= 43
    assert len(base64.urlsafe_b64decode(randomness + "=" * (-len(randomness) % 4))) >= 32
    assert key["prefix"].startswith("folio_")
    assert len(key["prefix"]) > len("folio_")
    assert secret.startswith(key["prefix"])
    assert len(key["prefix"]) < len(secret)
    assert key["name"] == "ingestion"
    assert key["scopes"] == ["documents:read", "search"]
    assert key["created_by"] == str(account.user_id)
    assert key["created_at"]
    assert key["last_used_at"] is None
    assert key["expires_at"] is None
    UUID(key["id"])


async def test_each_key_gets_a_different_secret(client: httpx.AsyncClient) -> None:
    account = await register(client)

    first = await create_api_key(client, account)
    second = await create_api_key(client, account)

    assert first["secret"] != second["secret"]
    assert first["id"] != second["id"]


async def test_list_never_shows_the_secret(client: httpx.AsyncClient) -> None:
    account = await register(client)
    expires = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    created = await create_api_key(client, account, scopes=["answers"], expires_at=expires.isoformat())

    body = await list_keys(client, account.headers)

    [item] = body["items"]
    assert body["next_cursor"] is None
    assert "secret" not in item
    assert "secret_hash" not in item
    assert created["secret"] not in str(body)
    assert item["id"] == created["id"]
    assert item["prefix"] == created["prefix"]
    assert item["scopes"] == ["answers"]
    assert item["created_at"] == created["created_at"]
    assert item["last_used_at"] is None
    assert datetime.fromisoformat(item["expires_at"]) == expires


async def test_invalid_scope_name_is_422(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(KEYS, json={"name": "bad", "scopes": ["documents:delete"]}, headers=account.headers)

    error = error_of(response, 422, "VALIDATION_ERROR")
    assert any(entry["loc"][:2] == ["body", "scopes"] for entry in error["details"]["errors"])
    assert (await list_keys(client, account.headers))["items"] == []


async def test_empty_scopes_are_422(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(KEYS, json={"name": "none", "scopes": []}, headers=account.headers)

    error_of(response, 422, "VALIDATION_ERROR")


async def test_create_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(KEYS, json={"name": "anon", "scopes": ["search"]})

    error_of(response, 401, "AUTH_REQUIRED")


# --- authenticating with a key ----------------------------------------------------------------------------------


async def test_x_api_key_authenticates_as_the_keys_org_with_its_scopes(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account, scopes=["documents:write", "documents:read"])

    response = await client.get(ME, headers=key_headers(key["secret"]))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["principal"] == "api_key"
    assert body["org"]["id"] == str(account.org_id)
    assert body["scopes"] == ["documents:read", "documents:write"]
    assert body["role"] == "owner"  # the creator's, narrowed by the scopes
    assert body["api_key"]["id"] == key["id"]


async def test_key_as_bearer_token_also_works(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account, scopes=["search"])

    response = await client.get(ME, headers={"Authorization": f"Bearer {key['secret']}"})

    assert response.status_code == 200, response.text
    assert response.json()["principal"] == "api_key"
    assert response.json()["api_key"]["id"] == key["id"]
    assert response.json()["scopes"] == ["search"]


async def test_unknown_key_is_401(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account)
    # Same prefix, different secret.
    forged = key["secret"][:-4] + ("AAAA" if not key["secret"].endswith("AAAA") else "BBBB")

    error_of(await client.get(ME, headers=key_headers(forged)), 401, "AUTH_INVALID")
    error_of(await client.get(ME, headers=key_headers(key["prefix"])), 401, "AUTH_INVALID")


async def test_last_used_at_is_set_after_use(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account)
    before = datetime.now(UTC) - timedelta(seconds=5)
    assert (await list_keys(client, account.headers))["items"][0]["last_used_at"] is None

    assert (await client.get(ME, headers=key_headers(key["secret"]))).status_code == 200

    [item] = (await list_keys(client, account.headers))["items"]
    assert item["last_used_at"] is not None
    assert datetime.fromisoformat(item["last_used_at"]) >= before


async def test_revoked_key_stops_working(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account)
    kept = await create_api_key(client, account)
    assert (await client.get(ME, headers=key_headers(key["secret"]))).status_code == 200

    response = await client.delete(f"{KEYS}/{key['id']}", headers=account.headers)

    assert response.status_code == 204, response.text
    error_of(await client.get(ME, headers=key_headers(key["secret"])), 401, "AUTH_INVALID")
    assert [item["id"] for item in (await list_keys(client, account.headers))["items"]] == [kept["id"]]
    assert (await client.get(ME, headers=key_headers(kept["secret"]))).status_code == 200
    # Revoking twice finds nothing.
    error_of(await client.delete(f"{KEYS}/{key['id']}", headers=account.headers), 404, "API_KEY_NOT_FOUND")


async def test_delete_unknown_key_is_404(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.delete(f"{KEYS}/{uuid4()}", headers=account.headers)

    error_of(response, 404, "API_KEY_NOT_FOUND")


async def test_delete_with_a_malformed_id_is_422(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.delete(f"{KEYS}/not-a-uuid", headers=account.headers)

    error_of(response, 422, "VALIDATION_ERROR")


async def test_cannot_revoke_another_orgs_key(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    stranger = await register(client)
    key = await create_api_key(client, owner)

    response = await client.delete(f"{KEYS}/{key['id']}", headers=stranger.headers)

    error_of(response, 404, "API_KEY_NOT_FOUND")
    assert (await client.get(ME, headers=key_headers(key["secret"]))).status_code == 200


async def test_a_key_expiring_in_the_past_is_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)

    for past in (datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) - timedelta(days=400)):
        response = await client.post(
            KEYS, json={"name": "k", "scopes": ["search"], "expires_at": past.isoformat()}, headers=account.headers
        )
        error = error_of(response, 422, "EXPIRES_AT_IN_PAST")
        assert error["details"] == {"field": "expires_at"}
    assert (await list_keys(client, account.headers))["items"] == []


async def test_a_key_expiring_without_a_time_zone_is_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None)

    response = await client.post(
        KEYS, json={"name": "k", "scopes": ["search"], "expires_at": naive.isoformat()}, headers=account.headers
    )

    error = error_of(response, 422, "VALIDATION_ERROR")
    assert [item["loc"] for item in error["details"]["errors"]] == [["body", "expires_at"]]


async def test_key_expiring_later_works_until_it_expires(client: httpx.AsyncClient, app: FastAPI) -> None:
    account = await register(client)
    future = datetime.now(UTC) + timedelta(days=1)
    key = await create_api_key(client, account, expires_at=future.isoformat())
    assert (await client.get(ME, headers=key_headers(key["secret"]))).status_code == 200

    async with app.state.engine.begin() as connection:
        result = await connection.execute(
            text("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE secret_hash = :digest"),
            {"digest": hashlib.sha256(key["secret"].encode()).hexdigest()},
        )
        assert result.rowcount == 1
    # A key's expiry never changes through the API, so nothing tells the principal cache: it forgets by hand.
    app.state.principal_cache.clear()

    error_of(await client.get(ME, headers=key_headers(key["secret"])), 401, "AUTH_EXPIRED")


# --- what a key may do ------------------------------------------------------------------------------------------


async def test_a_key_cannot_create_keys(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account, scopes=["admin"])

    response = await client.post(KEYS, json={"name": "child", "scopes": ["search"]}, headers=key_headers(key["secret"]))

    error_of(response, 403, "FORBIDDEN")
    assert len((await list_keys(client, account.headers))["items"]) == 1


async def test_key_in_another_org_is_denied(client: httpx.AsyncClient) -> None:
    account = await register(client)
    other = await register(client)
    key = await create_api_key(client, account)

    response = await client.get(ME, headers={**key_headers(key["secret"]), "X-Org-Id": str(other.org_id)})

    error_of(response, 403, "ORG_ACCESS_DENIED")
    # Naming its own org is fine.
    own = await client.get(ME, headers={**key_headers(key["secret"]), "X-Org-Id": str(account.org_id)})
    assert own.status_code == 200, own.text


async def test_key_in_another_org_of_its_creator_is_denied(client: httpx.AsyncClient) -> None:
    """Even when the creator belongs to the other org, a key acts only in the org it was made in."""
    owner = await register(client)
    member = await member_of(client, owner, "admin")
    key = await create_api_key(client, member)

    response = await client.get(ME, headers={**key_headers(key["secret"]), "X-Org-Id": str(owner.org_id)})

    error_of(response, 403, "ORG_ACCESS_DENIED")


async def test_owner_may_create_a_key_with_every_scope(client: httpx.AsyncClient) -> None:
    account = await register(client)

    key = await create_api_key(client, account, scopes=ALL_SCOPES)

    described = await client.get(ME, headers=key_headers(key["secret"]))
    assert described.json()["scopes"] == ALL_SCOPES


async def test_editor_asking_for_admin_scope_is_refused(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    editor = await member_of(client, owner, "editor")

    response = await client.post(
        KEYS, json={"name": "too much", "scopes": ["documents:write", "admin"]}, headers=editor.in_org(owner.org_id)
    )

    error = error_of(response, 403, "SCOPE_NOT_ALLOWED")
    assert error["details"]["not_allowed"] == ["admin"]
    assert (await list_keys(client, owner.in_org(owner.org_id)))["items"] == []
    # Within the role it works.
    allowed = await client.post(
        KEYS, json={"name": "fine", "scopes": ["documents:write"]}, headers=editor.in_org(owner.org_id)
    )
    assert allowed.status_code == 201, allowed.text


async def test_viewer_asking_for_write_scope_is_refused(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    viewer = await member_of(client, owner, "viewer")

    response = await client.post(
        KEYS, json={"name": "writer", "scopes": ["documents:write"]}, headers=viewer.in_org(owner.org_id)
    )

    error = error_of(response, 403, "SCOPE_NOT_ALLOWED")
    assert error["details"]["not_allowed"] == ["documents:write"]


async def test_demoting_the_creator_shrinks_the_keys_scopes(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    admin = await member_of(client, owner, "admin")
    response = await client.post(
        KEYS, json={"name": "admin key", "scopes": ALL_SCOPES}, headers=admin.in_org(owner.org_id)
    )
    assert response.status_code == 201, response.text
    key = response.json()
    assert (await client.get(ME, headers=key_headers(key["secret"]))).json()["scopes"] == ALL_SCOPES

    demoted = await client.patch(
        f"/api/v1/orgs/{owner.org_id}/members/{admin.user_id}", json={"role": "viewer"}, headers=owner.headers
    )
    assert demoted.status_code == 200, demoted.text

    described = await client.get(ME, headers=key_headers(key["secret"]))
    assert described.status_code == 200, described.text
    assert described.json()["scopes"] == ["answers", "documents:read", "search"]
    # The key's stored scopes are unchanged; only its effective scopes shrank.
    [item] = (await list_keys(client, owner.headers))["items"]
    assert item["scopes"] == ALL_SCOPES


async def test_removing_the_creator_from_the_org_disables_the_key(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    editor = await member_of(client, owner, "editor")
    response = await client.post(
        KEYS, json={"name": "editor key", "scopes": ["documents:read"]}, headers=editor.in_org(owner.org_id)
    )
    assert response.status_code == 201, response.text
    key = response.json()
    assert (await client.get(ME, headers=key_headers(key["secret"]))).status_code == 200

    removed = await client.delete(f"/api/v1/orgs/{owner.org_id}/members/{editor.user_id}", headers=owner.headers)
    assert removed.status_code == 204, removed.text

    error_of(await client.get(ME, headers=key_headers(key["secret"])), 401, "AUTH_INVALID")


async def test_a_removed_members_keys_stay_revoked_when_they_join_again(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    editor = await member_of(client, owner, "editor")
    own_org_key = await create_api_key(client, editor)
    response = await client.post(
        KEYS, json={"name": "editor key", "scopes": ["documents:read"]}, headers=editor.in_org(owner.org_id)
    )
    assert response.status_code == 201, response.text
    key = response.json()

    removed = await client.delete(f"/api/v1/orgs/{owner.org_id}/members/{editor.user_id}", headers=owner.headers)
    assert removed.status_code == 204, removed.text
    await add_member(client, owner, editor, "editor")

    error_of(await client.get(ME, headers=key_headers(key["secret"])), 401, "AUTH_INVALID")
    assert (await list_keys(client, owner.headers))["items"] == []
    # Only the keys of the organization the member left are revoked.
    assert (await client.get(ME, headers=key_headers(own_org_key["secret"]))).status_code == 200


async def test_a_member_who_leaves_loses_their_keys_for_good(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    viewer = await member_of(client, owner, "viewer")
    response = await client.post(
        KEYS, json={"name": "viewer key", "scopes": ["search"]}, headers=viewer.in_org(owner.org_id)
    )
    assert response.status_code == 201, response.text

    left = await client.delete(f"/api/v1/orgs/{owner.org_id}/members/{viewer.user_id}", headers=viewer.headers)
    assert left.status_code == 204, left.text
    await add_member(client, owner, viewer, "admin")

    error_of(await client.get(ME, headers=key_headers(response.json()["secret"])), 401, "AUTH_INVALID")


# --- listing ----------------------------------------------------------------------------------------------------


async def test_non_admins_see_only_their_own_keys_admins_see_all(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    editor = await member_of(client, owner, "editor")
    admin = await member_of(client, owner, "admin")
    owners_key = await create_api_key(client, owner)
    editor_response = await client.post(
        KEYS, json={"name": "editor's", "scopes": ["search"]}, headers=editor.in_org(owner.org_id)
    )
    assert editor_response.status_code == 201, editor_response.text
    editors_key = editor_response.json()
    # A key in the editor's personal org is never listed in the owner's org.
    await create_api_key(client, editor)

    seen_by_editor = await list_keys(client, editor.in_org(owner.org_id))
    seen_by_owner = await list_keys(client, owner.headers)
    seen_by_admin = await list_keys(client, admin.in_org(owner.org_id))

    assert [item["id"] for item in seen_by_editor["items"]] == [editors_key["id"]]
    both = {owners_key["id"], editors_key["id"]}
    assert {item["id"] for item in seen_by_owner["items"]} == both
    assert {item["id"] for item in seen_by_admin["items"]} == both
    # A non-admin cannot revoke someone else's key either.
    error_of(
        await client.delete(f"{KEYS}/{owners_key['id']}", headers=editor.in_org(owner.org_id)),
        404,
        "API_KEY_NOT_FOUND",
    )
    # An admin can.
    assert (await client.delete(f"{KEYS}/{editors_key['id']}", headers=admin.in_org(owner.org_id))).status_code == 204


async def test_pagination_walks_every_key_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = [(await create_api_key(client, account, name=f"key {n}"))["id"] for n in range(4)]

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 1}
        if cursor is not None:
            params["cursor"] = cursor
        page = await list_keys(client, account.headers, **params)
        assert len(page["items"]) <= 1
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert cursor is None
    assert len(seen) == len(set(seen))
    assert seen == created  # creation order, since ids are time-ordered


async def test_pagination_rejects_a_bad_cursor_and_limit(client: httpx.AsyncClient) -> None:
    account = await register(client)

    error_of(await client.get(KEYS, headers=account.headers, params={"cursor": "!!!"}), 422, "INVALID_CURSOR")
    error_of(await client.get(KEYS, headers=account.headers, params={"limit": 0}), 422, "VALIDATION_ERROR")
    error_of(await client.get(KEYS, headers=account.headers, params={"limit": 101}), 422, "VALIDATION_ERROR")


async def test_a_key_without_admin_scope_sees_and_revokes_only_itself(client: httpx.AsyncClient) -> None:
    """A key borrows its creator's id for limits, never their identity: it cannot act on sibling keys."""
    owner = await register(client)
    editor = await register(client)
    await add_member(client, owner, editor, "editor")
    as_editor = editor.in_org(owner.org_id)
    first = await client.post(KEYS, json={"name": "first", "scopes": ["documents:read"]}, headers=as_editor)
    second = await client.post(KEYS, json={"name": "second", "scopes": ["documents:read"]}, headers=as_editor)
    first_key, second_key = first.json(), second.json()

    listed = await list_keys(client, key_headers(first_key["secret"]))
    assert [key["id"] for key in listed["items"]] == [first_key["id"]]

    revoke = await client.delete(f"{KEYS}/{second_key['id']}", headers=key_headers(first_key["secret"]))
    error_of(revoke, 404, "API_KEY_NOT_FOUND")
    assert (await client.get(ME, headers=key_headers(second_key["secret"]))).status_code == 200
    # The editor, signed in, still sees both of their keys.
    mine = await list_keys(client, as_editor)
    assert {key["id"] for key in mine["items"]} == {first_key["id"], second_key["id"]}
