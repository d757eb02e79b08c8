"""Signing in through the fake provider: new accounts, returning ones, the front end's one-time code, and the
linking of an existing account only with its password."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from folio.models import User, UserIdentity
from tests.auth.sso.conftest import RETURN_URL, SSO, sign_in
from tests.auth.sso.fake_provider import CLIENT_SECRET, FakeProvider
from tests.factories import PASSWORD, error_of, register


async def me(browser: httpx.AsyncClient, access_token: str) -> dict[str, Any]:
    response = await browser.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def identities(app: FastAPI) -> list[UserIdentity]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(UserIdentity)))


def returned(response: httpx.Response) -> dict[str, str]:
    """The parameters of the front-end URL a callback sent the browser to."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(RETURN_URL)
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


async def test_the_providers_are_listed_with_their_labels(browser: httpx.AsyncClient) -> None:
    response = await browser.get(SSO)
    assert response.status_code == 200
    assert response.json() == [
        {"name": "fake", "label": "Fake ID"},
        {"name": "other", "label": "other"},
        {"name": "down", "label": "down"},
    ]
    assert CLIENT_SECRET not in response.text


async def test_start_redirects_with_state_nonce_and_pkce(browser: httpx.AsyncClient, fake: FakeProvider) -> None:
    response = await browser.get(f"{SSO}/fake/start")
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{fake.base_url}/authorize"
    query = parse_qs(target.query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://testserver/api/v1/auth/sso/fake/callback"]
    assert query["scope"] == ["openid email profile"]
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32
    assert "code_verifier" not in query
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_an_unknown_provider_is_not_found(browser: httpx.AsyncClient) -> None:
    error_of(await browser.get(f"{SSO}/nobody/start"), 404, "SSO_PROVIDER_NOT_FOUND")


async def test_a_new_person_gets_an_account_and_a_personal_organization(
    browser: httpx.AsyncClient, sso_app: FastAPI
) -> None:
    response = await sign_in(browser)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "signed_in"
    assert body["created"] is True
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["name"] == "Ada Lovelace"
    who = await me(browser, body["access_token"])
    assert who["user"]["id"] == body["user"]["id"]
    assert who["role"] == "owner"
    refreshed = await browser.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200
    async with sso_app.state.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == "ada@example.com"))
    assert user is not None
    assert user.auth_provider == "fake"
    [identity] = await identities(sso_app)
    assert (identity.user_id, identity.provider, identity.subject) == (user.id, "fake", "ada-1")


async def test_a_returning_person_signs_in_to_the_same_account(browser: httpx.AsyncClient) -> None:
    first = (await sign_in(browser)).json()
    again = await sign_in(browser)
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["user"]["id"] == first["user"]["id"]


async def test_the_identity_not_the_email_finds_the_account(browser: httpx.AsyncClient, fake: FakeProvider) -> None:
    first = (await sign_in(browser)).json()
    fake.person["email"] = "ada.lovelace@example.com"
    again = (await sign_in(browser)).json()
    assert again["user"]["id"] == first["user"]["id"]


async def test_with_return_to_the_browser_brings_a_one_time_code_the_front_end_trades_for_tokens(
    browser: httpx.AsyncClient,
) -> None:
    response = await sign_in(browser, return_to=RETURN_URL + "done?tab=2")
    params = returned(response)
    assert set(params) == {"tab", "sso_code"}
    assert "token" not in response.headers["location"]
    exchanged = await browser.post(f"{SSO}/exchange", json={"code": params["sso_code"]})
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.headers["cache-control"] == "no-store"
    assert (await me(browser, exchanged.json()["access_token"]))["user"]["email"] == "ada@example.com"
    error_of(await browser.post(f"{SSO}/exchange", json={"code": params["sso_code"]}), 400, "SSO_TICKET_INVALID")


async def test_an_exchange_code_expires_within_a_minute(
    browser: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from folio.auth.sso import service

    code = returned(await sign_in(browser, return_to=RETURN_URL))["sso_code"]
    monkeypatch.setattr(service, "now", lambda: datetime.now(UTC) + timedelta(seconds=service.EXCHANGE_SECONDS + 1))
    error_of(await browser.post(f"{SSO}/exchange", json={"code": code}), 400, "SSO_TICKET_INVALID")


async def test_an_existing_account_is_linked_only_with_its_password(
    browser: httpx.AsyncClient, sso_app: FastAPI
) -> None:
    local = await register(browser, email="ada@example.com")
    response = await sign_in(browser)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "link_required"
    assert body["email"] == "ada@example.com"
    assert "access_token" not in body
    assert await identities(sso_app) == []

    wrong = await browser.post(f"{SSO}/link", json={"ticket": body["link_ticket"], "password": "not the password"})
    error_of(wrong, 401, "INVALID_CREDENTIALS")
    assert await identities(sso_app) == []
    # One attempt per ticket: the right password now needs a new sign-in at the provider.
    retried = await browser.post(f"{SSO}/link", json={"ticket": body["link_ticket"], "password": PASSWORD})
    error_of(retried, 400, "SSO_TICKET_INVALID")

    ticket = (await sign_in(browser)).json()["link_ticket"]
    linked = await browser.post(f"{SSO}/link", json={"ticket": ticket, "password": PASSWORD})
    assert linked.status_code == 200, linked.text
    assert (await me(browser, linked.json()["access_token"]))["user"]["id"] == str(local.user_id)
    [identity] = await identities(sso_app)
    assert identity.user_id == local.user_id
    error_of(
        await browser.post(f"{SSO}/link", json={"ticket": ticket, "password": PASSWORD}), 400, "SSO_TICKET_INVALID"
    )

    later = (await sign_in(browser)).json()
    assert later["status"] == "signed_in"
    assert later["user"]["id"] == str(local.user_id)


async def test_with_return_to_the_link_ticket_comes_back_in_the_url(browser: httpx.AsyncClient) -> None:
    await register(browser, email="ada@example.com")
    params = returned(await sign_in(browser, return_to=RETURN_URL))
    assert set(params) == {"sso_link"}
    linked = await browser.post(f"{SSO}/link", json={"ticket": params["sso_link"], "password": PASSWORD})
    assert linked.status_code == 200, linked.text


async def test_a_disabled_account_is_refused_at_the_callback_and_at_the_exchange(
    browser: httpx.AsyncClient, sso_app: FastAPI
) -> None:
    first = (await sign_in(browser)).json()
    code = returned(await sign_in(browser, return_to=RETURN_URL))["sso_code"]
    async with sso_app.state.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == UUID(first["user"]["id"])).values(is_active=False))
    error_of(await sign_in(browser), 403, "SSO_ACCOUNT_DISABLED")
    error_of(await browser.post(f"{SSO}/exchange", json={"code": code}), 403, "SSO_ACCOUNT_DISABLED")
