from __future__ import annotations

import httpx

from tests.factories import register


async def test_register_then_me(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.get("/api/v1/auth/me", headers=account.headers)
    assert response.json()["role"] == "owner"
