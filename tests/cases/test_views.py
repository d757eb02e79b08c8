"""Saved views: named case filters, a member's own or shared; applied to the case list; bounded."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI
from sqlalchemy import insert, update

from folio.cases.views.service import MAX_PER_MEMBER, MAX_SHARED_PER_ORG
from folio.models import SavedView
from tests.cases.conftest import CASES, Team, import_cases
from tests.factories import Account, error_of, register
from tests.records.conftest import all_records

VIEWS = f"{CASES}/views"


async def create(team: Team, account: Account, **body: Any) -> httpx.Response:
    return await team.client.post(VIEWS, json={"name": "My view", **body}, headers=team.headers(account))


async def visible(team: Team, account: Account) -> set[str]:
    response = await team.client.get(VIEWS, params={"limit": 100}, headers=team.headers(account))
    assert response.status_code == 200, response.text
    return {view["name"] for view in response.json()["items"]}


async def test_a_view_lists_the_cases_its_filters_match(team: Team) -> None:
    await import_cases(team.client, team.owner, "u1,Urgent one,,urgent", "u2,Another urgent,,urgent", "l1,Low,,low")
    assert (await team.patch(team.supervisor, {"status": "waiting"}, "C-000002")).status_code == 200
    created = await create(team, team.editor, name=" Urgent ", filters={"priority": "urgent", "status": ["open"]})
    assert created.status_code == 201, created.text
    view = created.json()
    assert (view["name"], view["shared"], view["owner_id"]) == ("Urgent", False, str(team.editor.user_id))
    assert view["filters"] == {"priority": ["urgent"], "status": ["open"]}
    as_editor = team.headers(team.editor)

    listed = await all_records(team.client, as_editor, view=view["id"])
    assert [case["external_id"] for case in listed] == ["u2"]
    # Filters named beside the view replace its own of the same name, and add to the others.
    widened = await all_records(team.client, as_editor, view=view["id"], status=["open", "waiting"])
    assert [case["external_id"] for case in widened] == ["u1", "u2"]
    narrowed = await all_records(team.client, as_editor, view=view["id"], external_id="u1")
    assert narrowed == []

    fetched = await team.client.get(f"{VIEWS}/{view['id']}", headers=as_editor)
    assert fetched.json() == view
    renamed = await team.client.patch(
        f"{VIEWS}/{view['id']}", json={"name": "Low ones", "filters": {"priority": ["low"]}}, headers=as_editor
    )
    assert (renamed.json()["name"], renamed.json()["filters"]) == ("Low ones", {"priority": ["low"]})
    assert [case["external_id"] for case in await all_records(team.client, as_editor, view=view["id"])] == ["l1"]


async def test_personal_views_are_their_owners_and_shared_ones_everyones(team: Team) -> None:
    personal = (await create(team, team.editor, name="Mine")).json()
    shared = (await create(team, team.editor, name="Ours", shared=True)).json()
    assert (await visible(team, team.editor)) == {"Mine", "Ours"}
    for account in (team.viewer, team.owner, team.supervisor):
        assert await visible(team, account) == {"Ours"}
        error_of(
            await team.client.get(f"{VIEWS}/{personal['id']}", headers=team.headers(account)), 404, "VIEW_NOT_FOUND"
        )
        listed = await team.client.get(CASES, params={"view": personal["id"]}, headers=team.headers(account))
        error_of(listed, 404, "VIEW_NOT_FOUND")
        assert (
            await team.client.get(CASES, params={"view": shared["id"]}, headers=team.headers(account))
        ).status_code == 200
    outsider = await register(team.client)
    error_of(await team.client.get(f"{VIEWS}/{shared['id']}", headers=outsider.headers), 404, "VIEW_NOT_FOUND")
    error_of(
        await team.client.get(CASES, params={"view": shared["id"]}, headers=outsider.headers), 404, "VIEW_NOT_FOUND"
    )
    error_of(await team.client.delete(f"{VIEWS}/{shared['id']}", headers=outsider.headers), 404, "VIEW_NOT_FOUND")

    # A shared view is changed by its owner or a business-unit manager and above; a personal one by its owner.
    url = f"{VIEWS}/{shared['id']}"
    for account in (team.supervisor, team.viewer):
        error_of(await team.client.patch(url, json={"name": "Theirs"}, headers=team.headers(account)), 403, "FORBIDDEN")
        error_of(await team.client.delete(url, headers=team.headers(account)), 403, "FORBIDDEN")
    managed = await team.client.patch(url, json={"name": "Managed"}, headers=team.headers(team.bu_manager))
    assert managed.json()["name"] == "Managed"
    error_of(
        await team.client.patch(f"{VIEWS}/{personal['id']}", json={"name": "x"}, headers=team.headers(team.admin)),
        404,
        "VIEW_NOT_FOUND",
    )
    # Unsharing hides it again from the others.
    unshared = await team.client.patch(url, json={"shared": False}, headers=team.headers(team.editor))
    assert unshared.json()["shared"] is False
    assert await visible(team, team.viewer) == set()
    assert (await team.client.delete(f"{VIEWS}/{personal['id']}", headers=team.headers(team.editor))).status_code == 204
    assert await visible(team, team.editor) == {"Managed"}


async def test_a_viewer_keeps_views_but_does_not_share_them(team: Team) -> None:
    mine = await create(team, team.viewer, name="Mine")
    assert mine.status_code == 201, mine.text
    error_of(await create(team, team.viewer, name="Ours", shared=True), 403, "FORBIDDEN")
    share = await team.client.patch(
        f"{VIEWS}/{mine.json()['id']}", json={"shared": True}, headers=team.headers(team.viewer)
    )
    error_of(share, 403, "FORBIDDEN")
    assert await visible(team, team.viewer) == {"Mine"}


async def test_view_filters_and_names_are_checked(team: Team) -> None:
    for body in (
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "nul\x00"},
        {"name": "ok", "filters": {"status": "shut"}},
        {"name": "ok", "filters": {"sevrity": "critical"}},
        {"name": "ok", "filters": {"field": ["no-colon"]}},
        {"name": "ok", "filters": {"unit_id": [str(uuid4()) for _ in range(51)]}},
        {"name": "ok", "filters": {"limit": 5}},
        {"name": "ok", "shared": "maybe"},
    ):
        error_of(await team.client.post(VIEWS, json=body, headers=team.headers(team.editor)), 422, "VALIDATION_ERROR")
    view = (await create(team, team.editor)).json()
    changes: list[dict[str, Any]] = [{}, {"name": None}, {"filters": {"status": ["shut"]}}]
    for change in changes:
        patched = await team.client.patch(f"{VIEWS}/{view['id']}", json=change, headers=team.headers(team.editor))
        error_of(patched, 422, "VALIDATION_ERROR")
    error_of(await team.client.get(f"{VIEWS}/{uuid4()}", headers=team.headers(team.editor)), 404, "VIEW_NOT_FOUND")


async def test_stored_filters_the_list_no_longer_takes_answer_422(app: FastAPI, team: Team) -> None:
    view = (await create(team, team.editor, filters={"priority": ["urgent"]})).json()
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(SavedView).values(filters={"prio": "urgent"}))
    response = await team.client.get(CASES, params={"view": view["id"]}, headers=team.headers(team.editor))
    assert error_of(response, 422, "VIEW_FILTERS_INVALID")["details"] == {"view": view["id"], "fields": ["prio"]}


async def test_views_are_bounded_per_member_and_shared_ones_per_organization(app: FastAPI, team: Team) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        rows = [
            {"org_id": team.owner.org_id, "owner_id": team.editor.user_id, "name": f"v{index}", "filters": {}}
            for index in range(MAX_PER_MEMBER - 1)
        ]
        await session.execute(insert(SavedView), rows)
    assert (await create(team, team.editor)).status_code == 201
    full = error_of(await create(team, team.editor), 409, "TOO_MANY_VIEWS")
    assert full["details"] == {"max": MAX_PER_MEMBER}
    assert (await create(team, team.supervisor)).status_code == 201  # another member has room

    async with app.state.sessionmaker() as session, session.begin():
        rows = [
            {
                "org_id": team.owner.org_id,
                "owner_id": team.admin.user_id,
                "name": f"s{index}",
                "filters": {},
                "shared": True,
            }
            for index in range(MAX_SHARED_PER_ORG)
        ]
        await session.execute(insert(SavedView), rows)
    refused = error_of(await create(team, team.supervisor, shared=True), 409, "TOO_MANY_VIEWS")
    assert refused["details"] == {"max_shared": MAX_SHARED_PER_ORG}
    mine = (await create(team, team.supervisor, name="Personal")).json()
    share = await team.client.patch(
        f"{VIEWS}/{mine['id']}", json={"shared": True}, headers=team.headers(team.supervisor)
    )
    error_of(share, 409, "TOO_MANY_VIEWS")
