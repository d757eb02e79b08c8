"""/api/v1/auth: register, login, refresh (with rotation and reuse detection), logout and me."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from folio.auth import service as auth_service
from tests.conftest import AppFactory
from tests.factories import PASSWORD, create_api_key, error_of, register
from tests.orgs.membership import add_member

AUTH = "/api/v1/auth"
GRACE = timedelta(seconds=30)  # FOLIO_AUTH__REFRESH_GRACE_SECONDS' default


class Clock:
    """The clock refresh-token rotation reads, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(auth_service, "now", frozen)
    return frozen


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(f"{AUTH}/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {access_token}"})


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(f"{AUTH}/refresh", json={"refresh_token": refresh_token})


# --- register ---------------------------------------------------------------------------------------------------


async def test_register_returns_user_and_tokens(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada Lovelace"}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["name"] == "Ada Lovelace"
    UUID(body["user"]["id"])
    assert body["user"]["created_at"]
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["access_token"]
    assert body["refresh_token"].startswith("frt_")
    assert (await me(client, body["access_token"])).status_code == 200


async def test_register_makes_the_user_owner_of_a_new_personal_org(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "grace@example.com", "password": PASSWORD, "name": "Grace"}
    )
    assert response.status_code == 201, response.text
    token = response.json()["access_token"]

    described = await me(client, token)

    assert described.status_code == 200, described.text
    body = described.json()
    assert body["principal"] == "user"
    assert body["role"] == "owner"
    assert body["user"]["id"] == response.json()["user"]["id"]
    assert body["org"]["name"] == "Grace's workspace"
    orgs = await client.get("/api/v1/orgs", headers={"Authorization": f"Bearer {token}"})
    assert orgs.status_code == 200, orgs.text
    [org] = orgs.json()["items"]
    assert org["id"] == body["org"]["id"]
    assert org["is_personal"] is True
    assert org["role"] == "owner"


async def test_each_registration_gets_its_own_org(client: httpx.AsyncClient) -> None:
    first = await register(client)
    second = await register(client)

    assert first.org_id != second.org_id


async def test_register_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    await register(client, email="taken@example.com")

    response = await client.post(
        f"{AUTH}/register", json={"email": "taken@example.com", "password": PASSWORD, "name": "Again"}
    )

    error_of(response, 409, "EMAIL_TAKEN")


async def test_register_duplicate_email_differing_in_case_is_409(client: httpx.AsyncClient) -> None:
    await register(client, email="case@example.com")

    response = await client.post(
        f"{AUTH}/register", json={"email": "CaSe@Example.COM", "password": PASSWORD, "name": "Again"}
    )

    error_of(response, 409, "EMAIL_TAKEN")


async def test_register_normalises_email_to_lower_case(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "Mixed.Case@Example.COM", "password": PASSWORD, "name": "Mixed"}
    )

    assert response.status_code == 201, response.text
    assert response.json()["user"]["email"] == "mixed.case@example.com"
    # Logging in with any casing finds the same account.
    tokens = await login(client, "MIXED.case@example.com")
    assert (await me(client, tokens["access_token"])).json()["user"]["email"] == "mixed.case@example.com"


async def test_register_short_password_is_weak(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "short@example.com", "password": "Xk9#pQ2!z", "name": "Short"}
    )

    error_of(response, 422, "WEAK_PASSWORD")
    # Nothing was created: the email is still free.
    await register(client, email="short@example.com")


async def test_register_common_password_is_weak(client: httpx.AsyncClient) -> None:
    common = FREQUENCY_LISTS["passwords"]
    for password in ("qwertyuiop", "password1234"):
        assert password in common
        assert len(password) >= 10

        response = await client.post(
            f"{AUTH}/register", json={"email": "common@example.com", "password": password, "name": "Common"}
        )

        error_of(response, 422, "WEAK_PASSWORD")


async def test_register_bad_email_is_a_validation_error_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "not-an-email", "password": PASSWORD, "name": "Nobody"}
    )

    error = error_of(response, 422, "VALIDATION_ERROR")
    locations = [entry["loc"] for entry in error["details"]["errors"]]
    assert ["body", "email"] in locations
    # Inputs are never echoed back.
    assert "not-an-email" not in response.text


async def test_register_missing_fields_are_each_reported(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{AUTH}/register", json={"email": "x@example.com"})

    error = error_of(response, 422, "VALIDATION_ERROR")
    locations = [entry["loc"] for entry in error["details"]["errors"]]
    assert ["body", "password"] in locations
    assert ["body", "name"] in locations


async def test_register_response_never_contains_the_password_or_its_hash(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "hash@example.com", "password": PASSWORD, "name": "Hash"}
    )

    assert response.status_code == 201, response.text
    assert "password" not in response.json()["user"]
    assert "password_hash" not in response.text
    assert "$argon2" not in response.text
    assert PASSWORD not in response.text
    described = await me(client, response.json()["access_token"])
    assert "password" not in described.json()["user"]
    assert "$argon2" not in described.text


# --- login ------------------------------------------------------------------------------------------------------


def assert_token_response(body: dict[str, Any]) -> None:
    assert set(body) >= {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert isinstance(body["access_token"], str)
    assert body["access_token"].count(".") == 2
    assert body["refresh_token"].startswith("frt_")


async def test_login_with_json(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(f"{AUTH}/login", json={"email": account.email, "password": account.password})

    assert response.status_code == 200, response.text
    body = response.json()
    assert_token_response(body)
    assert body["access_token"] != account.access_token
    assert body["refresh_token"] != account.refresh_token
    described = await me(client, body["access_token"])
    assert described.status_code == 200
    assert described.json()["user"]["id"] == str(account.user_id)


async def test_login_with_oauth2_password_form(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(
        f"{AUTH}/login", data={"username": account.email, "password": account.password, "grant_type": "password"}
    )

    assert response.status_code == 200, response.text
    assert_token_response(response.json())
    described = await me(client, response.json()["access_token"])
    assert described.json()["user"]["id"] == str(account.user_id)


async def test_login_form_with_wrong_password_is_401(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(
        f"{AUTH}/login", data={"username": account.email, "password": "not the password", "grant_type": "password"}
    )

    error_of(response, 401, "INVALID_CREDENTIALS")


async def test_login_wrong_password_is_401_with_challenge(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(f"{AUTH}/login", json={"email": account.email, "password": "wrong password 99"})

    error_of(response, 401, "INVALID_CREDENTIALS")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "access_token" not in response.text


async def test_login_unknown_email_is_401_like_a_wrong_password(client: httpx.AsyncClient) -> None:
    account = await register(client)
    wrong_password = await client.post(f"{AUTH}/login", json={"email": account.email, "password": "wrong password 9"})

    response = await client.post(f"{AUTH}/login", json={"email": "nobody@example.com", "password": PASSWORD})

    error = error_of(response, 401, "INVALID_CREDENTIALS")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # The two failures are indistinguishable, so login does not reveal which emails have accounts.
    assert error["message"] == wrong_password.json()["error"]["message"]


async def test_login_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{AUTH}/login", content=b'{"email": "a@example.com", ', headers={"Content-Type": "application/json"}
    )

    error_of(response, 422, "VALIDATION_ERROR")


async def test_login_missing_password_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{AUTH}/login", json={"email": "a@example.com"})

    error = error_of(response, 422, "VALIDATION_ERROR")
    assert any(entry["loc"][-1] == "password" for entry in error["details"]["errors"])


# --- refresh ----------------------------------------------------------------------------------------------------


async def test_refresh_returns_a_new_pair(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await refresh(client, account.refresh_token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert_token_response(body)
    assert body["refresh_token"] != account.refresh_token
    assert body["access_token"] != account.access_token
    described = await me(client, body["access_token"])
    assert described.status_code == 200
    assert described.json()["user"]["id"] == str(account.user_id)
    # The new refresh token rotates in turn.
    again = await refresh(client, body["refresh_token"])
    assert again.status_code == 200, again.text


async def test_refresh_token_works_only_once(client: httpx.AsyncClient, clock: Clock) -> None:
    account = await register(client)
    assert (await refresh(client, account.refresh_token)).status_code == 200
    clock.advance(GRACE + timedelta(seconds=1))

    response = await refresh(client, account.refresh_token)

    error_of(response, 401, "AUTH_INVALID")
    assert "WWW-Authenticate" in response.headers


async def test_refresh_token_reuse_revokes_the_whole_session(client: httpx.AsyncClient, clock: Clock) -> None:
    account = await register(client)
    rotated = await refresh(client, account.refresh_token)
    assert rotated.status_code == 200, rotated.text
    newest_refresh = rotated.json()["refresh_token"]
    newest_access = rotated.json()["access_token"]
    assert (await me(client, newest_access)).status_code == 200
    clock.advance(GRACE + timedelta(seconds=1))

    reuse = await refresh(client, account.refresh_token)

    error_of(reuse, 401, "AUTH_INVALID")
    error_of(await refresh(client, newest_refresh), 401, "AUTH_INVALID")
    error_of(await me(client, newest_access), 401, "AUTH_INVALID")
    error_of(await me(client, account.access_token), 401, "AUTH_INVALID")


async def test_refresh_token_reuse_leaves_other_sessions_alone(client: httpx.AsyncClient, clock: Clock) -> None:
    account = await register(client)
    other = await login(client, account.email)
    assert (await refresh(client, account.refresh_token)).status_code == 200
    clock.advance(GRACE + timedelta(seconds=1))

    error_of(await refresh(client, account.refresh_token), 401, "AUTH_INVALID")

    assert (await me(client, other["access_token"])).status_code == 200
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_a_used_refresh_token_still_works_to_the_last_second_of_the_grace_window(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    first = (await refresh(client, account.refresh_token)).json()
    clock.advance(GRACE)

    second = await refresh(client, account.refresh_token)

    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] not in {first["refresh_token"], account.refresh_token}
    # Both tabs carry on, in the same session: each successor rotates and each access token works.
    for pair in (first, second.json()):
        assert (await me(client, pair["access_token"])).status_code == 200
        assert (await refresh(client, pair["refresh_token"])).status_code == 200
    assert (await me(client, account.access_token)).status_code == 200


async def test_a_used_refresh_token_one_second_after_the_grace_window_revokes_the_session(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    first = (await refresh(client, account.refresh_token)).json()
    clock.advance(GRACE + timedelta(seconds=1))

    reuse = await refresh(client, account.refresh_token)

    error_of(reuse, 401, "AUTH_INVALID")
    error_of(await refresh(client, first["refresh_token"]), 401, "AUTH_INVALID")
    error_of(await me(client, first["access_token"]), 401, "AUTH_INVALID")


async def test_the_grace_window_runs_from_the_first_use(client: httpx.AsyncClient, clock: Clock) -> None:
    account = await register(client)
    assert (await refresh(client, account.refresh_token)).status_code == 200
    clock.advance(GRACE - timedelta(seconds=10))
    within = await refresh(client, account.refresh_token)
    assert within.status_code == 200, within.text
    clock.advance(timedelta(seconds=11))

    reuse = await refresh(client, account.refresh_token)

    error_of(reuse, 401, "AUTH_INVALID")
    error_of(await me(client, within.json()["access_token"]), 401, "AUTH_INVALID")


async def test_two_tabs_refreshing_at_once_both_get_tokens(client: httpx.AsyncClient) -> None:
    account = await register(client)

    answers = await asyncio.gather(*(refresh(client, account.refresh_token) for _ in range(2)))

    assert [answer.status_code for answer in answers] == [200, 200], [answer.text for answer in answers]
    pairs = [answer.json() for answer in answers]
    assert pairs[0]["refresh_token"] != pairs[1]["refresh_token"]
    for pair in pairs:
        assert (await me(client, pair["access_token"])).status_code == 200
        assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_a_zero_grace_window_makes_any_reuse_revoke_the_session(app_factory: AppFactory, clock: Clock) -> None:
    # Even at the very instant of the first use (the clock stands still).
    async with app_factory(auth={"refresh_grace_seconds": 0}) as strict:
        account = await register(strict)
        first = await refresh(strict, account.refresh_token)
        assert first.status_code == 200, first.text

        error_of(await refresh(strict, account.refresh_token), 401, "AUTH_INVALID")
        error_of(await me(strict, first.json()["access_token"]), 401, "AUTH_INVALID")


async def test_refresh_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    await register(client)

    response = await refresh(client, "frt_" + "A" * 43)

    error_of(response, 401, "AUTH_INVALID")


async def test_refresh_without_a_token_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{AUTH}/refresh", json={})

    error = error_of(response, 422, "VALIDATION_ERROR")
    assert ["body", "refresh_token"] in [entry["loc"] for entry in error["details"]["errors"]]


async def test_refresh_expired_token_is_401_expired(client: httpx.AsyncClient, app: FastAPI) -> None:
    account = await register(client)
    digest = hashlib.sha256(account.refresh_token.encode()).hexdigest()
    async with app.state.engine.begin() as connection:
        result = await connection.execute(
            text("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = :digest"),
            {"digest": digest},
        )
        assert result.rowcount == 1

    response = await refresh(client, account.refresh_token)

    error_of(response, 401, "AUTH_EXPIRED")
    assert "expired" in response.headers["WWW-Authenticate"]


# --- logout -----------------------------------------------------------------------------------------------------


async def test_logout_revokes_the_access_and_refresh_tokens(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post(f"{AUTH}/logout", headers=account.headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    error_of(await me(client, account.access_token), 401, "AUTH_INVALID")
    error_of(await refresh(client, account.refresh_token), 401, "AUTH_INVALID")


async def test_logout_keeps_other_sessions_of_the_user(client: httpx.AsyncClient) -> None:
    account = await register(client)
    second = await login(client, account.email)

    assert (await client.post(f"{AUTH}/logout", headers=account.headers)).status_code == 204

    assert (await me(client, second["access_token"])).status_code == 200
    rotated = await refresh(client, second["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert (await me(client, rotated.json()["access_token"])).status_code == 200
    error_of(await me(client, account.access_token), 401, "AUTH_INVALID")


async def test_logout_revokes_access_tokens_from_later_refreshes_of_the_session(client: httpx.AsyncClient) -> None:
    account = await register(client)
    rotated = (await refresh(client, account.refresh_token)).json()

    response = await client.post(f"{AUTH}/logout", headers=account.headers)

    assert response.status_code == 204
    error_of(await me(client, rotated["access_token"]), 401, "AUTH_INVALID")
    error_of(await refresh(client, rotated["refresh_token"]), 401, "AUTH_INVALID")


async def test_logout_with_an_api_key_is_forbidden(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account)

    response = await client.post(f"{AUTH}/logout", headers={"X-API-Key": key["secret"]})

    error_of(response, 403, "FORBIDDEN")
    # The key still works, and so does the user's session.
    assert (await client.get(f"{AUTH}/me", headers={"X-API-Key": key["secret"]})).status_code == 200
    assert (await me(client, account.access_token)).status_code == 200


async def test_logout_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{AUTH}/logout")

    error_of(response, 401, "AUTH_REQUIRED")


# --- me ---------------------------------------------------------------------------------------------------------


async def test_me_as_a_user(client: httpx.AsyncClient) -> None:
    account = await register(client, email="me@example.com", name="Me Myself")

    response = await client.get(f"{AUTH}/me", headers=account.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["principal"] == "user"
    assert body["user"]["id"] == str(account.user_id)
    assert body["user"]["email"] == "me@example.com"
    assert body["user"]["name"] == "Me Myself"
    assert body["org"] == {"id": str(account.org_id), "name": "Me Myself's workspace"}
    assert body["role"] == "owner"
    assert body["scopes"] == sorted(
        ["admin", "alerts:read", "alerts:write", "analytics", "answers", "cases:read", "cases:write"]
        + ["documents:read", "documents:write", "inbox", "search", "shares"]
    )
    assert body["units"] is None
    assert body["api_key"] is None


async def test_me_as_an_api_key(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account, scopes=["search", "documents:read"], name="indexer")

    response = await client.get(f"{AUTH}/me", headers={"X-API-Key": key["secret"]})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["principal"] == "api_key"
    assert body["role"] == "owner"
    assert body["units"] is None
    assert body["scopes"] == ["documents:read", "search"]
    assert body["org"]["id"] == str(account.org_id)
    assert body["api_key"] == {"id": key["id"], "name": "indexer", "prefix": key["prefix"]}
    # The user shown is the member who created the key.
    assert body["user"]["id"] == str(account.user_id)


async def test_me_without_credentials_is_401_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{AUTH}/me")

    error_of(response, 401, "AUTH_REQUIRED")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_me_with_a_garbage_bearer_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{AUTH}/me", headers={"Authorization": "Bearer not-a-token"})

    error_of(response, 401, "AUTH_INVALID")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_me_in_another_org_the_user_belongs_to(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    member = await register(client)
    await add_member(client, owner, member, "viewer")

    response = await client.get(f"{AUTH}/me", headers=member.in_org(owner.org_id))

    assert response.status_code == 200, response.text
    assert response.json()["org"]["id"] == str(owner.org_id)
    assert response.json()["role"] == "viewer"
    assert response.json()["scopes"] == [
        "alerts:read",
        "analytics",
        "answers",
        "cases:read",
        "documents:read",
        "inbox",
        "search",
        "shares",
    ]


async def test_me_in_an_org_the_user_does_not_belong_to_is_403(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    stranger = await register(client)

    response = await client.get(f"{AUTH}/me", headers=stranger.in_org(owner.org_id))

    error_of(response, 403, "ORG_ACCESS_DENIED")
