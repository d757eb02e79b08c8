"""Business units and members' units, made and read as a client does."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from tests.factories import Account

UNITS = "/api/v1/units"


def member_units_path(user_id: UUID) -> str:
    return f"/api/v1/members/{user_id}/units"


async def create_unit(client: httpx.AsyncClient, admin: Account, name: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(UNITS, json={"name": name, **fields}, headers=admin.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def put_units(
    client: httpx.AsyncClient, actor: Account | dict[str, str], member: Account, *unit_ids: str
) -> httpx.Response:
    """PUT the member's units as `actor` (an account, or the headers of an API key)."""
    headers = actor.headers if isinstance(actor, Account) else actor
    return await client.put(member_units_path(member.user_id), json={"unit_ids": list(unit_ids)}, headers=headers)


async def set_units(client: httpx.AsyncClient, admin: Account, member: Account, *unit_ids: str) -> None:
    response = await put_units(client, admin, member, *unit_ids)
    assert response.status_code == 200, response.text


async def unit_ids_of(client: httpx.AsyncClient, reader: Account | dict[str, str], member: Account) -> set[str]:
    headers = reader.headers if isinstance(reader, Account) else reader
    response = await client.get(member_units_path(member.user_id), headers=headers)
    assert response.status_code == 200, response.text
    return {unit["id"] for unit in response.json()["units"]}


async def change_role(client: httpx.AsyncClient, owner: Account, member: Account, role: str) -> httpx.Response:
    return await client.patch(
        f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}", json={"role": role}, headers=owner.headers
    )
