"""A notification reaches its member's live streams (WebSocket and SSE), and nobody else's: not another member of
the organization, not an API key of the member's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from folio.events.schemas import Actor, Subject, SubjectType
from folio.inbox.service import NotificationKind
from tests.events.emitting import commit_records
from tests.events.test_sse import EVENTS, Stream
from tests.events.wsclient import Server, live_socket, serve
from tests.factories import add_member, register
from tests.inbox.helpers import inbox, notify_now


@pytest.fixture(scope="module")
async def server(separate_database_url: str) -> AsyncIterator[Server]:
    async with serve(separate_database_url) as running:
        yield running


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


def notifications(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == "notification.created"]


async def test_a_mention_reaches_the_mentioned_member_s_inbox_and_live_stream(
    server: Server, http: httpx.AsyncClient
) -> None:
    owner = await register(http)
    mentioned, bystander = await register(http), await register(http)
    await add_member(http, owner, mentioned, "editor")
    await add_member(http, owner, bystander, "admin")
    # The mentioned member's own key, in the organization of the mention.
    created = await http.post(
        "/api/v1/api-keys",
        json={"name": "mine", "scopes": ["inbox", "cases:read"]},
        headers=mentioned.in_org(owner.org_id),
    )
    assert created.status_code == 201, created.text
    key = created.json()
    case = Subject(type=SubjectType.CASE, id=owner.user_id)
    org = {"org_id": str(owner.org_id)}

    async with (
        live_socket(server.ws_url, bearer=mentioned.access_token, params=org) as socket,
        live_socket(server.ws_url, bearer=bystander.access_token, params=org) as other,
        live_socket(server.ws_url, headers={"X-API-Key": key["secret"]}) as keyed,
    ):
        for each in (socket, other, keyed):
            await each.subscribe("org")
        await notify_now(
            server.app,
            owner.org_id,
            [mentioned.user_id],
            kind=NotificationKind.MENTION,
            title="Ann mentioned you on C-000001",
            subject=case,
            actor=Actor(type="user", id=owner.user_id),
        )
        # The hub hands events over in id order: once this later event arrives, the notification was offered.
        [marker] = await commit_records(server.app.state.sessionmaker, owner.org_id)
        received = await socket.events_until("case.updated", str(marker))
        elsewhere = await other.events_until("case.updated", str(marker))
        by_key = await keyed.events_until("case.updated", str(marker))

    [event] = notifications(received)
    [item] = await inbox(http, mentioned.in_org(owner.org_id))
    assert event["id"] is not None
    assert event["visibility"] == "recipient"
    assert event["recipient_id"] == str(mentioned.user_id)
    assert event["subject"] == {"type": "notification", "id": item["id"]}
    assert event["actor"] == {"type": "user", "id": str(owner.user_id)}
    assert event["data"]["notification_id"] == item["id"]
    assert event["data"]["kind"] == "mention"
    assert event["data"]["title"] == "Ann mentioned you on C-000001"
    assert event["data"]["about"] == {"type": "case", "id": str(case.id)}
    assert notifications(elsewhere) == []
    assert notifications(by_key) == []


async def test_server_sent_events_carry_notifications_to_their_member_only(
    server: Server, http: httpx.AsyncClient
) -> None:
    owner = await register(http)
    member = await register(http)
    await add_member(http, owner, member, "viewer")
    params = {"types": "notification.created"}

    async with (
        http.stream("GET", EVENTS, params=params, headers=member.in_org(owner.org_id)) as members,
        http.stream("GET", EVENTS, params=params, headers=owner.headers) as owners,
    ):
        assert members.status_code == owners.status_code == 200
        await notify_now(server.app, owner.org_id, [member.user_id], title="for the member")
        await notify_now(server.app, owner.org_id, [owner.user_id], title="for the owner")
        [to_member] = await Stream(members).events(1)
        [to_owner] = await Stream(owners).events(1)

    assert to_member.event == "notification.created"
    assert to_member.body["data"]["title"] == "for the member"
    assert to_owner.body["data"]["title"] == "for the owner"
