"""Organizations and their members through the API: listing, creation, renaming, membership and role rules."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from tests.factories import Account, create_api_key, error_code, org_with, register
from tests.orgs.membership import accept, invite

ORGS = "/api/v1/orgs"
ME = "/api/v1/auth/me"


def members_path(org_id: UUID) -> str:
    return f"{ORGS}/{org_id}/members"


def member_path(org_id: UUID, user_id: UUID) -> str:
    return f"{ORGS}/{org_id}/members/{user_id}"


async def member_roles(client: httpx.AsyncClient, account: Account, org_id: UUID) -> dict[UUID, str]:
    """Every member of the organization and their role, as `account` sees them."""
    response = await client.get(members_path(org_id), params={"limit": 100}, headers=account.headers)
    assert response.status_code == 200, response.text
    return {UUID(item["user_id"]): item["role"] for item in response.json()["items"]}


async def walk(client: httpx.AsyncClient, path: str, headers: dict[str, str], key: str) -> list[str]:
    """Every item's `key` across pages of one item, following next_cursor to the end."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": 1}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 1
        seen.extend(str(item[key]) for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination never ended")


# Organizations


async def test_list_orgs_shows_each_org_with_the_callers_role(client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "editor")

    response = await client.get(ORGS, headers=member.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    by_id = {UUID(item["id"]): item for item in body["items"]}
    assert set(by_id) == {member.org_id, owner.org_id}
    assert by_id[member.org_id]["role"] == "owner"
    assert by_id[member.org_id]["is_personal"] is True
    assert by_id[owner.org_id]["role"] == "editor"
    assert by_id[owner.org_id]["name"] == "Test User's workspace"


async def test_list_orgs_excludes_orgs_of_others(client: httpx.AsyncClient) -> None:
    alice = await register(client)
    bob = await register(client)

    response = await client.get(ORGS, headers=alice.headers)

    assert response.status_code == 200, response.text
    assert [UUID(item["id"]) for item in response.json()["items"]] == [alice.org_id]
    assert bob.org_id != alice.org_id


async def test_create_org_makes_the_caller_its_owner(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(ORGS, json={"name": "Acme Legal"}, headers=account.headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Acme Legal"
    assert body["role"] == "owner"
    assert body["is_personal"] is False
    org_id = UUID(body["id"])
    assert await member_roles(client, account, org_id) == {account.user_id: "owner"}
    listed = (await client.get(ORGS, headers=account.headers)).json()["items"]
    assert {UUID(item["id"]): item["role"] for item in listed} == {account.org_id: "owner", org_id: "owner"}
    me = await client.get(ME, headers=account.in_org(org_id))
    assert me.status_code == 200, me.text
    assert me.json()["org"] == {"id": str(org_id), "name": "Acme Legal"}
    assert me.json()["role"] == "owner"


async def test_get_org(client: httpx.AsyncClient) -> None:
    account = await register(client, name="Ada")

    response = await client.get(f"{ORGS}/{account.org_id}", headers=account.headers)
    unknown = await client.get(f"{ORGS}/00000000-0000-7000-8000-000000000000", headers=account.headers)
    malformed = await client.get(f"{ORGS}/not-a-uuid", headers=account.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert UUID(body["id"]) == account.org_id
    assert body["name"] == "Ada's workspace"
    assert body["role"] == "owner"
    assert body["is_personal"] is True
    assert unknown.status_code == 404, unknown.text
    assert error_code(unknown) == "ORG_NOT_FOUND"
    assert malformed.status_code == 422, malformed.text
    assert error_code(malformed) == "VALIDATION_ERROR"


async def test_orgs_require_authentication(client: httpx.AsyncClient) -> None:
    account = await register(client)

    listing = await client.get(ORGS)
    single = await client.get(f"{ORGS}/{account.org_id}")

    assert listing.status_code == 401
    assert error_code(listing) == "AUTH_REQUIRED"
    assert single.status_code == 401
    assert error_code(single) == "AUTH_REQUIRED"


async def test_owners_and_admins_rename(client: httpx.AsyncClient) -> None:
    owner, [admin] = await org_with(client, "admin")

    for actor, role, name in ((owner, "owner", "By owner"), (admin, "admin", "By admin")):
        response = await client.patch(f"{ORGS}/{owner.org_id}", json={"name": name}, headers=actor.headers)
        assert response.status_code == 200, response.text
        assert response.json()["name"] == name
        assert response.json()["role"] == role
        again = await client.get(f"{ORGS}/{owner.org_id}", headers=owner.headers)
        assert again.json()["name"] == name


async def test_editors_and_viewers_cannot_rename(client: httpx.AsyncClient) -> None:
    owner, members = await org_with(client, "editor", "viewer")

    for member in members:
        response = await client.patch(f"{ORGS}/{owner.org_id}", json={"name": "Mine now"}, headers=member.headers)
        assert response.status_code == 403, response.text
        assert error_code(response) == "FORBIDDEN"
    again = await client.get(f"{ORGS}/{owner.org_id}", headers=owner.headers)
    assert again.json()["name"] == "Test User's workspace"


async def test_create_org_with_invalid_name_is_422(client: httpx.AsyncClient) -> None:
    account = await register(client)

    for body in ({"name": ""}, {}, {"name": "x" * 201}, {"name": None}):
        response = await client.post(ORGS, json=body, headers=account.headers)
        assert response.status_code == 422, f"{body}: {response.text}"
        assert error_code(response) == "VALIDATION_ERROR"
    listed = (await client.get(ORGS, headers=account.headers)).json()["items"]
    assert [UUID(item["id"]) for item in listed] == [account.org_id]


async def test_rename_validation(client: httpx.AsyncClient) -> None:
    account = await register(client, name="Ada")

    empty = await client.patch(f"{ORGS}/{account.org_id}", json={"name": ""}, headers=account.headers)
    too_long = await client.patch(f"{ORGS}/{account.org_id}", json={"name": "x" * 201}, headers=account.headers)
    no_name = await client.patch(f"{ORGS}/{account.org_id}", json={}, headers=account.headers)

    for response in (empty, too_long):
        assert response.status_code == 422, response.text
        assert error_code(response) == "VALIDATION_ERROR"
    assert no_name.status_code == 200, no_name.text
    assert no_name.json()["name"] == "Ada's workspace"
    again = await client.get(f"{ORGS}/{account.org_id}", headers=account.headers)
    assert again.json()["name"] == "Ada's workspace"


async def test_api_key_sees_only_its_own_org(client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "editor")
    key = await create_api_key(client, member)
    key_headers = {"X-API-Key": key["secret"]}

    response = await client.get(ORGS, headers=key_headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [UUID(item["id"]) for item in body["items"]] == [member.org_id]
    assert body["items"][0]["role"] is None
    assert body["next_cursor"] is None
    # The creator's other organization is out of the key's reach.
    other = await client.get(f"{ORGS}/{owner.org_id}", headers=key_headers)
    assert other.status_code == 404, other.text
    assert error_code(other) == "ORG_NOT_FOUND"


async def test_api_key_cannot_create_orgs(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account, scopes=["admin", "documents:read"])

    response = await client.post(ORGS, json={"name": "Shadow"}, headers={"X-API-Key": key["secret"]})

    assert response.status_code == 403, response.text
    assert error_code(response) == "FORBIDDEN"
    listed = (await client.get(ORGS, headers=account.headers)).json()["items"]
    assert [UUID(item["id"]) for item in listed] == [account.org_id]


# Members


async def test_list_members(client: httpx.AsyncClient) -> None:
    owner, [editor, viewer] = await org_with(client, "editor", "viewer")

    response = await client.get(members_path(owner.org_id), headers=viewer.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    by_id = {UUID(item["user_id"]): item for item in body["items"]}
    assert set(by_id) == {owner.user_id, editor.user_id, viewer.user_id}
    assert by_id[owner.user_id]["role"] == "owner"
    assert by_id[owner.user_id]["email"] == owner.email
    assert by_id[owner.user_id]["name"] == "Test User"
    assert by_id[editor.user_id]["role"] == "editor"
    assert by_id[viewer.user_id]["role"] == "viewer"
    assert all(item["joined_at"] for item in body["items"])


async def test_adding_a_member_invites_them_and_adds_no_one(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    newcomer = await register(client, name="Grace")

    response = await client.post(
        members_path(owner.org_id), json={"email": newcomer.email, "role": "editor"}, headers=owner.headers
    )

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["email"] == newcomer.email
    assert body["role"] == "editor"
    assert body["status"] == "pending"
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}
    unseen = await client.get(f"{ORGS}/{owner.org_id}", headers=newcomer.headers)
    assert unseen.status_code == 404, unseen.text
    accepted = await accept(client, newcomer, body["id"])
    assert accepted.status_code == 200, accepted.text
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner", newcomer.user_id: "editor"}


async def test_add_member_with_invalid_body_is_422(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    other = await register(client)

    for body in (
        {"email": "not-an-email", "role": "editor"},
        {"email": other.email, "role": "god"},
        {"role": "viewer"},
    ):
        response = await client.post(members_path(owner.org_id), json=body, headers=owner.headers)
        assert response.status_code == 422, f"{body}: {response.text}"
        assert error_code(response) == "VALIDATION_ERROR"
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}


async def test_add_existing_member_is_409(client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "viewer")

    again = await client.post(
        members_path(owner.org_id), json={"email": member.email, "role": "admin"}, headers=owner.headers
    )
    self_add = await client.post(
        members_path(owner.org_id), json={"email": owner.email, "role": "viewer"}, headers=owner.headers
    )

    assert again.status_code == 409, again.text
    assert error_code(again) == "ALREADY_MEMBER"
    assert self_add.status_code == 409, self_add.text
    assert error_code(self_add) == "ALREADY_MEMBER"
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner", member.user_id: "viewer"}


async def test_change_member_role(client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "viewer")

    response = await client.patch(
        member_path(owner.org_id, member.user_id), json={"role": "admin"}, headers=owner.headers
    )

    assert response.status_code == 200, response.text
    assert UUID(response.json()["user_id"]) == member.user_id
    assert response.json()["role"] == "admin"
    me = await client.get(ME, headers=member.in_org(owner.org_id))
    assert me.json()["role"] == "admin"
    assert "admin" in me.json()["scopes"]


async def test_change_role_of_non_member_is_404(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    stranger = await register(client)

    patched = await client.patch(
        member_path(owner.org_id, stranger.user_id), json={"role": "admin"}, headers=owner.headers
    )
    deleted = await client.delete(member_path(owner.org_id, stranger.user_id), headers=owner.headers)

    assert patched.status_code == 404, patched.text
    assert error_code(patched) == "MEMBER_NOT_FOUND"
    assert deleted.status_code == 404, deleted.text
    assert error_code(deleted) == "MEMBER_NOT_FOUND"
    assert await member_roles(client, stranger, stranger.org_id) == {stranger.user_id: "owner"}


async def test_remove_member_revokes_access_to_the_org(client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "editor")
    assert (await client.get(ME, headers=member.in_org(owner.org_id))).status_code == 200

    response = await client.delete(member_path(owner.org_id, member.user_id), headers=owner.headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}
    denied = await client.get(ME, headers=member.in_org(owner.org_id))
    assert denied.status_code == 403, denied.text
    assert error_code(denied) == "ORG_ACCESS_DENIED"
    gone = await client.get(f"{ORGS}/{owner.org_id}", headers=member.headers)
    assert gone.status_code == 404, gone.text
    assert error_code(gone) == "ORG_NOT_FOUND"
    listed = (await client.get(ORGS, headers=member.headers)).json()["items"]
    assert [UUID(item["id"]) for item in listed] == [member.org_id]


# Role rules


async def test_editors_and_viewers_cannot_manage_members(client: httpx.AsyncClient) -> None:
    owner, [editor, viewer, other] = await org_with(client, "editor", "viewer", "viewer")
    newcomer = await register(client)
    before = await member_roles(client, owner, owner.org_id)

    for actor in (editor, viewer):
        added = await client.post(
            members_path(owner.org_id), json={"email": newcomer.email, "role": "viewer"}, headers=actor.headers
        )
        changed = await client.patch(
            member_path(owner.org_id, other.user_id), json={"role": "editor"}, headers=actor.headers
        )
        promoted = await client.patch(
            member_path(owner.org_id, actor.user_id), json={"role": "admin"}, headers=actor.headers
        )
        removed = await client.delete(member_path(owner.org_id, other.user_id), headers=actor.headers)
        for response in (added, changed, promoted, removed):
            assert response.status_code == 403, response.text
            assert error_code(response) == "FORBIDDEN"
    assert await member_roles(client, owner, owner.org_id) == before


async def test_admins_manage_non_owner_members(client: httpx.AsyncClient) -> None:
    owner, [admin, target] = await org_with(client, "admin", "viewer")
    roles = ("admin", "editor", "viewer")
    newcomers = [await register(client) for _ in roles]

    for newcomer, role in zip(newcomers, roles, strict=True):
        invitation = await invite(client, admin, newcomer.email, role, org_id=owner.org_id)
        assert invitation["role"] == role
        assert (await accept(client, newcomer, invitation["id"])).status_code == 200
    for role in ("admin", "editor", "viewer"):
        changed = await client.patch(
            member_path(owner.org_id, target.user_id), json={"role": role}, headers=admin.headers
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["role"] == role
    removed = await client.delete(member_path(owner.org_id, target.user_id), headers=admin.headers)

    assert removed.status_code == 204, removed.text
    assert await member_roles(client, owner, owner.org_id) == {
        owner.user_id: "owner",
        admin.user_id: "admin",
        **{newcomer.user_id: role for newcomer, role in zip(newcomers, roles, strict=True)},
    }


async def test_admin_cannot_grant_the_owner_role(client: httpx.AsyncClient) -> None:
    owner, [admin, editor] = await org_with(client, "admin", "editor")
    newcomer = await register(client)
    before = await member_roles(client, owner, owner.org_id)

    added = await client.post(
        members_path(owner.org_id), json={"email": newcomer.email, "role": "owner"}, headers=admin.headers
    )
    promoted = await client.patch(
        member_path(owner.org_id, editor.user_id), json={"role": "owner"}, headers=admin.headers
    )
    promoted_self = await client.patch(
        member_path(owner.org_id, admin.user_id), json={"role": "owner"}, headers=admin.headers
    )

    for response in (added, promoted, promoted_self):
        assert response.status_code == 403, response.text
        assert error_code(response) == "FORBIDDEN"
    assert await member_roles(client, owner, owner.org_id) == before


async def test_admin_cannot_change_or_remove_an_owner(client: httpx.AsyncClient) -> None:
    owner, [admin, second_owner] = await org_with(client, "admin", "owner")
    before = await member_roles(client, owner, owner.org_id)

    demoted = await client.patch(
        member_path(owner.org_id, owner.user_id), json={"role": "viewer"}, headers=admin.headers
    )
    removed = await client.delete(member_path(owner.org_id, second_owner.user_id), headers=admin.headers)

    for response in (demoted, removed):
        assert response.status_code == 403, response.text
        assert error_code(response) == "FORBIDDEN"
    assert await member_roles(client, owner, owner.org_id) == before


async def test_owner_grants_the_owner_role(client: httpx.AsyncClient) -> None:
    owner, [admin] = await org_with(client, "admin")
    newcomer = await register(client)

    invitation = await invite(client, owner, newcomer.email, "owner")
    added = await accept(client, newcomer, invitation["id"])
    promoted = await client.patch(
        member_path(owner.org_id, admin.user_id), json={"role": "owner"}, headers=owner.headers
    )

    assert added.status_code == 200, added.text
    assert added.json()["role"] == "owner"
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "owner"
    assert await member_roles(client, owner, owner.org_id) == {
        owner.user_id: "owner",
        admin.user_id: "owner",
        newcomer.user_id: "owner",
    }


async def test_last_owner_cannot_be_demoted_or_removed(client: httpx.AsyncClient) -> None:
    owner, [admin] = await org_with(client, "admin")

    demoted = await client.patch(
        member_path(owner.org_id, owner.user_id), json={"role": "admin"}, headers=owner.headers
    )
    left = await client.delete(member_path(owner.org_id, owner.user_id), headers=owner.headers)

    for response in (demoted, left):
        assert response.status_code == 409, response.text
        assert error_code(response) == "LAST_OWNER"
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner", admin.user_id: "admin"}
    # Keeping the owner role is not a demotion.
    kept = await client.patch(member_path(owner.org_id, owner.user_id), json={"role": "owner"}, headers=owner.headers)
    assert kept.status_code == 200, kept.text


async def test_one_of_two_owners_can_be_demoted_but_not_the_last(client: httpx.AsyncClient) -> None:
    owner, [second] = await org_with(client, "owner")

    demoted = await client.patch(
        member_path(owner.org_id, owner.user_id), json={"role": "editor"}, headers=second.headers
    )

    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["role"] == "editor"
    assert await member_roles(client, second, owner.org_id) == {owner.user_id: "editor", second.user_id: "owner"}
    last = await client.patch(
        member_path(owner.org_id, second.user_id), json={"role": "editor"}, headers=second.headers
    )
    assert last.status_code == 409, last.text
    assert error_code(last) == "LAST_OWNER"


async def test_owner_removes_another_owner(client: httpx.AsyncClient) -> None:
    owner, [second] = await org_with(client, "owner")

    removed = await client.delete(member_path(owner.org_id, second.user_id), headers=owner.headers)

    assert removed.status_code == 204, removed.text
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}


async def test_any_member_can_leave(client: httpx.AsyncClient) -> None:
    owner, members = await org_with(client, "admin", "editor", "viewer")

    for member in members:
        response = await client.delete(member_path(owner.org_id, member.user_id), headers=member.headers)
        assert response.status_code == 204, response.text
        denied = await client.get(ME, headers=member.in_org(owner.org_id))
        assert denied.status_code == 403, denied.text
        assert error_code(denied) == "ORG_ACCESS_DENIED"
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}


async def test_an_owner_can_leave_when_another_owner_remains(client: httpx.AsyncClient) -> None:
    owner, [second] = await org_with(client, "owner")

    response = await client.delete(member_path(owner.org_id, second.user_id), headers=second.headers)

    assert response.status_code == 204, response.text
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}


async def test_read_only_api_key_cannot_remove_its_creator(client: httpx.AsyncClient) -> None:
    """A key acts with its scopes only: without `admin` it manages no memberships, not even its creator's."""
    owner, [member] = await org_with(client, "editor")
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "reader", "scopes": ["documents:read"]},
        headers=member.in_org(owner.org_id),
    )
    assert created.status_code == 201, created.text
    before = await member_roles(client, owner, owner.org_id)

    response = await client.delete(
        member_path(owner.org_id, member.user_id), headers={"X-API-Key": created.json()["secret"]}
    )

    assert response.status_code == 403, response.text
    assert error_code(response) == "FORBIDDEN"
    assert await member_roles(client, owner, owner.org_id) == before


# Active organization


async def test_x_org_id_selects_the_active_org(client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "viewer")

    default = await client.get(ME, headers=member.headers)
    chosen = await client.get(ME, headers=member.in_org(owner.org_id))
    personal = await client.get(ME, headers=member.in_org(member.org_id))

    assert default.status_code == 200, default.text
    assert UUID(default.json()["org"]["id"]) == member.org_id
    assert default.json()["role"] == "owner"
    assert chosen.status_code == 200, chosen.text
    assert UUID(chosen.json()["org"]["id"]) == owner.org_id
    assert chosen.json()["role"] == "viewer"
    assert "admin" not in chosen.json()["scopes"]
    assert UUID(personal.json()["org"]["id"]) == member.org_id
    assert personal.json()["role"] == "owner"


async def test_x_org_id_of_a_foreign_org_is_denied(client: httpx.AsyncClient) -> None:
    alice = await register(client)
    bob = await register(client)

    me = await client.get(ME, headers=alice.in_org(bob.org_id))
    listing = await client.get(ORGS, headers=alice.in_org(bob.org_id))

    for response in (me, listing):
        assert response.status_code == 403, response.text
        assert error_code(response) == "ORG_ACCESS_DENIED"


async def test_x_org_id_of_an_unknown_org_is_denied(client: httpx.AsyncClient) -> None:
    alice = await register(client)

    response = await client.get(ME, headers=alice.in_org(UUID("00000000-0000-7000-8000-000000000000")))

    assert response.status_code == 403, response.text
    assert error_code(response) == "ORG_ACCESS_DENIED"


async def test_malformed_x_org_id_is_422(client: httpx.AsyncClient) -> None:
    alice = await register(client)

    for value in ("not-a-uuid", "123", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"):
        response = await client.get(ME, headers={**alice.headers, "X-Org-Id": value})
        assert response.status_code == 422, f"{value}: {response.text}"
        assert error_code(response) == "VALIDATION_ERROR"


async def test_path_org_decides_without_the_header(client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "editor")

    got = await client.get(f"{ORGS}/{owner.org_id}", headers=member.headers)
    members = await client.get(members_path(owner.org_id), headers=member.in_org(member.org_id))
    # Owner of their personal org but an editor here: the role of the path org applies.
    renamed = await client.patch(f"{ORGS}/{owner.org_id}", json={"name": "Mine"}, headers=member.headers)

    assert got.status_code == 200, got.text
    assert UUID(got.json()["id"]) == owner.org_id
    assert got.json()["role"] == "editor"
    assert members.status_code == 200, members.text
    assert {UUID(item["user_id"]) for item in members.json()["items"]} == {owner.user_id, member.user_id}
    assert renamed.status_code == 403, renamed.text
    assert error_code(renamed) == "FORBIDDEN"


async def test_path_org_decides_over_the_header_role(client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "viewer")

    # Acting as a viewer of the owner's org, the member still renames their own org, which they own.
    response = await client.patch(
        f"{ORGS}/{member.org_id}", json={"name": "Still mine"}, headers=member.in_org(owner.org_id)
    )

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "owner"
    assert response.json()["name"] == "Still mine"


# Pagination


async def test_members_pages_walk_every_member_once(client: httpx.AsyncClient) -> None:
    owner, members = await org_with(client, "editor", "viewer")
    expected = {str(owner.user_id), *(str(member.user_id) for member in members)}

    seen = await walk(client, members_path(owner.org_id), owner.headers, "user_id")

    assert len(seen) == len(expected) == 3
    assert set(seen) == expected


async def test_orgs_pages_walk_every_org_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = []
    for name in ("One", "Two", "Three"):
        response = await client.post(ORGS, json={"name": name}, headers=account.headers)
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    expected = {str(account.org_id), *created}

    seen = await walk(client, ORGS, account.headers, "id")

    assert len(seen) == len(expected) == 4
    assert set(seen) == expected


async def test_garbage_cursor_is_422(client: httpx.AsyncClient) -> None:
    account = await register(client)

    for cursor in ("garbage", "not a cursor!", "AAAA", "%%%%"):
        orgs = await client.get(ORGS, params={"cursor": cursor}, headers=account.headers)
        members = await client.get(members_path(account.org_id), params={"cursor": cursor}, headers=account.headers)
        for response in (orgs, members):
            assert response.status_code == 422, f"{cursor}: {response.text}"
            assert error_code(response) == "INVALID_CURSOR"


async def test_out_of_range_limit_is_422(client: httpx.AsyncClient) -> None:
    account = await register(client)

    for limit in ("0", "101", "-1", "ten"):
        orgs = await client.get(ORGS, params={"limit": limit}, headers=account.headers)
        members = await client.get(members_path(account.org_id), params={"limit": limit}, headers=account.headers)
        for response in (orgs, members):
            assert response.status_code == 422, f"{limit}: {response.text}"
            assert error_code(response) == "VALIDATION_ERROR"
    for limit in ("1", "100"):
        response = await client.get(members_path(account.org_id), params={"limit": limit}, headers=account.headers)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 1
