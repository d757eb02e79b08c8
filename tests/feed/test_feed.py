"""The activity feed: stored events newest first, with a line each, only what the reader may see."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI

from folio.events.outbox import Audience, emit
from folio.events.schemas import Actor, CaseData, Change, EventType, NotificationData
from folio.pagination import encode_cursor
from tests.cases.conftest import make_unit
from tests.factories import Account, add_member, create_api_key, error_of, register


async def _case_event(
    app: FastAPI, actor: Account, unit_id: UUID | None, number: int, org: Account | None = None
) -> UUID:
    """A case.updated event, by `actor`, in `org`'s organization (the actor's own by default) about a case of
    `unit_id`; the case's id."""
    subject = uuid4()
    data = CaseData(
        number=f"C-{number:06d}",
        changes=[Change(field="status", before="open", after="waiting")],
        status="waiting",
        priority="normal",
        unit_id=unit_id,
    )
    async with app.state.sessionmaker() as session, session.begin():
        emit(
            session,
            org_id=(org or actor).org_id,
            type=EventType.CASE_UPDATED,
            subject_id=subject,
            data=data,
            actor=Actor(type="user", id=actor.user_id),
            audience=Audience.unit(unit_id),
        )
    return subject


async def _feed(
    client: httpx.AsyncClient, account: Account, org: Account | None = None, **params: Any
) -> list[dict[str, Any]]:
    """The first page of `account`'s feed in `org`'s organization (their own by default)."""
    headers = account.in_org(org.org_id) if org else account.headers
    response = await client.get("/api/v1/feed", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_items_come_newest_first_with_a_line_and_their_actor(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client, name="Ann Lee")
    first = await _case_event(app, owner, None, 1)
    second = await _case_event(app, owner, None, 2)

    items = await _feed(client, owner)

    assert [item["subject"]["id"] for item in items] == [str(second), str(first)]
    assert items[0]["line"] == "Ann Lee changed C-000002: status open → waiting"
    assert items[0]["actor"] == {"type": "user", "id": str(owner.user_id), "name": "Ann Lee"}
    assert items[0]["type"] == "case.updated"


async def test_a_case_change_names_its_assignees_and_units(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, agent, gone = await register(client, name="Ann Lee"), await register(client, name="Bo Diaz"), uuid4()
    await add_member(client, owner, agent, "editor")
    north = await make_unit(app, owner.org_id, "North")
    changes = [
        Change(field="assigned_to", before=str(gone), after=str(agent.user_id)),
        Change(field="unit_id", before=None, after=str(north)),
    ]
    async with app.state.sessionmaker() as session, session.begin():
        data = CaseData(number="C-000007", changes=changes, status="open", priority="normal", unit_id=north)
        emit(
            session,
            org_id=owner.org_id,
            type=EventType.CASE_UPDATED,
            subject_id=uuid4(),
            data=data,
            actor=Actor(type="user", id=owner.user_id),
            audience=Audience.unit(north),
        )
    [item] = await _feed(client, owner, type="case.updated")
    assert item["line"] == "Ann Lee changed C-000007: assignee someone who left → Bo Diaz, unit — → North"


async def test_a_member_limited_to_a_unit_sees_only_its_case_events(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    north_member, south_member = await register(client), await register(client)
    for member in (north_member, south_member):
        await add_member(client, owner, member, "editor")
    north = await make_unit(app, owner.org_id, "North", north_member)
    south = await make_unit(app, owner.org_id, "South", south_member)
    in_north = await _case_event(app, owner, north, 1)
    in_south = await _case_event(app, owner, south, 2)
    of_no_unit = await _case_event(app, owner, None, 3)

    def cases(items: list[dict[str, Any]]) -> set[str]:
        return {item["subject"]["id"] for item in items if item["type"] == "case.updated"}

    assert cases(await _feed(client, north_member, owner)) == {str(in_north)}
    assert cases(await _feed(client, south_member, owner)) == {str(in_south)}
    assert cases(await _feed(client, owner)) == {str(in_north), str(in_south), str(of_no_unit)}
    # Asking for another unit by filter shows nothing of it.
    assert cases(await _feed(client, north_member, owner, unit_id=str(south))) == set()
    assert cases(await _feed(client, owner, unit_id=str(south))) == {str(in_south)}


async def test_administration_events_reach_admins_only(client: httpx.AsyncClient) -> None:
    owner, viewer = await register(client), await register(client)
    await add_member(client, owner, viewer, "viewer")
    await create_api_key(client, owner, name="ci key")

    owner_types = {item["type"] for item in await _feed(client, owner)}
    viewer_types = {item["type"] for item in await _feed(client, viewer, owner)}

    assert {"api_key.created", "member.added"} <= owner_types
    assert not viewer_types & {"api_key.created", "member.added"}
    line = next(item["line"] for item in await _feed(client, owner) if item["type"] == "api_key.created")
    assert line == "Test User created the API key ci key"


async def test_notifications_and_other_organizations_never_show(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client), await register(client)
    async with app.state.sessionmaker() as session, session.begin():
        emit(
            session,
            org_id=owner.org_id,
            type=EventType.NOTIFICATION_CREATED,
            subject_id=None,
            data=NotificationData(notification_id=uuid4(), kind="mention", title="You were mentioned"),
            audience=Audience.recipient(owner.user_id),
        )
    await _case_event(app, stranger, None, 1)

    assert await _feed(client, owner, type=["notification.created", "case.updated"]) == []


async def test_filters_and_pages_without_gaps_or_repeats(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, colleague = await register(client), await register(client)
    await add_member(client, owner, colleague, "editor")
    mine = [await _case_event(app, owner, None, number) for number in range(1, 6)]
    theirs = await _case_event(app, colleague, None, 6, owner)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"type": "case.updated", "actor_id": str(owner.user_id), "limit": 2}
        response = await client.get(
            "/api/v1/feed", params=params | ({"cursor": cursor} if cursor else {}), headers=owner.headers
        )
        assert response.status_code == 200, response.text
        seen += [item["subject"]["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert seen == [str(subject) for subject in reversed(mine)]
    assert [item["subject"]["id"] for item in await _feed(client, owner, subject_id=str(theirs))] == [str(theirs)]


async def test_bad_filters_are_refused(client: httpx.AsyncClient) -> None:
    owner = await register(client)

    error_of(await client.get("/api/v1/feed?type=nope", headers=owner.headers), 422, "VALIDATION_ERROR")
    error_of(await client.get("/api/v1/feed?cursor=%00", headers=owner.headers), 422, "VALIDATION_ERROR")
    error_of(await client.get("/api/v1/feed?unit_id=1", headers=owner.headers), 422, "VALIDATION_ERROR")
    error_of(await client.get("/api/v1/feed"), 401, "AUTH_REQUIRED")


async def test_a_cursor_past_the_largest_event_id_reads_from_the_newest(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Event ids are bigints; a well-formed cursor past the largest one (not issued, but not refusable by its form)
    reads from the newest event instead of overflowing the query."""
    owner = await register(client)
    subject = await _case_event(app, owner, None, 1)

    for past in (2**63, 2**128 - 1):
        items = await _feed(client, owner, cursor=encode_cursor(UUID(int=past)))
        assert [item["subject"]["id"] for item in items] == [str(subject)]
