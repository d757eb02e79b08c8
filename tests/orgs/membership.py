"""Joining an organization as a client does it: an admin invites an address, its account accepts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from tests.factories import Account

INVITATIONS = "/api/v1/invitations"


def invitations_path(org_id: UUID) -> str:
    return f"/api/v1/orgs/{org_id}/invitations"


async def invite(
    client: httpx.AsyncClient, inviter: Account, email: str, role: str, *, org_id: UUID | None = None
) -> dict[str, Any]:
    org_id = org_id or inviter.org_id
    response = await client.post(
        invitations_path(org_id), json={"email": email, "role": role}, headers=inviter.in_org(org_id)
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def accept(client: httpx.AsyncClient, invitee: Account, invitation_id: str) -> httpx.Response:
    return await client.post(f"{INVITATIONS}/{invitation_id}/accept", headers=invitee.headers)


async def add_member(client: httpx.AsyncClient, owner: Account, member: Account, role: str) -> None:
    """`member` joins `owner`'s organization with `role`: invited, then accepted."""
    invitation = await invite(client, owner, member.email, role)
    accepted = await accept(client, member, invitation["id"])
    assert accepted.status_code == 200, accepted.text
