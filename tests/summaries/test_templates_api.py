"""The templates API: built-in templates for everyone and read-only, an organization's own private, one default."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Account, add_member, create_api_key, error_of, register

TEMPLATES = "/api/v1/templates"
BUILTIN = {
    "Executive summary": "summary",
    "Key points": "summary",
    "Action items": "summary",
    "TL;DR": "summary",
    "Case triage": "enrichment",
}
PROMPT = "Brief the board on {document_title} in {length}:\n{content}"


async def create(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        TEMPLATES, json={"name": "Board brief", "prompt": PROMPT, **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed(client: httpx.AsyncClient, account: Account, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await client.get(
            TEMPLATES, params={**params, "limit": 2, **({"cursor": cursor} if cursor else {})}, headers=account.headers
        )
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def test_every_organization_reads_the_builtin_templates(client: httpx.AsyncClient) -> None:
    account = await register(client)
    templates = await listed(client, account)
    assert {template["name"]: template["kind"] for template in templates} == BUILTIN
    assert all(template["builtin"] for template in templates)
    defaults = {template["kind"]: template["name"] for template in templates if template["is_default"]}
    assert defaults == {"summary": "Executive summary", "enrichment": "Case triage"}
    one = await client.get(f"{TEMPLATES}/{templates[0]['id']}", headers=account.headers)
    assert one.json() == templates[0]


async def test_builtin_templates_cannot_be_changed_or_deleted(client: httpx.AsyncClient) -> None:
    account = await register(client)
    builtin = (await listed(client, account))[0]
    url = f"{TEMPLATES}/{builtin['id']}"
    error_of(await client.patch(url, json={"prompt": "{content}"}, headers=account.headers), 403, "TEMPLATE_READ_ONLY")
    error_of(await client.delete(url, headers=account.headers), 403, "TEMPLATE_READ_ONLY")
    assert (await client.get(url, headers=account.headers)).json() == builtin


async def test_an_organization_creates_lists_changes_and_deletes_its_own(client: httpx.AsyncClient) -> None:
    account = await register(client)
    template = await create(client, account, description="For the quarterly board pack.")
    assert template["builtin"] is False
    assert template["is_default"] is False
    assert {t["name"] for t in await listed(client, account, builtin=False)} == {"Board brief"}
    assert len(await listed(client, account)) == len(BUILTIN) + 1

    url = f"{TEMPLATES}/{template['id']}"
    changed = await client.patch(url, json={"name": "Board memo", "prompt": "Memo: {content}"}, headers=account.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Board memo"
    assert changed.json()["prompt"] == "Memo: {content}"
    assert changed.json()["description"] == "For the quarterly board pack."

    assert (await client.delete(url, headers=account.headers)).status_code == 204
    assert (await client.delete(url, headers=account.headers)).status_code == 204
    error_of(await client.get(url, headers=account.headers), 404, "TEMPLATE_NOT_FOUND")


async def test_prompts_are_checked_when_saved(client: httpx.AsyncClient) -> None:
    account = await register(client)
    unknown = await client.post(
        TEMPLATES, json={"name": "x", "prompt": "For {audience}: {content}"}, headers=account.headers
    )
    error = error_of(unknown, 422, "TEMPLATE_VARIABLE_UNKNOWN")
    assert error["details"]["unknown"] == ["audience"]
    assert "content" in error["details"]["allowed"]
    error_of(
        await client.post(TEMPLATES, json={"name": "x", "prompt": "{content!r}"}, headers=account.headers),
        422,
        "TEMPLATE_SYNTAX_INVALID",
    )
    template = await create(client, account)
    # {length} is a summary variable: the prompt is checked again against the new kind.
    moved = await client.patch(f"{TEMPLATES}/{template['id']}", json={"kind": "enrichment"}, headers=account.headers)
    error_of(moved, 422, "TEMPLATE_VARIABLE_UNKNOWN")
    enrichment = await client.patch(
        f"{TEMPLATES}/{template['id']}",
        json={"kind": "enrichment", "prompt": "Fill {schema} from {content}"},
        headers=account.headers,
    )
    assert enrichment.json()["kind"] == "enrichment"
    assert (await listed(client, account, kind="enrichment", builtin=False)) == [enrichment.json()]


async def test_names_are_unique_in_an_organization(client: httpx.AsyncClient) -> None:
    account, other = await register(client), await register(client)
    await create(client, account)
    await create(client, other)  # another organization may use the name
    again = await client.post(TEMPLATES, json={"name": "Board brief", "prompt": PROMPT}, headers=account.headers)
    error_of(again, 409, "TEMPLATE_NAME_TAKEN")
    second = await create(client, account, name="Second")
    renamed = await client.patch(f"{TEMPLATES}/{second['id']}", json={"name": "Board brief"}, headers=account.headers)
    error_of(renamed, 409, "TEMPLATE_NAME_TAKEN")


async def test_one_default_per_kind_the_newest_wins(client: httpx.AsyncClient) -> None:
    account = await register(client)
    first = await create(client, account, name="First", is_default=True)
    second = await create(client, account, name="Second", is_default=True)
    defaults = [t["name"] for t in await listed(client, account, builtin=False) if t["is_default"]]
    assert defaults == ["Second"]
    await client.patch(f"{TEMPLATES}/{first['id']}", json={"is_default": True}, headers=account.headers)
    defaults = [t["name"] for t in await listed(client, account, builtin=False) if t["is_default"]]
    assert defaults == ["First"]
    # Built-in defaults are not the organization's to change.
    assert "Executive summary" in [t["name"] for t in await listed(client, account, builtin=True) if t["is_default"]]
    assert second["id"]


async def test_viewers_read_and_editors_write(client: httpx.AsyncClient) -> None:
    owner, viewer = await register(client), await register(client)
    await add_member(client, owner, viewer, "viewer")
    template = await create(client, owner)
    as_viewer = viewer.in_org(owner.org_id)
    assert (await client.get(f"{TEMPLATES}/{template['id']}", headers=as_viewer)).status_code == 200
    refused = await client.post(TEMPLATES, json={"name": "v", "prompt": PROMPT}, headers=as_viewer)
    error_of(refused, 403, "FORBIDDEN")
    error_of(await client.delete(f"{TEMPLATES}/{template['id']}", headers=as_viewer), 403, "FORBIDDEN")
    key = await create_api_key(client, owner, scopes=["documents:read"])
    by_key = await client.get(TEMPLATES, headers={"X-API-Key": key["secret"]})
    assert len(by_key.json()["items"]) == len(BUILTIN) + 1


async def test_another_organizations_templates_are_not_found(client: httpx.AsyncClient) -> None:
    owner, intruder = await register(client), await register(client)
    template = await create(client, owner)
    url = f"{TEMPLATES}/{template['id']}"
    error_of(await client.get(url, headers=intruder.headers), 404, "TEMPLATE_NOT_FOUND")
    error_of(await client.patch(url, json={"name": "mine"}, headers=intruder.headers), 404, "TEMPLATE_NOT_FOUND")
    assert (await client.delete(url, headers=intruder.headers)).status_code == 204
    assert (await client.get(url, headers=owner.headers)).status_code == 200
    assert "Board brief" not in {t["name"] for t in await listed(client, intruder)}
