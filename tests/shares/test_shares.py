"""/api/v1/shares: items shared with members, who must each be able to read them; chats read through the share."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import delete, update

from folio.auth.principal_cache import invalidate, member_tag, org_tag
from folio.models import BusinessUnit, Record, UnitMembership
from folio.shares import service
from tests.factories import Account, create_api_key, error_of
from tests.shares.conftest import SHARES, World

SHARE_KEYS = {"id", "item_type", "item_id", "item_title", "note", "shared_by", "recipients", "created_at"}


def item_of(world: World, item_type: str) -> UUID:
    return {
        "case": world.case_id,
        "document": world.document_id,
        "summary": world.summary_id,
        "chat": world.chat_id,
    }[item_type]


async def share(
    world: World, item_type: str, to: list[UUID], /, by: Account | None = None, **fields: Any
) -> httpx.Response:
    body = {"item_type": item_type, "item_id": str(item_of(world, item_type)), "recipients": [str(user) for user in to]}
    return await world.client.post(SHARES, json=body | fields, headers=(by or world.owner).headers)


async def listed(world: World, account: Account, direction: str) -> list[dict[str, Any]]:
    response = await world.client.get(SHARES, params={"direction": direction}, headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def limit_to_new_unit(world: World, *members: Account) -> UUID:
    """A business unit with `members` limited to it (straight in the database: units have no API yet here)."""
    async with world.app.state.sessionmaker() as session, session.begin():
        unit = BusinessUnit(org_id=world.owner.org_id, name=f"unit-{uuid4().hex[:8]}")
        session.add(unit)
        await session.flush()
        for member in members:
            session.add(UnitMembership(org_id=world.owner.org_id, user_id=member.user_id, unit_id=unit.id))
            invalidate(session, member_tag(world.owner.org_id, member.user_id))
    unit_id: UUID = unit.id
    return unit_id


@pytest.fixture
async def unrestricted(world: World) -> Any:
    """Units made by a test go when it ends (they limit members of the package's organization)."""
    yield
    async with world.app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Record).values(unit_id=None))
        await session.execute(delete(BusinessUnit))
        invalidate(session, org_tag(world.owner.org_id))


# --- sharing ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("item_type", ["case", "document", "summary", "chat"])
async def test_share_each_type_with_a_note(world: World, item_type: str) -> None:
    response = await share(world, item_type, [world.viewer.user_id], note="Please have a look.")

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == SHARE_KEYS
    assert body["item_type"] == item_type
    assert body["item_id"] == str(item_of(world, item_type))
    assert body["note"] == "Please have a look."
    assert body["shared_by"] == str(world.owner.user_id)
    assert body["recipients"] == [str(world.viewer.user_id)]
    assert body["item_title"]
    assert [item["id"] for item in await listed(world, world.viewer, "received")] == [body["id"]]
    assert [item["id"] for item in await listed(world, world.owner, "sent")] == [body["id"]]
    assert await listed(world, world.owner, "received") == []
    assert await listed(world, world.editor, "received") == []


@pytest.mark.parametrize(
    ("item_type", "path"),
    [("case", "/api/v1/cases"), ("document", "/api/v1/documents"), ("summary", "/api/v1/summaries")],
)
async def test_an_organization_item_is_read_at_its_own_endpoint(world: World, item_type: str, path: str) -> None:
    created = (await share(world, item_type, [world.viewer.user_id])).json()

    response = await world.client.get(f"{SHARES}/{created['id']}/item", headers=world.viewer.headers)

    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{path}/{item_of(world, item_type)}"
    followed = await world.client.get(response.headers["location"], headers=world.viewer.headers)
    assert followed.status_code == 200, followed.text


async def test_a_shared_chat_is_read_through_the_share_only(world: World) -> None:
    created = (await share(world, "chat", [world.viewer.user_id])).json()

    error_of(
        await world.client.get(f"/api/v1/chats/{world.chat_id}", headers=world.viewer.headers), 404, "CHAT_NOT_FOUND"
    )
    response = await world.client.get(f"{SHARES}/{created['id']}/item", headers=world.viewer.headers)

    assert response.status_code == 200, response.text
    chat = response.json()
    assert chat["id"] == str(world.chat_id)
    assert [message["role"] for message in chat["messages"]] == ["user", "assistant"]
    # Someone else in the organization, who was not sent it, does not get it.
    error_of(
        await world.client.get(f"{SHARES}/{created['id']}/item", headers=world.editor.headers), 404, "SHARE_NOT_FOUND"
    )


async def test_a_saved_view_is_shared_with_chosen_members_and_read_through_the_share(world: World) -> None:
    body = {"name": "Urgent and late", "filters": {"priority": ["urgent"], "overdue": True}}
    created = await world.client.post("/api/v1/cases/views", json=body, headers=world.owner.headers)
    assert created.status_code == 201, created.text
    view_id = created.json()["id"]
    shared = await world.client.post(
        SHARES,
        json={"item_type": "saved_view", "item_id": view_id, "recipients": [str(world.viewer.user_id)], "note": "Mine"},
        headers=world.owner.headers,
    )
    assert shared.status_code == 201, shared.text

    # A personal view: its recipient reads it through the share, not at its own address.
    error_of(
        await world.client.get(f"/api/v1/cases/views/{view_id}", headers=world.viewer.headers), 404, "VIEW_NOT_FOUND"
    )
    response = await world.client.get(f"{SHARES}/{shared.json()['id']}/item", headers=world.viewer.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["filters"]) == (body["name"], body["filters"])
    [notification] = await inbox(world, world.viewer)
    assert notification["subject"] == {"type": "share", "id": shared.json()["id"]}
    error_of(
        await world.client.get(f"{SHARES}/{shared.json()['id']}/item", headers=world.editor.headers),
        404,
        "SHARE_NOT_FOUND",
    )
    # Another member's personal view cannot be shared by someone who cannot see it.
    refused = await world.client.post(
        SHARES,
        json={"item_type": "saved_view", "item_id": view_id, "recipients": [str(world.owner.user_id)]},
        headers=world.editor.headers,
    )
    error_of(refused, 404, "SHARE_ITEM_NOT_FOUND")


async def inbox(world: World, account: Account) -> list[dict[str, Any]]:
    response = await world.client.get("/api/v1/inbox", headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_recipients_are_distinct_and_each_is_notified_once(world: World) -> None:
    recipients = [world.viewer.user_id, world.editor.user_id, world.viewer.user_id]

    response = await share(world, "document", recipients, note="The Almeria numbers.")

    assert response.status_code == 201, response.text
    assert sorted(response.json()["recipients"]) == sorted([str(world.viewer.user_id), str(world.editor.user_id)])
    for recipient in (world.viewer, world.editor):
        [notification] = await inbox(world, recipient)
        assert notification["kind"] == "share"
        assert notification["title"] == "Document shared with you: report.txt"
        assert notification["body"] == "The Almeria numbers."
        assert notification["subject"] == {"type": "document", "id": str(world.document_id)}
        assert notification["actor"] == {"type": "user", "id": str(world.owner.user_id)}
    assert await inbox(world, world.owner) == []


async def test_a_shared_chat_is_announced_by_its_share(world: World) -> None:
    shared = (await share(world, "chat", [world.viewer.user_id])).json()

    [notification] = await inbox(world, world.viewer)

    assert notification["title"] == "Chat shared with you: Solar output"
    # The chat is its owner's: the recipient opens it through the share.
    assert notification["subject"] == {"type": "share", "id": shared["id"]}


# --- who may receive --------------------------------------------------------------------------------------------


async def test_a_recipient_outside_the_cases_unit_is_refused(world: World, unrestricted: None) -> None:
    unit = await limit_to_new_unit(world, world.editor)
    await limit_to_new_unit(world, world.viewer)
    async with world.app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Record).where(Record.document_id == world.case_id).values(unit_id=unit))

    refused = await share(world, "case", [world.editor.user_id, world.viewer.user_id])

    error = error_of(refused, 422, "SHARE_RECIPIENT_CANNOT_SEE")
    assert error["details"]["recipients"] == [str(world.viewer.user_id)]
    assert await listed(world, world.owner, "sent") == []
    assert await inbox(world, world.viewer) == []
    # A member of the case's unit receives it, and is told.
    assert (await share(world, "case", [world.editor.user_id])).status_code == 201
    [notification] = await inbox(world, world.editor)
    assert notification["subject"] == {"type": "case", "id": str(world.case_id)}


async def test_a_chat_quoting_a_case_goes_only_to_those_who_see_the_case(world: World, unrestricted: None) -> None:
    chat = await world.client.post("/api/v1/chats", json={}, headers=world.owner.headers)
    asked = await world.client.post(
        f"/api/v1/chats/{chat.json()['id']}/messages",
        json={"content": "Which customer was charged twice for the same invoice?"},
        headers=world.owner.headers,
    )
    cited = {citation["document_id"] for citation in asked.json()["answer"]["citations"]}
    assert str(world.case_id) in cited, asked.json()
    body = {"item_type": "chat", "item_id": chat.json()["id"], "recipients": [str(world.viewer.user_id)]}
    created = await world.client.post(SHARES, json=body, headers=world.owner.headers)
    assert created.status_code == 201, created.text

    # The viewer is limited to another unit than the case's: the chat is no longer theirs to read, nor to receive.
    unit = await limit_to_new_unit(world)
    await limit_to_new_unit(world, world.viewer)
    async with world.app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Record).where(Record.document_id == world.case_id).values(unit_id=unit))

    read = await world.client.get(f"{SHARES}/{created.json()['id']}/item", headers=world.viewer.headers)
    error_of(read, 404, "SHARE_NOT_FOUND")
    again = await world.client.post(SHARES, json=body, headers=world.owner.headers)
    assert error_of(again, 422, "SHARE_RECIPIENT_CANNOT_SEE")["details"]["recipients"] == [str(world.viewer.user_id)]


async def test_a_recipient_must_be_a_member(world: World) -> None:
    for stranger in (world.outsider.user_id, uuid4()):
        error = error_of(
            await share(world, "document", [world.viewer.user_id, stranger]), 422, "SHARE_RECIPIENT_NOT_MEMBER"
        )
        assert error["details"]["recipients"] == [str(stranger)]
    error_of(await share(world, "document", [world.owner.user_id]), 422, "VALIDATION_ERROR")
    assert await listed(world, world.viewer, "received") == []


async def test_what_the_sharer_cannot_read_is_not_found(world: World) -> None:
    foreign = {
        "item_type": "document",
        "item_id": str(world.outsider_document_id),
        "recipients": [str(world.viewer.user_id)],
    }
    error_of(await world.client.post(SHARES, json=foreign, headers=world.owner.headers), 404, "SHARE_ITEM_NOT_FOUND")
    for item_type in ("case", "document", "summary", "chat"):
        unknown = {"item_type": item_type, "item_id": str(uuid4()), "recipients": [str(world.viewer.user_id)]}
        error_of(
            await world.client.post(SHARES, json=unknown, headers=world.owner.headers), 404, "SHARE_ITEM_NOT_FOUND"
        )
    # A chat is its starter's: not even an admin shares someone else's (nor may the document be read as a case).
    error_of(await share(world, "chat", [world.viewer.user_id], by=world.editor), 404, "SHARE_ITEM_NOT_FOUND")
    as_case = {"item_type": "case", "item_id": str(world.document_id), "recipients": [str(world.viewer.user_id)]}
    error_of(await world.client.post(SHARES, json=as_case, headers=world.owner.headers), 404, "SHARE_ITEM_NOT_FOUND")


async def test_an_api_key_cannot_share(world: World) -> None:
    key = await create_api_key(world.client, world.owner, scopes=["shares", "documents:read"])
    body = {"item_type": "document", "item_id": str(world.document_id), "recipients": [str(world.viewer.user_id)]}

    response = await world.client.post(SHARES, json=body, headers={"X-API-Key": key["secret"]})

    error_of(response, 403, "FORBIDDEN")


# --- bounds -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"note": "x" * (service.MAX_NOTE_LENGTH + 1)},
        {"note": "nul \x00 inside"},
        {"recipients": []},
        {"recipients": [str(uuid4()) for _ in range(service.MAX_RECIPIENTS + 1)]},
        {"item_type": "saved_search"},
        {"extra": True},
    ],
)
async def test_notes_and_recipients_are_bounded(world: World, fields: dict[str, Any]) -> None:
    error_of(await share(world, "document", [world.viewer.user_id], **fields), 422, "VALIDATION_ERROR")


async def test_an_item_is_shared_a_bounded_number_of_times(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_SHARES_PER_ITEM", 2)
    for _ in range(2):
        assert (await share(world, "summary", [world.viewer.user_id])).status_code == 201

    error_of(await share(world, "summary", [world.viewer.user_id]), 409, "TOO_MANY_SHARES")
    assert (await share(world, "document", [world.viewer.user_id])).status_code == 201


# --- withdrawing ------------------------------------------------------------------------------------------------


async def test_the_sharer_or_an_admin_deletes_a_share_not_its_recipient(world: World) -> None:
    by_editor = (await share(world, "document", [world.viewer.user_id], by=world.editor)).json()
    by_owner = (await share(world, "chat", [world.viewer.user_id])).json()

    error_of(await world.client.delete(f"{SHARES}/{by_editor['id']}", headers=world.viewer.headers), 403, "FORBIDDEN")
    error_of(
        await world.client.delete(f"{SHARES}/{by_editor['id']}", headers=world.outsider.headers), 404, "SHARE_NOT_FOUND"
    )
    error_of(
        await world.client.delete(f"{SHARES}/{by_owner['id']}", headers=world.editor.headers), 404, "SHARE_NOT_FOUND"
    )
    assert (await world.client.delete(f"{SHARES}/{by_editor['id']}", headers=world.owner.headers)).status_code == 204
    assert (await world.client.delete(f"{SHARES}/{by_owner['id']}", headers=world.owner.headers)).status_code == 204

    assert await listed(world, world.viewer, "received") == []
    error_of(
        await world.client.get(f"{SHARES}/{by_owner['id']}/item", headers=world.viewer.headers), 404, "SHARE_NOT_FOUND"
    )


async def test_another_organization_sees_none_of_it(world: World) -> None:
    created = (await share(world, "chat", [world.viewer.user_id])).json()

    assert await listed(world, world.outsider, "received") == []
    assert await listed(world, world.outsider, "sent") == []
    error_of(
        await world.client.get(f"{SHARES}/{created['id']}/item", headers=world.outsider.headers), 404, "SHARE_NOT_FOUND"
    )
