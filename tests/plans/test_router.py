"""GET /api/v1/plan: the plan, its limits and the organization's own usage against each, for admins."""

from __future__ import annotations

import httpx

from folio.models import UsageEvent
from tests.factories import add_member, error_of, register
from tests.orgs.membership import invite
from tests.plans.conftest import PLAN, Enforcing, owner, spent


async def upload(client: httpx.AsyncClient, headers: dict[str, str], name: str, content: bytes) -> None:
    response = await client.post("/api/v1/documents", files={"files": (name, content, "text/plain")}, headers=headers)
    assert response.status_code == 202, response.text


async def test_admins_see_each_limit_and_their_organizations_usage(enforcing: Enforcing) -> None:
    client = enforcing.client
    account = await owner(enforcing)
    await upload(client, account.headers, "notes.txt", b"eleven byte")
    await invite(client, account, "pending@example.com", "viewer")
    await spent(enforcing, account.org_id, 30)
    async with enforcing.session() as session, session.begin():
        session.add(
            UsageEvent(org_id=account.org_id, kind="embedding", model="m", prompt_tokens=500, completion_tokens=0)
        )
    # Another organization's documents, members and tokens are its own.
    other = await owner(enforcing, "unlimited")
    await upload(client, other.headers, "other.txt", b"someone else's file")
    await add_member(client, other, await register(client), "viewer")
    await spent(enforcing, other.org_id, 70)

    response = await client.get(PLAN, headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "plan": "free",
        "enforced": True,
        "documents": {"allowed": 3, "used": 1, "remaining": 2},
        "storage_bytes": {"allowed": 10_000, "used": 11, "remaining": 9_989},
        "monthly_tokens": {"allowed": 100, "used": 30, "remaining": 70},
        "members": {"allowed": 2, "used": 2, "remaining": 0},
        "integrations": {"allowed": 1, "used": 0, "remaining": 1},
    }
    theirs = (await client.get(PLAN, headers=other.headers)).json()
    assert theirs["plan"] == "unlimited"
    assert theirs["documents"] == {"allowed": None, "used": 1, "remaining": None}
    assert theirs["members"]["used"] == 2
    assert theirs["monthly_tokens"]["used"] == 70


async def test_members_who_are_not_admins_are_refused(enforcing: Enforcing) -> None:
    account = await owner(enforcing, "unlimited")
    member = await register(enforcing.client)
    await add_member(enforcing.client, account, member, "viewer")
    response = await enforcing.client.get(PLAN, headers=member.in_org(account.org_id))
    error_of(response, 403, "FORBIDDEN")
