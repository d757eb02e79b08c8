"""Comments on a case: mentions (written `@<user id>` or listed) of members who see the case, their notices, the
bounds of a comment, who deletes one; and the case's history, changes and comments newest first."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI

from tests.cases.conftest import CASES, Team, import_cases, make_unit
from tests.factories import Account, add_member, error_of, register


async def comment(team: Team, account: Account, body: str, **fields: Any) -> httpx.Response:
    return await team.client.post(
        f"{CASES}/{team.case['id']}/comments", json={"body": body, **fields}, headers=team.headers(account)
    )


async def comments(team: Team, account: Account, **params: Any) -> dict[str, Any]:
    response = await team.client.get(
        f"{CASES}/{team.case['id']}/comments", params=params, headers=team.headers(account)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def inbox(team: Team, account: Account) -> list[dict[str, Any]]:
    response = await team.client.get("/api/v1/inbox", headers=team.headers(account))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def history(team: Team, **params: Any) -> dict[str, Any]:
    response = await team.client.get(
        f"{CASES}/{team.case['id']}/history", params=params, headers=team.headers(team.viewer)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_comment_mentions_members_who_are_told(team: Team) -> None:
    supervisor, viewer = team.supervisor, team.viewer
    body = f"@{supervisor.user_id} can you call them back? cc @{supervisor.user_id}"
    created = await comment(team, team.editor, body, mentions=[str(viewer.user_id)])
    assert created.status_code == 201, created.text
    assert created.json()["mentions"] == [str(supervisor.user_id), str(viewer.user_id)]
    assert created.json()["author_id"] == str(team.editor.user_id)
    assert created.json()["case_id"] == team.case["id"]

    for account in (supervisor, viewer):
        [notice] = await inbox(team, account)
        assert (notice["kind"], notice["title"]) == ("mention", f"You were mentioned on {team.case['number']}")
        assert notice["body"] == body
        assert notice["subject"] == {"type": "case", "id": team.case["id"]}
    assert await inbox(team, team.admin) == []
    # The author mentioning themselves is not told.
    assert (await comment(team, team.editor, f"note to self @{team.editor.user_id}")).status_code == 201
    assert await inbox(team, team.editor) == []

    listed = await comments(team, team.viewer)
    assert [item["body"] for item in listed["items"]] == [body, f"note to self @{team.editor.user_id}"]


async def test_mentions_must_name_members_who_see_the_case(app: FastAPI, client: httpx.AsyncClient, team: Team) -> None:
    stranger = await register(client)
    northerner = await register(client)
    await add_member(client, team.owner, northerner, "editor")
    await make_unit(app, team.owner.org_id, "North", northerner)
    for listed in ([str(stranger.user_id)], [str(uuid4())], [str(northerner.user_id)]):
        refused = error_of(await comment(team, team.editor, "hello", mentions=listed), 422, "MENTION_INVALID")
        assert refused["details"] == {"user_ids": listed}
    written = error_of(await comment(team, team.editor, f"hello @{stranger.user_id}"), 422, "MENTION_INVALID")
    assert written["details"] == {"user_ids": [str(stranger.user_id)]}
    assert (await comments(team, team.owner))["items"] == []
    assert await inbox(team, northerner) == []
    # An address or a word after @ is text, not a mention.
    plain = await comment(team, team.editor, "write to ann@example.com or @support")
    assert plain.json()["mentions"] == []


async def test_a_comment_out_of_bounds_is_refused(team: Team) -> None:
    for fields in (
        {"body": ""},
        {"body": "   \n"},
        {"body": "x" * 10_001},
        {"body": "nul \x00 byte"},
        {"body": "ok", "mentions": ["not-a-uuid"]},
        {"body": "ok", "mentions": [str(uuid4()) for _ in range(21)]},
        {"body": " ".join(f"@{uuid4()}" for _ in range(21))},
        {"body": "ok", "extra": 1},
        {},
    ):
        response = await team.client.post(
            f"{CASES}/{team.case['id']}/comments", json=fields, headers=team.headers(team.editor)
        )
        error_of(response, 422, "VALIDATION_ERROR")
    assert (await comments(team, team.owner))["items"] == []


async def test_the_longest_comment_is_kept_whole(team: Team) -> None:
    created = await comment(team, team.editor, "y" * 10_000)
    assert created.status_code == 201, created.text
    assert (await comments(team, team.owner))["items"][0]["body"] == "y" * 10_000


async def test_viewers_read_comments_and_their_authors_or_admins_delete_them(team: Team) -> None:
    error_of(await comment(team, team.viewer, "can I?"), 403, "FORBIDDEN")
    first = (await comment(team, team.editor, "first")).json()
    second = (await comment(team, team.editor, "second")).json()
    assert [item["id"] for item in (await comments(team, team.viewer))["items"]] == [first["id"], second["id"]]
    paged = await comments(team, team.viewer, limit=1)
    assert [item["id"] for item in paged["items"]] == [first["id"]]
    rest = await comments(team, team.viewer, limit=1, cursor=paged["next_cursor"])
    assert [item["id"] for item in rest["items"]] == [second["id"]]

    def delete(account: Account, comment_id: str) -> Any:
        return team.client.delete(f"{CASES}/{team.case['id']}/comments/{comment_id}", headers=team.headers(account))

    for account in (team.supervisor, team.bu_manager):
        error_of(await delete(account, first["id"]), 403, "FORBIDDEN")
    error_of(await delete(team.viewer, first["id"]), 403, "FORBIDDEN")
    assert (await delete(team.editor, first["id"])).status_code == 204
    assert (await delete(team.admin, second["id"])).status_code == 204
    error_of(await delete(team.editor, first["id"]), 404, "COMMENT_NOT_FOUND")
    error_of(await delete(team.admin, str(uuid4())), 404, "COMMENT_NOT_FOUND")
    assert (await comments(team, team.owner))["items"] == []


async def test_a_comment_of_another_case_is_not_found_through_this_one(team: Team) -> None:
    created = (await comment(team, team.editor, "on k1")).json()
    other = (await import_cases(team.client, team.owner, "k2,Another case,,"))["k2"]
    through_other = f"{CASES}/{other['id']}/comments"
    assert (await team.client.get(through_other, headers=team.headers(team.viewer))).json()["items"] == []
    deleted = await team.client.delete(f"{through_other}/{created['id']}", headers=team.headers(team.admin))
    error_of(deleted, 404, "COMMENT_NOT_FOUND")
    assert len((await comments(team, team.owner))["items"]) == 1
    no_case = await team.client.post(
        f"{CASES}/C-999999/comments", json={"body": "x"}, headers=team.headers(team.editor)
    )
    error_of(no_case, 404, "CASE_NOT_FOUND")
    missing = await team.client.delete(f"{CASES}/C-999999/comments/{created['id']}", headers=team.headers(team.admin))
    error_of(missing, 404, "CASE_NOT_FOUND")


async def test_the_history_has_every_change_and_comment_newest_first(team: Team) -> None:
    editor, supervisor = team.editor, team.supervisor
    # Another case's changes are in its own history only.
    other = (await import_cases(team.client, team.owner, "k2,Another case,,"))["k2"]
    assert (await team.patch(editor, {"status": "waiting"}, other["id"])).status_code == 200
    assert (await team.patch(editor, {"priority": "high", "status": "in_progress"})).status_code == 200
    said = (await comment(team, supervisor, f"@{editor.user_id} please hurry")).json()
    assert (await team.patch(supervisor, {"assigned_to": str(editor.user_id)})).status_code == 200
    gone = (await comment(team, editor, "a mistake")).json()
    deleted = await team.client.delete(f"{CASES}/{team.case['id']}/comments/{gone['id']}", headers=team.headers(editor))
    assert deleted.status_code == 204

    items = (await history(team))["items"]

    assert [item["type"] for item in items] == ["case.commented", "case.updated", "case.commented", "case.updated"]
    assert [item["actor"]["name"] for item in items] == [
        "Editor Person",
        "Supervisor Person",
        "Supervisor Person",
        "Editor Person",
    ]
    assert items[0]["actor"] == {"type": "user", "id": str(editor.user_id), "name": "Editor Person"}
    assert items[0]["comment"] == {"id": gone["id"], "excerpt": None, "mentions": [], "deleted": True}
    assert items[1]["changes"] == [{"field": "assigned_to", "before": None, "after": str(editor.user_id)}]
    assert items[2]["comment"] == {
        "id": said["id"],
        "excerpt": f"@{editor.user_id} please hurry",
        "mentions": [str(editor.user_id)],
        "deleted": False,
    }
    assert items[2]["changes"] == []
    first = items[3]
    assert [change["field"] for change in first["changes"]] == ["status", "priority", "due_at"]
    assert first["changes"][0] == {"field": "status", "before": "open", "after": "in_progress"}
    assert first["changes"][1] == {"field": "priority", "before": "normal", "after": "high"}
    assert first["changes"][2]["before"] == team.case["due_at"].replace("Z", "+00:00")
    assert first["comment"] is None
    assert items == sorted(items, key=lambda item: item["id"], reverse=True)

    # Pages never skip or repeat; a reader of another organization finds no case.
    page = await history(team, limit=3)
    rest = await history(team, limit=3, cursor=page["next_cursor"])
    assert page["items"] + rest["items"] == items
    assert rest["next_cursor"] is None
    outsider = await register(team.client)
    error_of(
        await team.client.get(f"{CASES}/{team.case['id']}/history", headers=outsider.headers), 404, "CASE_NOT_FOUND"
    )
