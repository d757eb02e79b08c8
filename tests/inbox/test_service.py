"""`notify`, as other domains call it: who is notified (members only, never the actor, only those who see the case's
unit), each by their channel, within bounds."""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from sqlalchemy import func, insert, select

from folio.db import new_id, table
from folio.events.schemas import Actor, EventType, Subject, SubjectType
from folio.inbox.service import MAX_INBOX, MAX_RECIPIENTS, NotificationKind
from folio.models import Event, Notification
from tests.factories import org_with, register
from tests.inbox.helpers import INBOX, inbox, limit_to_new_unit, notify_now, stored


async def notification_events(app: FastAPI, org_id: UUID) -> list[Event]:
    async with app.state.sessionmaker() as session:
        statement = (
            select(Event)
            .where(Event.org_id == org_id, Event.type == EventType.NOTIFICATION_CREATED.value)
            .order_by(Event.id)
        )
        return list((await session.scalars(statement)).all())


async def test_a_mention_lands_in_the_members_inbox_with_its_event(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "editor")
    case = Subject(type=SubjectType.CASE, id=uuid4())
    actor = Actor(type="user", id=owner.user_id)

    await notify_now(
        app, owner.org_id, [member.user_id], title="Ann mentioned you", body="see this", subject=case, actor=actor
    )

    [item] = await inbox(client, member.in_org(owner.org_id))
    assert item["kind"] == "mention"
    assert item["title"] == "Ann mentioned you"
    assert item["body"] == "see this"
    assert item["subject"] == {"type": "case", "id": str(case.id)}
    assert item["actor"] == {"type": "user", "id": str(owner.user_id)}
    assert item["read_at"] is None
    [event] = await notification_events(app, owner.org_id)
    assert event.visibility == "recipient"
    assert event.recipient_id == member.user_id
    assert event.subject_type == "notification"
    assert str(event.subject_id) == item["id"]
    assert event.data["notification_id"] == item["id"]
    assert event.data["about"] == {"type": "case", "id": str(case.id)}
    assert event.data["in_inbox"] is True
    assert await inbox(client, owner.headers) == []


async def test_each_member_s_preference_decides_the_channel(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, [by_webhook, silent, other_kind] = await org_with(client, "editor", "viewer", "viewer")
    for member, channel in ((by_webhook, "webhook"), (silent, "off"), (other_kind, "in_app")):
        body = {"mention": channel, "share": "off"}
        response = await client.put(f"{INBOX}/preferences", json=body, headers=member.in_org(owner.org_id))
        assert response.status_code == 200, response.text

    everyone = [owner.user_id, by_webhook.user_id, silent.user_id, other_kind.user_id]
    await notify_now(app, owner.org_id, everyone)

    assert len(await inbox(client, owner.headers)) == 1
    assert len(await inbox(client, other_kind.in_org(owner.org_id))) == 1
    assert await inbox(client, by_webhook.in_org(owner.org_id)) == []
    assert await inbox(client, silent.in_org(owner.org_id)) == []
    events = await notification_events(app, owner.org_id)
    assert [event.recipient_id for event in events] == [owner.user_id, by_webhook.user_id, other_kind.user_id]
    webhook_only = events[1]
    assert webhook_only.data["in_inbox"] is False
    assert webhook_only.data["title"] == "You were mentioned on C-000001"

    # A preference is per kind: a share reaches nobody who turned shares off, however they take mentions.
    await notify_now(app, owner.org_id, everyone, kind=NotificationKind.SHARE, title="Shared with you")
    assert len(await notification_events(app, owner.org_id)) == 4


async def test_the_actor_is_never_told_of_their_own_action(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "editor")

    actor = Actor(type="user", id=member.user_id)
    await notify_now(app, owner.org_id, [member.user_id, owner.user_id], actor=actor)

    assert await inbox(client, member.in_org(owner.org_id)) == []
    assert len(await inbox(client, owner.headers)) == 1


async def test_only_members_of_the_organization_are_notified(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, [leaving] = await org_with(client, "editor")
    stranger = await register(client)
    response = await client.delete(f"/api/v1/orgs/{owner.org_id}/members/{leaving.user_id}", headers=owner.headers)
    assert response.status_code == 204, response.text

    await notify_now(app, owner.org_id, [stranger.user_id, leaving.user_id, uuid4(), owner.user_id])

    assert await stored(app, stranger.user_id) == 0
    assert await stored(app, leaving.user_id) == 0
    assert len(await inbox(client, owner.headers)) == 1
    assert len(await notification_events(app, owner.org_id)) == 1


async def test_a_member_limited_to_a_unit_hears_only_of_its_cases(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, [limited] = await org_with(client, "editor")
    unit = await limit_to_new_unit(app, limited, owner.org_id)
    other_unit = uuid4()
    case = Subject(type=SubjectType.CASE, id=uuid4())
    recipients = [limited.user_id, owner.user_id]

    await notify_now(app, owner.org_id, recipients, subject=case, unit_id=other_unit, title="other unit")
    await notify_now(app, owner.org_id, recipients, subject=case, title="a case of no unit")
    await notify_now(app, owner.org_id, recipients, subject=case, unit_id=unit, title="their unit")
    await notify_now(app, owner.org_id, recipients, title="not about a case")

    titles = [item["title"] for item in await inbox(client, limited.in_org(owner.org_id))]
    assert titles == ["not about a case", "their unit"]
    assert len(await inbox(client, owner.headers)) == 4
    events = await notification_events(app, owner.org_id)
    assert [event.data["title"] for event in events if event.recipient_id == limited.user_id] == [
        "their unit",
        "not about a case",
    ]


async def test_recipients_are_counted_once_and_bounded(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "editor")

    await notify_now(app, owner.org_id, [member.user_id] * 5 + [owner.user_id, member.user_id])
    assert len(await inbox(client, member.in_org(owner.org_id))) == 1
    assert len(await inbox(client, owner.headers)) == 1

    # The member comes after MAX_RECIPIENTS others: left out, whatever those others are.
    await notify_now(app, owner.org_id, [uuid4() for _ in range(MAX_RECIPIENTS)] + [member.user_id], title="late")
    assert len(await inbox(client, member.in_org(owner.org_id))) == 1
    await notify_now(app, owner.org_id, [member.user_id] + [uuid4() for _ in range(MAX_RECIPIENTS)], title="first")
    assert len(await inbox(client, member.in_org(owner.org_id))) == 2


async def test_an_inbox_keeps_its_newest_notifications(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, [member] = await org_with(client, "editor")
    old = [new_id() for _ in range(MAX_INBOX)]
    async with app.state.sessionmaker() as session, session.begin():
        rows = [
            {
                "id": notification_id,
                "org_id": owner.org_id,
                "user_id": user_id,
                "kind": NotificationKind.MENTION,
                "title": "old",
                "actor_type": "system",
            }
            for notification_id, user_id in [
                *((each, owner.user_id) for each in old),
                *((new_id(), member.user_id) for _ in old),
            ]
        ]
        await session.execute(insert(table(Notification)), rows)
    unread = await client.get(f"{INBOX}/unread-count", headers=owner.headers)
    assert unread.json() == {"unread": MAX_INBOX}

    await notify_now(app, owner.org_id, [owner.user_id], title="new")

    async with app.state.sessionmaker() as session:
        kept = set((await session.scalars(select(Notification.id).where(Notification.user_id == owner.user_id))).all())
        others = await session.scalar(select(func.count()).where(Notification.user_id == member.user_id))
    assert len(kept) == MAX_INBOX
    assert old[0] not in kept
    assert set(old[1:]) <= kept
    assert (await inbox(client, owner.headers, limit=1))[0]["title"] == "new"
    assert others == MAX_INBOX  # nobody else's inbox is touched


async def test_titles_and_bodies_are_cut_to_size_and_lose_nul(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)

    await notify_now(app, owner.org_id, [owner.user_id], title="T\x00" + "t" * 500, body="B\x00" + "b" * 5000)

    [item] = await inbox(client, owner.headers)
    assert item["title"] == "T" + "t" * 199
    assert item["body"] == "B" + "b" * 999


async def test_nobody_to_notify_stores_and_emits_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)

    await notify_now(app, owner.org_id, [])
    await notify_now(app, owner.org_id, iter([owner.user_id]), actor=Actor(type="user", id=owner.user_id))

    assert await stored(app, owner.user_id) == 0
    assert await notification_events(app, owner.org_id) == []
