"""Reading the audit log as a client does, and as the database holds it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.factories import Account

AUDIT = "/api/v1/audit"


async def entries(client: httpx.AsyncClient, account: Account, **params: Any) -> list[dict[str, Any]]:
    """Every entry the account sees in its own organization (all pages), newest first."""
    headers = account.headers
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        response = await client.get(AUDIT, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


async def actions(client: httpx.AsyncClient, account: Account, **params: Any) -> list[str]:
    return [entry["action"] for entry in await entries(client, account, **params)]


async def the_entry(client: httpx.AsyncClient, account: Account, action: str, **params: Any) -> dict[str, Any]:
    """The one entry of `action`."""
    [entry] = await entries(client, account, action=action, **params)
    return entry


async def stored_rows(app: FastAPI) -> list[dict[str, Any]]:
    """Every row of every organization, as stored."""
    async with app.state.engine.connect() as connection:
        result = await connection.execute(text("SELECT * FROM audit_log ORDER BY id"))
        return [dict(row._mapping) for row in result]
