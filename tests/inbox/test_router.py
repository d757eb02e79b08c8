"""The inbox API: a member's own notifications only, newest first in cursor pages, read state, deletion and
preferences; API keys and other members' ids refused."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from folio.inbox.service import NotificationKind
from tests.factories import Account, add_member, create_api_key, error_of, register
from tests.inbox.helpers import INBOX, inbox, notify_now


async def unread(client: httpx.AsyncClient, account: Account) -> int:
    response = await client.get(f"{INBOX}/unread-count", headers=account.headers)
    assert response.status_code == 200, response.text
    count: int = response.json()["unread"]
    return count


async def filled(app: FastAPI, client: httpx.AsyncClient, count: int) -> tuple[Account, list[str]]:
    """A member with `count` notifications (titles "n0", "n1"…), and their ids newest first."""
    account = await register(client)
    for number in range(count):
        kind = NotificationKind.SHARE if number % 2 else NotificationKind.MENTION
        await notify_now(app, account.org_id, [account.user_id], kind=kind, title=f"n{number}")
    return account, [item["id"] for item in await inbox(client, account.headers, limit=100)]


async def test_read_unread_and_the_unread_count(app: FastAPI, client: httpx.AsyncClient) -> None:
    account, [newest, middle, oldest] = await filled(app, client, 3)
    assert await unread(client, account) == 3

    read = await client.post(f"{INBOX}/{middle}/read", headers=account.headers)
    assert read.status_code == 200, read.text
    assert read.json()["id"] == middle
    first_read_at = read.json()["read_at"]
    assert first_read_at is not None
    again = await client.post(f"{INBOX}/{middle}/read", headers=account.headers)
    assert again.json()["read_at"] == first_read_at  # the first reading is kept
    assert await unread(client, account) == 2
    assert [item["id"] for item in await inbox(client, account.headers, unread="true")] == [newest, oldest]

    back = await client.post(f"{INBOX}/{middle}/unread", headers=account.headers)
    assert back.status_code == 200, back.text
    assert back.json()["read_at"] is None
    assert await unread(client, account) == 3


async def test_read_all_marks_only_up_to_what_the_client_has_seen(app: FastAPI, client: httpx.AsyncClient) -> None:
    account, [newest, middle, oldest] = await filled(app, client, 3)

    response = await client.post(f"{INBOX}/read-all", params={"up_to": middle}, headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"marked": 2}
    assert [item["id"] for item in await inbox(client, account.headers, unread="true")] == [newest]

    everything = await client.post(f"{INBOX}/read-all", headers=account.headers)
    assert everything.json() == {"marked": 1}
    assert await unread(client, account) == 0
    assert oldest in [item["id"] for item in await inbox(client, account.headers)]


async def test_a_deleted_notification_is_gone(app: FastAPI, client: httpx.AsyncClient) -> None:
    account, [newest, oldest] = await filled(app, client, 2)

    response = await client.delete(f"{INBOX}/{oldest}", headers=account.headers)
    assert response.status_code == 204, response.text
    assert [item["id"] for item in await inbox(client, account.headers)] == [newest]
    again = await client.delete(f"{INBOX}/{oldest}", headers=account.headers)
    error_of(again, 404, "NOTIFICATION_NOT_FOUND")
    error_of(await client.post(f"{INBOX}/{oldest}/read", headers=account.headers), 404, "NOTIFICATION_NOT_FOUND")


async def test_pages_are_newest_first_never_skipping_or_repeating(app: FastAPI, client: httpx.AsyncClient) -> None:
    account, ids = await filled(app, client, 7)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(INBOX, params=params, headers=account.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    titles = [item["title"] for item in await inbox(client, account.headers)]
    assert titles == [f"n{number}" for number in reversed(range(7))]

    shares = await inbox(client, account.headers, kind="share")
    assert [item["title"] for item in shares] == ["n5", "n3", "n1"]
    error_of(await client.get(INBOX, params={"kind": "gossip"}, headers=account.headers), 422, "VALIDATION_ERROR")
    error_of(await client.get(INBOX, params={"cursor": "x" * 22}, headers=account.headers), 422, "INVALID_CURSOR")


async def test_another_member_s_notifications_are_not_found(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Alice's notifications are hers: Bob, in the same organization, neither sees nor changes them."""
    alice, [hers] = await filled(app, client, 1)
    bob = await register(client)
    await add_member(client, alice, bob, "admin")
    in_alices_org = bob.in_org(alice.org_id)

    assert await inbox(client, in_alices_org) == []
    for method, path in (
        ("POST", f"{INBOX}/{hers}/read"),
        ("POST", f"{INBOX}/{hers}/unread"),
        ("DELETE", f"{INBOX}/{hers}"),
    ):
        response = await client.request(method, path, headers=in_alices_org)
        error_of(response, 404, "NOTIFICATION_NOT_FOUND")
    marked = await client.post(f"{INBOX}/read-all", headers=in_alices_org)
    assert marked.json() == {"marked": 0}
    assert await unread(client, alice) == 1
    assert [item["id"] for item in await inbox(client, alice.headers)] == [hers]


async def test_an_inbox_is_per_organization(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    member = await register(client)
    await add_member(client, owner, member, "viewer")
    await notify_now(app, owner.org_id, [member.user_id], title="in the team")
    await notify_now(app, member.org_id, [member.user_id], title="at home")

    assert [item["title"] for item in await inbox(client, member.headers)] == ["at home"]
    [team] = await inbox(client, member.in_org(owner.org_id))
    assert team["title"] == "in the team"
    # An id of the member's other organization is not found here.
    response = await client.post(f"{INBOX}/{team['id']}/read", headers=member.headers)
    error_of(response, 404, "NOTIFICATION_NOT_FOUND")


async def test_unknown_ids_and_malformed_input(client: httpx.AsyncClient) -> None:
    account = await register(client)
    error_of(await client.post(f"{INBOX}/{uuid4()}/read", headers=account.headers), 404, "NOTIFICATION_NOT_FOUND")
    error_of(await client.post(f"{INBOX}/not-an-id/read", headers=account.headers), 422, "VALIDATION_ERROR")
    error_of(await client.post(f"{INBOX}/%00/read", headers=account.headers), 422, "VALIDATION_ERROR")
    response = await client.post(f"{INBOX}/read-all", params={"up_to": "yesterday"}, headers=account.headers)
    error_of(response, 422, "VALIDATION_ERROR")
    error_of(await client.get(INBOX, params={"limit": 101}, headers=account.headers), 422, "VALIDATION_ERROR")
    error_of(await client.get(INBOX), 401, "AUTH_REQUIRED")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", INBOX),
        ("GET", f"{INBOX}/unread-count"),
        ("POST", f"{INBOX}/read-all"),
        ("GET", f"{INBOX}/preferences"),
        ("POST", f"{INBOX}/00000000-0000-0000-0000-000000000000/read"),
    ],
)
async def test_an_api_key_has_no_inbox(client: httpx.AsyncClient, method: str, path: str) -> None:
    """A key acts for its creator, but is not them: their notifications stay theirs."""
    account = await register(client)
    key = await create_api_key(client, account, scopes=["inbox", "documents:read"])
    response = await client.request(method, path, headers={"X-API-Key": key["secret"]})
    error_of(response, 403, "FORBIDDEN")


async def test_preferences_default_to_the_inbox_and_are_replaced_whole(client: httpx.AsyncClient) -> None:
    account = await register(client)
    everything_in_app = {kind.value: "in_app" for kind in NotificationKind}
    response = await client.get(f"{INBOX}/preferences", headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json() == everything_in_app

    chosen = {"mention": "webhook", "job_failed": "off"}
    response = await client.put(f"{INBOX}/preferences", json=chosen, headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json() == everything_in_app | chosen
    assert (await client.get(f"{INBOX}/preferences", headers=account.headers)).json() == everything_in_app | chosen

    response = await client.put(f"{INBOX}/preferences", json={"share": "off"}, headers=account.headers)
    assert response.json() == everything_in_app | {"share": "off"}


async def test_preferences_are_each_member_s_own(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    member = await register(client)
    await add_member(client, owner, member, "viewer")
    response = await client.put(f"{INBOX}/preferences", json={"alert": "off"}, headers=member.in_org(owner.org_id))
    assert response.status_code == 200, response.text

    assert (await client.get(f"{INBOX}/preferences", headers=owner.headers)).json()["alert"] == "in_app"
    assert (await client.get(f"{INBOX}/preferences", headers=member.headers)).json()["alert"] == "in_app"


@pytest.mark.parametrize(
    "body",
    [{"gossip": "off"}, {"mention": "email"}, {"mention": None}, {"mention": "off\x00"}, [], "off"],
)
async def test_invalid_preferences_are_refused(client: httpx.AsyncClient, body: object) -> None:
    account = await register(client)
    response = await client.put(f"{INBOX}/preferences", json=body, headers=account.headers)
    error_of(response, 422, "VALIDATION_ERROR")
