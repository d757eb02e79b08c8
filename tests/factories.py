"""Helpers that create what tests need through the public API, as a client would."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

PASSWORD = "a sturdy passphrase 42"
ENVELOPE_FIELDS = {"code", "message", "details", "request_id"}
_numbers = itertools.count()


@dataclass
class Account:
    user_id: UUID
    org_id: UUID
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def in_org(self, org_id: UUID) -> dict[str, str]:
        return {**self.headers, "X-Org-Id": str(org_id)}


async def register(
    client: httpx.AsyncClient, *, email: str | None = None, password: str = PASSWORD, name: str = "Test User"
) -> Account:
    email = email or f"user{next(_numbers)}@example.com"
    response = await client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    return Account(
        user_id=UUID(body["user"]["id"]),
        org_id=UUID(me.json()["org"]["id"]),
        email=email,
        password=password,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
    )


async def create_api_key(
    client: httpx.AsyncClient, account: Account, *, scopes: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    payload = {"name": "test key", "scopes": scopes or ["documents:read", "search"], **fields}
    response = await client.post("/api/v1/api-keys", json=payload, headers=account.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_member(client: httpx.AsyncClient, owner: Account, member: Account, role: str) -> None:
    """`member` joins `owner`'s organization with `role`: invited, then accepting (nobody joins without consent)."""
    invited = await client.post(
        f"/api/v1/orgs/{owner.org_id}/invitations", json={"email": member.email, "role": role}, headers=owner.headers
    )
    assert invited.status_code == 202, invited.text
    accepted = await client.post(f"/api/v1/invitations/{invited.json()['id']}/accept", headers=member.headers)
    assert accepted.status_code == 200, accepted.text


async def org_with(client: httpx.AsyncClient, *roles: str) -> tuple[Account, list[Account]]:
    """An owner's personal organization with one new member per role given."""
    owner = await register(client)
    members = []
    for role in roles:
        member = await register(client)
        await add_member(client, owner, member, role)
        members.append(member)
    return owner, members


def error_code(response: httpx.Response) -> str:
    """The `code` of an error envelope, after checking the envelope's shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == ENVELOPE_FIELDS, body
    code: str = body["error"]["code"]
    return code


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check the status, the envelope, its code and that request_id is the X-Request-ID header; return the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert error_code(response) == code, response.text
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    assert error["request_id"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error


async def wait_until_finished(
    client: httpx.AsyncClient, account: Account, job_id: UUID, *, seconds: float = 20
) -> dict[str, Any]:
    """Poll the API until the job finishes (bounded, so a broken runner fails the test instead of hanging)."""
    async with asyncio.timeout(seconds):
        while True:
            response = await client.get(f"/api/v1/jobs/{job_id}", headers=account.headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in {"succeeded", "failed", "cancelled"}:
                return body
            await asyncio.sleep(0.05)
