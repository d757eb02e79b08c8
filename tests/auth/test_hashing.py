"""Password hashing at registration and login: no database connection held while argon2 runs, and a taken
address costs a hash like a new one (so its answer does not come back early)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from folio.auth import passwords
from tests.apps import serve
from tests.connections import lent_to_requests
from tests.factories import PASSWORD, error_of, register


@dataclass
class Calls:
    """How many connections the request held at each call of the hashing functions."""

    hash_password: list[int] = field(default_factory=list)
    verify_password: list[int] = field(default_factory=list)


@pytest.fixture
async def own_app(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of the test's own, whose pool the probe follows."""
    async with serve(database_url) as (application, client):
        yield application, client


@pytest.fixture
def calls(own_app: tuple[FastAPI, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    seen = Calls()
    original_hash, original_verify = passwords.hash_password, passwords.verify_password
    with lent_to_requests(own_app[0]) as lent:

        async def hash_password(password: str) -> str:
            seen.hash_password.append(lent.to_this_request())
            return await original_hash(password)

        async def verify_password(password: str, password_hash: str | None) -> bool:
            seen.verify_password.append(lent.to_this_request())
            return await original_verify(password, password_hash)

        monkeypatch.setattr(passwords, "hash_password", hash_password)
        monkeypatch.setattr(passwords, "verify_password", verify_password)
        yield seen


async def test_registration_hashes_with_no_connection_held(
    own_app: tuple[FastAPI, httpx.AsyncClient], calls: Calls
) -> None:
    _, client = own_app

    await register(client, email="hashing@example.com")

    assert calls.hash_password == [0]


async def test_login_verifies_with_no_connection_held(own_app: tuple[FastAPI, httpx.AsyncClient], calls: Calls) -> None:
    _, client = own_app
    account = await register(client)

    for email, password, status in (
        (account.email, PASSWORD, 200),
        (account.email, "not the password 99", 401),
        ("nobody@example.com", PASSWORD, 401),
    ):
        response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == status, response.text

    assert calls.verify_password == [0, 0, 0]


async def test_a_taken_address_is_hashed_like_a_new_one(
    own_app: tuple[FastAPI, httpx.AsyncClient], calls: Calls
) -> None:
    _, client = own_app
    await register(client, email="taken@example.com")

    response = await client.post(
        "/api/v1/auth/register", json={"email": "taken@example.com", "password": PASSWORD, "name": "Again"}
    )

    error_of(response, 409, "EMAIL_TAKEN")
    assert calls.hash_password == [0, 0]
