"""Helpers for the case tests: business units straight in the database (as an administrator would make them),
cases imported from a small CSV, and reading them back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from folio.auth.principal_cache import invalidate, member_tag
from folio.models import BusinessUnit, UnitMembership
from tests.conftest import empty_tables
from tests.factories import Account, add_member, register
from tests.records.conftest import all_records, csv_bytes, import_batch

CASES = "/api/v1/cases"


@pytest.fixture(scope="module")
async def _empty_tables_at_the_end(app: FastAPI) -> AsyncIterator[None]:
    """For a module whose cases live until it ends (it turns the per-test emptying off): empty the tables then."""
    yield
    await empty_tables(app)


async def make_unit(app: FastAPI, org_id: UUID, name: str, *members: Account) -> UUID:
    """A business unit of the organization, with `members` limited to it (and any other unit they are given)."""
    async with app.state.sessionmaker() as session, session.begin():
        unit = BusinessUnit(org_id=org_id, name=name)
        session.add(unit)
        await session.flush()
        for member in members:
            session.add(UnitMembership(org_id=org_id, user_id=member.user_id, unit_id=unit.id))
            invalidate(session, member_tag(org_id, member.user_id))
    unit_id: UUID = unit.id
    return unit_id


MAPPING = {"external_id": "id", "text": "text", "business_unit": "unit", "priority": "priority"}


async def import_cases(client: httpx.AsyncClient, account: Account, *rows: str) -> dict[str, dict[str, Any]]:
    """Import CSV rows `id,text,unit,priority` without enrichment; every case of the organization by external id."""
    await import_batch(client, account, csv_bytes("id,text,unit,priority", *rows), MAPPING, enrich="false")
    return {case["external_id"]: case for case in await all_records(client, account.headers)}


async def patch_case(
    client: httpx.AsyncClient, headers: dict[str, str], ref: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"{CASES}/{ref}", json=body, headers=headers)


async def case_of(client: httpx.AsyncClient, headers: dict[str, str], ref: str) -> dict[str, Any]:
    response = await client.get(f"{CASES}/{ref}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Team:
    """An organization (the owner's) with a member of every other role, and a case."""

    client: httpx.AsyncClient
    owner: Account
    admin: Account
    bu_manager: Account
    supervisor: Account
    editor: Account
    viewer: Account
    case: dict[str, Any]

    def headers(self, account: Account) -> dict[str, str]:
        return account.in_org(self.owner.org_id)

    async def patch(self, account: Account, body: dict[str, Any], ref: str | None = None) -> httpx.Response:
        return await patch_case(self.client, self.headers(account), ref or self.case["id"], body)

    async def current(self, ref: str | None = None) -> dict[str, Any]:
        return await case_of(self.client, self.owner.headers, ref or self.case["id"])


@pytest.fixture
async def team(client: httpx.AsyncClient) -> Team:
    return await make_team(client)


async def make_team(client: httpx.AsyncClient) -> Team:
    owner = await register(client, name="Olive Owner")
    members: dict[str, Account] = {}
    for role in ("admin", "bu_manager", "supervisor", "editor", "viewer"):
        members[role] = await register(client, name=f"{role.replace('_', ' ').title()} Person")
        await add_member(client, owner, members[role], role)
    cases = await import_cases(client, owner, "k1,The courier left the parcel in the rain,,normal")
    return Team(client, owner, case=cases["k1"], **members)
