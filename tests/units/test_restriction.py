"""A member limited to business units sees only those units' cases, in every route that reads cases: listed,
looked up, as documents, in search and in answers; and sees them all again once the limit is lifted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import empty_tables
from tests.corpus import Doc, ingest
from tests.factories import Account, add_member, register
from tests.records.conftest import csv_bytes, import_batch
from tests.units.helpers import create_unit, set_units

CASES = "/api/v1/cases"
DOCUMENTS = "/api/v1/documents"
MAPPING = {"external_id": "id", "text": "message", "business_unit": "unit"}
ROWS = [
    "id,message,unit",
    "e1,I want a refund for the broken kettle I ordered last week.,EMEA",
    "e2,Please refund the second charge on my card.,emea",
    "n1,My refund for the cancelled flight never arrived.,NA",
    "m1,Where is the refund for my returned shoes?,Mars",  # no such unit: a case of none
    "z1,How long does a refund take to reach my account?,",
]
EVERY_CASE = {"e1", "e2", "n1", "m1", "z1"}


@dataclass
class World:
    client: httpx.AsyncClient
    owner: Account
    emea: Account  # viewer limited to EMEA
    na: Account  # editor limited to NA
    free: Account  # viewer limited to no unit
    cases: dict[str, str]  # case id by external id
    handbook: str  # a document that is not a case

    def headers(self, account: Account) -> dict[str, str]:
        return account.in_org(self.owner.org_id)

    def ids(self, *external_ids: str) -> set[str]:
        return {self.cases[external_id] for external_id in external_ids}


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's cases live until it ends (see `world`)."""


@pytest.fixture(scope="module")
async def world(app: FastAPI) -> AsyncIterator[World]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        owner, emea, na, free = [await register(client) for _ in range(4)]
        for member, role in ((emea, "viewer"), (na, "editor"), (free, "viewer")):
            await add_member(client, owner, member, role)
        emea_unit, na_unit = await create_unit(client, owner, "EMEA"), await create_unit(client, owner, "NA")
        await set_units(client, owner, emea, emea_unit["id"])
        await set_units(client, owner, na, na_unit["id"])
        await import_batch(client, owner, csv_bytes(*ROWS), MAPPING)
        handbook = Doc("handbook.txt", "The refund policy: a refund reaches the customer within ten days.")
        ids, _ = await ingest(client, owner, {"handbook": handbook})
        listed = await _list(client, owner.headers, CASES)
        yield World(
            client, owner, emea, na, free, {case["external_id"]: case["id"] for case in listed}, str(ids["handbook"])
        )
    await empty_tables(app)


async def _list(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged listing."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        response = await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        if (cursor := response.json()["next_cursor"]) is None:
            return items


async def _case_ids(world: World, account: Account, **params: Any) -> set[str]:
    return {case["id"] for case in await _list(world.client, world.headers(account), CASES, **params)}


async def _searched(world: World, account: Account | dict[str, str], **request: Any) -> set[str]:
    headers = world.headers(account) if isinstance(account, Account) else account
    response = await world.client.post("/api/v1/search", json={"query": "refund", **request}, headers=headers)
    assert response.status_code == 200, response.text
    return {hit["document_id"] for hit in response.json()["items"]}


async def _sources(world: World, account: Account) -> set[str]:
    response = await world.client.post(
        "/api/v1/answers", json={"question": "How do I get a refund?", "top_k": 10}, headers=world.headers(account)
    )
    assert response.status_code == 200, response.text
    return {source["document_id"] for source in response.json()["sources"]}


async def test_a_limited_member_lists_only_the_cases_of_their_units(world: World) -> None:
    assert set(world.cases) == EVERY_CASE
    assert await _case_ids(world, world.emea) == world.ids("e1", "e2")
    assert await _case_ids(world, world.na) == world.ids("n1")
    assert await _case_ids(world, world.free) == world.ids(*EVERY_CASE)
    na_unit = (await world.client.get(f"{CASES}/{world.cases['n1']}", headers=world.owner.headers)).json()["unit_id"]
    assert await _case_ids(world, world.emea, unit_id=na_unit) == set()


async def test_a_limited_member_cannot_look_up_a_case_of_another_unit_or_of_none(world: World) -> None:
    for external_id in ("n1", "m1", "z1"):
        for path in (f"{CASES}/{world.cases[external_id]}", f"{DOCUMENTS}/{world.cases[external_id]}"):
            response = await world.client.get(path, headers=world.headers(world.emea))
            assert response.status_code == 404, (path, response.text)
    for path in (f"{CASES}/{world.cases['e1']}", f"{DOCUMENTS}/{world.cases['e1']}"):
        assert (await world.client.get(path, headers=world.headers(world.emea))).status_code == 200


async def test_a_limited_member_lists_only_the_documents_of_their_cases_and_the_other_documents(
    world: World,
) -> None:
    listed = {document["id"] for document in await _list(world.client, world.headers(world.emea), DOCUMENTS)}
    assert listed == world.ids("e1", "e2") | {world.handbook}
    everything = {document["id"] for document in await _list(world.client, world.headers(world.free), DOCUMENTS)}
    assert everything == world.ids(*EVERY_CASE) | {world.handbook}


async def test_a_limited_members_search_finds_only_the_cases_of_their_units(world: World) -> None:
    assert await _searched(world, world.free, top_k=50) == world.ids(*EVERY_CASE) | {world.handbook}
    for mode in ("hybrid", "keyword", "vector"):
        assert await _searched(world, world.emea, top_k=50, mode=mode) == world.ids("e1", "e2") | {world.handbook}
        assert await _searched(world, world.na, top_k=50, mode=mode) == world.ids("n1") | {world.handbook}
    named = {"document_ids": [world.cases["n1"], world.cases["z1"]]}
    assert await _searched(world, world.emea, filters=named) == set()


async def test_a_limited_members_api_key_searches_as_they_do(world: World) -> None:
    made = await world.client.post(
        "/api/v1/api-keys", json={"name": "script", "scopes": ["search"]}, headers=world.headers(world.na)
    )
    assert made.status_code == 201, made.text
    key = {"X-API-Key": made.json()["secret"]}
    assert await _searched(world, key, top_k=50) == world.ids("n1") | {world.handbook}


async def test_a_limited_member_is_answered_only_from_the_cases_of_their_units(world: World) -> None:
    everything = await _sources(world, world.free)
    assert everything - {world.handbook} - world.ids("e1", "e2") != set()  # others' cases answer the free member
    assert await _sources(world, world.emea) <= world.ids("e1", "e2") | {world.handbook}
    assert await _sources(world, world.na) <= world.ids("n1") | {world.handbook}


async def test_limiting_a_member_and_lifting_the_limit_show_in_their_next_request(world: World) -> None:
    member = await register(world.client)
    await add_member(world.client, world.owner, member, "editor")
    emea_unit = (await world.client.get(f"{CASES}/{world.cases['e1']}", headers=world.owner.headers)).json()
    assert await _case_ids(world, member) == world.ids(*EVERY_CASE)

    await set_units(world.client, world.owner, member, emea_unit["unit_id"])
    assert await _case_ids(world, member) == world.ids("e1", "e2")
    assert await _searched(world, member, top_k=50) == world.ids("e1", "e2") | {world.handbook}

    await set_units(world.client, world.owner, member)
    assert await _case_ids(world, member) == world.ids(*EVERY_CASE)
