"""Invitations: nobody joins an organization without accepting, and inviting tells nothing about accounts."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from folio.orgs.service import MAX_PENDING_INVITATIONS
from tests.conftest import AppFactory
from tests.factories import Account, create_api_key, error_of, register
from tests.orgs.membership import INVITATIONS, accept, invitations_path, invite

ORGS = "/api/v1/orgs"


async def member_roles(client: httpx.AsyncClient, account: Account, org_id: UUID) -> dict[UUID, str]:
    response = await client.get(f"{ORGS}/{org_id}/members", params={"limit": 100}, headers=account.in_org(org_id))
    assert response.status_code == 200, response.text
    return {UUID(item["user_id"]): item["role"] for item in response.json()["items"]}


async def my_invitations(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get(INVITATIONS, params={"limit": 100}, headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def pending(client: httpx.AsyncClient, admin: Account, org_id: UUID) -> list[dict[str, Any]]:
    response = await client.get(invitations_path(org_id), params={"limit": 100}, headers=admin.in_org(org_id))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# Consent and enumeration


async def test_inviting_answers_alike_for_an_account_and_an_unknown_address(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    existing = await register(client)

    answers = [
        await client.post(
            invitations_path(owner.org_id), json={"email": email, "role": "viewer"}, headers=owner.headers
        )
        for email in (existing.email, "nobody-yet@example.com")
    ]

    assert [answer.status_code for answer in answers] == [202, 202]
    known, unknown = (answer.json() for answer in answers)
    assert set(known) == set(unknown)
    differing = {field for field in known if known[field] != unknown[field]}
    assert differing <= {"id", "email", "created_at", "expires_at"}
    assert known["status"] == unknown["status"] == "pending"
    assert set(answers[0].headers) == set(answers[1].headers)
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}


async def test_the_invitee_sees_accepts_and_joins_with_the_offered_role(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    org = (await client.post(ORGS, json={"name": "Acme Legal"}, headers=owner.headers)).json()
    org_id = UUID(org["id"])
    invitee = await register(client)
    invitation = await invite(client, owner, invitee.email, "editor", org_id=org_id)

    [listed] = await my_invitations(client, invitee)
    assert listed["id"] == invitation["id"]
    assert listed["org"] == {"id": str(org_id), "name": "Acme Legal"}
    assert listed["role"] == "editor"
    accepted = await accept(client, invitee, invitation["id"])

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["id"] == str(org_id)
    assert accepted.json()["role"] == "editor"
    assert await member_roles(client, owner, org_id) == {owner.user_id: "owner", invitee.user_id: "editor"}
    assert await my_invitations(client, invitee) == []
    assert await pending(client, owner, org_id) == []
    again = await accept(client, invitee, invitation["id"])
    error_of(again, 404, "INVITATION_NOT_FOUND")


async def test_an_address_invited_before_it_registers_is_claimed_by_its_account(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    invitation = await invite(client, owner, "Later.Comer@Example.com", "viewer")
    assert invitation["email"] == "later.comer@example.com"

    newcomer = await register(client, email="later.comer@example.com")
    [listed] = await my_invitations(client, newcomer)
    assert (await accept(client, newcomer, listed["id"])).status_code == 200

    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner", newcomer.user_id: "viewer"}


async def test_declining_leaves_the_user_out(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    invitee = await register(client)
    invitation = await invite(client, owner, invitee.email, "admin")

    declined = await client.post(f"{INVITATIONS}/{invitation['id']}/decline", headers=invitee.headers)

    assert declined.status_code == 204, declined.text
    assert await my_invitations(client, invitee) == []
    assert await pending(client, owner, owner.org_id) == []
    error_of(await accept(client, invitee, invitation["id"]), 404, "INVITATION_NOT_FOUND")
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}


async def test_only_the_invited_address_may_answer(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    invitee = await register(client)
    stranger = await register(client)
    invitation = await invite(client, owner, invitee.email, "editor")
    key = await create_api_key(client, invitee)

    assert await my_invitations(client, stranger) == []
    error_of(await accept(client, stranger, invitation["id"]), 404, "INVITATION_NOT_FOUND")
    declined = await client.post(f"{INVITATIONS}/{invitation['id']}/decline", headers=stranger.headers)
    error_of(declined, 404, "INVITATION_NOT_FOUND")
    for response in (
        await client.get(INVITATIONS, headers={"X-API-Key": key["secret"]}),
        await client.post(f"{INVITATIONS}/{invitation['id']}/accept", headers={"X-API-Key": key["secret"]}),
    ):
        error_of(response, 403, "FORBIDDEN")
    error_of(await accept(client, invitee, str(uuid4())), 404, "INVITATION_NOT_FOUND")
    assert await member_roles(client, owner, owner.org_id) == {owner.user_id: "owner"}
    assert [item["id"] for item in await my_invitations(client, invitee)] == [invitation["id"]]


async def test_an_expired_invitation_cannot_be_accepted(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await register(client)
    invitee = await register(client)
    invitation = await invite(client, owner, invitee.email, "viewer")
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": invitation["id"]},
        )

    error_of(await accept(client, invitee, invitation["id"]), 404, "INVITATION_NOT_FOUND")
    assert await my_invitations(client, invitee) == []
    assert await pending(client, owner, owner.org_id) == []
    renewed = await invite(client, owner, invitee.email, "viewer")
    assert renewed["id"] == invitation["id"]
    assert (await accept(client, invitee, renewed["id"])).status_code == 200


# The inviting side


async def test_inviting_again_refreshes_the_pending_invitation(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    invitee = await register(client)
    first = await invite(client, owner, invitee.email, "viewer")

    second = await invite(client, owner, invitee.email.upper(), "editor")

    assert second["id"] == first["id"]
    assert second["role"] == "editor"
    assert second["expires_at"] >= first["expires_at"]
    assert [item["id"] for item in await pending(client, owner, owner.org_id)] == [first["id"]]
    [listed] = await my_invitations(client, invitee)
    assert listed["role"] == "editor"


async def test_revoked_invitations_cannot_be_accepted(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    invitee = await register(client)
    invitation = await invite(client, owner, invitee.email, "editor")

    revoked = await client.delete(f"{invitations_path(owner.org_id)}/{invitation['id']}", headers=owner.headers)

    assert revoked.status_code == 204, revoked.text
    assert await pending(client, owner, owner.org_id) == []
    assert await my_invitations(client, invitee) == []
    error_of(await accept(client, invitee, invitation["id"]), 404, "INVITATION_NOT_FOUND")
    twice = await client.delete(f"{invitations_path(owner.org_id)}/{invitation['id']}", headers=owner.headers)
    error_of(twice, 404, "INVITATION_NOT_FOUND")


async def test_role_rules_hold_for_invitations(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    admin, editor = await register(client), await register(client)
    for member, role in ((admin, "admin"), (editor, "editor")):
        assert (
            await accept(client, member, (await invite(client, owner, member.email, role))["id"])
        ).status_code == 200
    owner_invitation = await invite(client, owner, "future-owner@example.com", "owner")
    path = invitations_path(owner.org_id)

    as_editor = editor.in_org(owner.org_id)
    as_admin = admin.in_org(owner.org_id)
    for response in (
        await client.post(path, json={"email": "x@example.com", "role": "viewer"}, headers=as_editor),
        await client.get(path, headers=as_editor),
        await client.delete(f"{path}/{owner_invitation['id']}", headers=as_editor),
        await client.post(path, json={"email": "y@example.com", "role": "owner"}, headers=as_admin),
        await client.delete(f"{path}/{owner_invitation['id']}", headers=as_admin),
        # Nor may an admin turn an owner's invitation into one of their own.
        await client.post(path, json={"email": "future-owner@example.com", "role": "viewer"}, headers=as_admin),
    ):
        error_of(response, 403, "FORBIDDEN")
    assert [item["role"] for item in await pending(client, owner, owner.org_id)] == ["owner"]
    by_admin = await invite(client, admin, "z@example.com", "admin", org_id=owner.org_id)
    assert UUID(by_admin["invited_by"]) == admin.user_id


async def test_another_orgs_invitations_are_out_of_reach(client: httpx.AsyncClient) -> None:
    a_owner, b_owner = await register(client), await register(client)
    invitation = await invite(client, a_owner, "target@example.com", "viewer")

    for response in (
        await client.get(invitations_path(a_owner.org_id), headers=b_owner.headers),
        await client.post(
            invitations_path(a_owner.org_id), json={"email": b_owner.email, "role": "owner"}, headers=b_owner.headers
        ),
        await client.delete(f"{invitations_path(a_owner.org_id)}/{invitation['id']}", headers=b_owner.headers),
    ):
        error_of(response, 404, "ORG_NOT_FOUND")
    through_own = await client.delete(f"{invitations_path(b_owner.org_id)}/{invitation['id']}", headers=b_owner.headers)
    error_of(through_own, 404, "INVITATION_NOT_FOUND")
    assert [item["id"] for item in await pending(client, a_owner, a_owner.org_id)] == [invitation["id"]]


async def test_a_removed_members_pending_invitations_are_revoked(client: httpx.AsyncClient) -> None:
    owner, admin = await register(client), await register(client)
    assert (await accept(client, admin, (await invite(client, owner, admin.email, "admin"))["id"])).status_code == 200
    accomplice = await register(client)
    await invite(client, admin, accomplice.email, "admin", org_id=owner.org_id)

    removed = await client.delete(f"{ORGS}/{owner.org_id}/members/{admin.user_id}", headers=owner.headers)

    assert removed.status_code == 204, removed.text
    assert await my_invitations(client, accomplice) == []
    assert await pending(client, owner, owner.org_id) == []


# Bounds


async def test_pending_invitations_per_org_are_capped(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await register(client)
    first = await invite(client, owner, "first@example.com", "viewer")
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO invitations (id, org_id, email, role, status, expires_at) "
                "SELECT gen_random_uuid(), :org, 'bulk' || n || '@example.com', 'viewer', 'pending', "
                "now() + interval '1 day' FROM generate_series(2, :count) AS n"
            ),
            {"org": owner.org_id, "count": MAX_PENDING_INVITATIONS},
        )

    refused = await client.post(
        invitations_path(owner.org_id), json={"email": "one-more@example.com", "role": "viewer"}, headers=owner.headers
    )

    error = error_of(refused, 409, "TOO_MANY_INVITATIONS")
    assert error["details"] == {"limit": MAX_PENDING_INVITATIONS}
    # Refreshing one already pending adds none, and revoking one makes room.
    assert (await invite(client, owner, "first@example.com", "editor"))["id"] == first["id"]
    revoked = await client.delete(f"{invitations_path(owner.org_id)}/{first['id']}", headers=owner.headers)
    assert revoked.status_code == 204, revoked.text
    await invite(client, owner, "one-more@example.com", "viewer")


async def test_invitation_addresses_are_bounded(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    too_long = "a" * 60 + "@" + ".".join(["b" * 60] * 3) + ".example.com"
    assert len(too_long) > 254

    for body in (
        {"email": too_long, "role": "viewer"},
        {"email": "not-an-address", "role": "viewer"},
        {"email": "nul\x00@example.com", "role": "viewer"},
    ):
        response = await client.post(invitations_path(owner.org_id), json=body, headers=owner.headers)
        error_of(response, 422, "VALIDATION_ERROR")
    assert await pending(client, owner, owner.org_id) == []


async def test_inviting_counts_against_the_strict_per_address_limit(app_factory: AppFactory) -> None:
    async with app_factory(rate_limit={"enabled": True, "auth": "3/hour"}) as limited:
        owner = await register(limited)  # the first of the address's three
        for path in (invitations_path(owner.org_id), f"{ORGS}/{owner.org_id}/members"):
            response = await limited.post(
                path, json={"email": f"{uuid4()}@example.com", "role": "viewer"}, headers=owner.headers
            )
            assert response.status_code == 202, response.text

        refused = await limited.post(
            invitations_path(owner.org_id),
            json={"email": "fourth@example.com", "role": "viewer"},
            headers=owner.headers,
        )

        error_of(refused, 429, "RATE_LIMIT_EXCEEDED")
        assert refused.headers["X-RateLimit-Limit"] == "3"


# Pagination


async def test_invitation_pages_walk_every_invitation_once(client: httpx.AsyncClient) -> None:
    invitee = await register(client)
    owners = [await register(client) for _ in range(3)]
    sent = {(await invite(client, owner, invitee.email, "viewer"))["id"] for owner in owners}
    for number in range(2):
        sent_by_first = await invite(client, owners[0], f"other{number}@example.com", "viewer")
        assert sent_by_first["id"] not in sent

    for path, headers, expected in (
        (INVITATIONS, invitee.headers, sent),
        (invitations_path(owners[0].org_id), owners[0].headers, None),
    ):
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            response = await client.get(path, params=params, headers=headers)
            assert response.status_code == 200, response.text
            seen += [item["id"] for item in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 3
        if expected is not None:
            assert set(seen) == expected
