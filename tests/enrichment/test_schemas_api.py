"""/api/v1/enrichment/schemas: the built-in Case triage schema, schemas checked when saved, one default per
organization, names unique per organization, tenancy and roles."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from folio.enrichment.triage import TRIAGE_SCHEMA
from tests.enrichment.conftest import SCHEMAS, TRIAGE_ID, create_schema
from tests.factories import Account, add_member, error_of, register

PRODUCT: dict[str, Any] = {
    "type": "object",
    "required": ["product", "urgent"],
    "properties": {
        "product": {"type": "string", "enum": ["mobile app", "website", "card"]},
        "urgent": {"type": "boolean"},
    },
}


@pytest.fixture
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The session app: these tests start no jobs, and the built-in schema survives the tables' cleaning."""
    return client


async def listed(client: httpx.AsyncClient, account: Account, **params: Any) -> dict[str, dict[str, Any]]:
    response = await client.get(SCHEMAS, params={"limit": 100, **params}, headers=account.headers)
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()["items"]}


async def test_every_organization_reads_the_builtin_case_triage_schema_as_its_default(
    api: httpx.AsyncClient,
) -> None:
    account = await register(api)
    schemas = await listed(api, account)
    assert list(schemas) == ["Case triage"]
    triage = schemas["Case triage"]
    assert (triage["id"], triage["builtin"], triage["is_default"]) == (str(TRIAGE_ID), True, True)
    assert triage["json_schema"] == TRIAGE_SCHEMA
    one = await api.get(f"{SCHEMAS}/{TRIAGE_ID}", headers=account.headers)
    assert one.json() == triage
    assert list(await listed(api, account, builtin="true")) == ["Case triage"]
    assert await listed(api, account, builtin="false") == {}


async def test_builtin_schemas_cannot_be_changed_or_deleted(api: httpx.AsyncClient) -> None:
    account = await register(api)
    url = f"{SCHEMAS}/{TRIAGE_ID}"
    for changes in ({"name": "Mine now"}, {"is_default": False}, {"json_schema": PRODUCT}):
        error_of(await api.patch(url, json=changes, headers=account.headers), 403, "ENRICHMENT_SCHEMA_READ_ONLY")
    error_of(await api.delete(url, headers=account.headers), 403, "ENRICHMENT_SCHEMA_READ_ONLY")
    triage = (await api.get(url, headers=account.headers)).json()
    assert (triage["name"], triage["is_default"], triage["json_schema"]) == ("Case triage", True, TRIAGE_SCHEMA)


async def test_a_valid_schema_is_created_changed_and_read_back(api: httpx.AsyncClient) -> None:
    account = await register(api)
    created = await create_schema(api, account, PRODUCT, "  Product and urgency ", description="Which product.")
    assert (created["name"], created["description"]) == ("Product and urgency", "Which product.")
    assert (created["json_schema"], created["builtin"], created["is_default"]) == (PRODUCT, False, False)
    assert (await api.get(f"{SCHEMAS}/{created['id']}", headers=account.headers)).json() == created
    assert list(await listed(api, account, builtin="false")) == ["Product and urgency"]

    narrower = {**PRODUCT, "required": ["product"]}
    changed = await api.patch(
        f"{SCHEMAS}/{created['id']}", json={"name": "Product", "json_schema": narrower}, headers=account.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["json_schema"]) == ("Product", narrower)
    assert changed.json()["description"] == "Which product."  # what the request left out is kept
    assert (await api.get(f"{SCHEMAS}/{created['id']}", headers=account.headers)).json() == changed.json()


@pytest.mark.parametrize(
    "json_schema",
    [
        pytest.param({"type": "object", "properties": {"a": {"type": "strng"}}}, id="unknown-type"),
        pytest.param({"type": "object", "properties": {"a": {"type": "string", "minLength": -1}}}, id="bad-keyword"),
        pytest.param({"type": "array", "items": {"type": "string"}}, id="not-an-object"),
        pytest.param({"type": "string"}, id="a-string"),
        pytest.param({"type": "object"}, id="no-properties"),
        pytest.param({"type": "object", "properties": {}}, id="empty-properties"),
        pytest.param({"properties": {"a": {"type": "string"}}}, id="no-type"),
        # Valid against the meta-schema, but nothing can be validated against it: the reference leads nowhere.
        pytest.param({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, id="dangling-ref"),
    ],
)
async def test_a_schema_that_is_not_a_json_schema_of_an_object_with_properties_is_refused(
    api: httpx.AsyncClient, json_schema: dict[str, Any]
) -> None:
    account = await register(api)
    refused = await api.post(SCHEMAS, json={"name": "Broken", "json_schema": json_schema}, headers=account.headers)
    error_of(refused, 422, "ENRICHMENT_SCHEMA_INVALID")
    assert await listed(api, account, builtin="false") == {}

    schema = await create_schema(api, account, PRODUCT, "Product")
    url = f"{SCHEMAS}/{schema['id']}"
    error_of(
        await api.patch(url, json={"json_schema": json_schema}, headers=account.headers),
        422,
        "ENRICHMENT_SCHEMA_INVALID",
    )
    assert (await api.get(url, headers=account.headers)).json()["json_schema"] == PRODUCT


async def test_the_path_of_an_invalid_keyword_is_in_the_error(api: httpx.AsyncClient) -> None:
    account = await register(api)
    bad = {"type": "object", "properties": {"a": {"type": "strng"}}}
    refused = await api.post(SCHEMAS, json={"name": "Broken", "json_schema": bad}, headers=account.headers)
    error = error_of(refused, 422, "ENRICHMENT_SCHEMA_INVALID")
    assert error["details"]["path"].startswith("properties/a/type")


async def test_names_are_unique_within_an_organization(api: httpx.AsyncClient) -> None:
    account, other = await register(api), await register(api)
    await create_schema(api, account, PRODUCT, "Product")
    taken = await api.post(SCHEMAS, json={"name": " Product ", "json_schema": PRODUCT}, headers=account.headers)
    assert error_of(taken, 409, "ENRICHMENT_SCHEMA_NAME_TAKEN")["details"] == {"name": "Product"}
    # Another organization's names are no concern of this one.
    await create_schema(api, other, PRODUCT, "Product")
    second = await create_schema(api, account, PRODUCT, "Channel")
    renamed = await api.patch(f"{SCHEMAS}/{second['id']}", json={"name": "Product"}, headers=account.headers)
    error_of(renamed, 409, "ENRICHMENT_SCHEMA_NAME_TAKEN")
    # Keeping its own name is not taking it.
    same = await api.patch(f"{SCHEMAS}/{second['id']}", json={"name": "Channel"}, headers=account.headers)
    assert same.status_code == 200, same.text
    assert sorted(await listed(api, account, builtin="false")) == ["Channel", "Product"]


async def test_an_organization_has_one_default_schema_of_its_own(api: httpx.AsyncClient) -> None:
    account, other = await register(api), await register(api)

    async def defaults(who: Account) -> list[str]:
        return sorted(name for name, item in (await listed(api, who)).items() if item["is_default"])

    first = await create_schema(api, account, PRODUCT, "First", is_default=True)
    assert first["is_default"] is True
    assert await defaults(account) == ["Case triage", "First"]
    second = await create_schema(api, account, PRODUCT, "Second", is_default=True)
    assert await defaults(account) == ["Case triage", "Second"]
    moved = await api.patch(f"{SCHEMAS}/{first['id']}", json={"is_default": True}, headers=account.headers)
    assert moved.json()["is_default"] is True
    assert await defaults(account) == ["Case triage", "First"]
    assert (await api.get(f"{SCHEMAS}/{second['id']}", headers=account.headers)).json()["is_default"] is False
    # Another organization's default is its own affair.
    await create_schema(api, other, PRODUCT, "Theirs", is_default=True)
    assert await defaults(account) == ["Case triage", "First"]
    assert await defaults(other) == ["Case triage", "Theirs"]

    cleared = await api.patch(f"{SCHEMAS}/{first['id']}", json={"is_default": False}, headers=account.headers)
    assert cleared.json()["is_default"] is False
    assert await defaults(account) == ["Case triage"]


async def test_deleting_a_schema_twice_answers_204_both_times(api: httpx.AsyncClient) -> None:
    account = await register(api)
    schema = await create_schema(api, account, PRODUCT, "Product")
    url = f"{SCHEMAS}/{schema['id']}"
    assert (await api.delete(url, headers=account.headers)).status_code == 204
    error_of(await api.get(url, headers=account.headers), 404, "ENRICHMENT_SCHEMA_NOT_FOUND")
    assert (await api.delete(url, headers=account.headers)).status_code == 204
    assert list(await listed(api, account)) == ["Case triage"]
    # The name is free again.
    await create_schema(api, account, PRODUCT, "Product")


async def test_another_organizations_schema_is_not_found(api: httpx.AsyncClient) -> None:
    owner, stranger = await register(api), await register(api)
    schema = await create_schema(api, owner, PRODUCT, "Private")
    url = f"{SCHEMAS}/{schema['id']}"
    error_of(await api.get(url, headers=stranger.headers), 404, "ENRICHMENT_SCHEMA_NOT_FOUND")
    renamed = await api.patch(url, json={"name": "Stolen"}, headers=stranger.headers)
    error_of(renamed, 404, "ENRICHMENT_SCHEMA_NOT_FOUND")
    assert (await api.delete(url, headers=stranger.headers)).status_code == 204
    assert list(await listed(api, stranger)) == ["Case triage"]
    assert (await api.get(url, headers=owner.headers)).json() == schema
    unknown = f"{SCHEMAS}/00000000-0000-7000-8000-000000000000"
    error_of(await api.get(unknown, headers=owner.headers), 404, "ENRICHMENT_SCHEMA_NOT_FOUND")


async def test_viewers_read_schemas_and_editors_write_them(api: httpx.AsyncClient) -> None:
    owner, viewer, editor = await register(api), await register(api), await register(api)
    await add_member(api, owner, viewer, "viewer")
    await add_member(api, owner, editor, "editor")
    as_viewer, as_editor = viewer.in_org(owner.org_id), editor.in_org(owner.org_id)
    schema = await create_schema(api, owner, PRODUCT, "Product")
    url = f"{SCHEMAS}/{schema['id']}"

    read = await api.get(SCHEMAS, headers=as_viewer)
    assert {item["name"] for item in read.json()["items"]} == {"Case triage", "Product"}
    assert (await api.get(url, headers=as_viewer)).json() == schema
    created = await api.post(SCHEMAS, json={"name": "Viewer's", "json_schema": PRODUCT}, headers=as_viewer)
    error_of(created, 403, "FORBIDDEN")
    error_of(await api.patch(url, json={"name": "Viewer's"}, headers=as_viewer), 403, "FORBIDDEN")
    error_of(await api.delete(url, headers=as_viewer), 403, "FORBIDDEN")
    assert (await api.get(url, headers=owner.headers)).json() == schema

    by_editor = await api.post(SCHEMAS, json={"name": "Editor's", "json_schema": PRODUCT}, headers=as_editor)
    assert by_editor.status_code == 201, by_editor.text
    assert (await api.delete(url, headers=as_editor)).status_code == 204
    assert set(await listed(api, owner)) == {"Case triage", "Editor's"}
