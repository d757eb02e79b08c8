"""Signing in with the SDK: accounts and sessions, API keys, and the access token renewed when it expires (once,
however many requests find it expired together)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from folio_client import AuthenticationError, Folio, PermissionDeniedError, Tokens

from tests.client.conftest import Served, new_account, write_folder
from tests.conftest import TEST_JWT_SECRET
from tests.factories import PASSWORD

REFRESH = "/api/v1/auth/refresh"


def expired(access_token: str) -> str:
    """The same access token (same session), signed by the server's key, but expired a minute ago."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    now = datetime.now(UTC)
    claims.update(iat=now - timedelta(minutes=16), exp=now - timedelta(minutes=1))
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")


def test_register_login_me_and_logout(server: Served) -> None:
    with Folio(server.url) as folio:
        registration = folio.auth.register("ada.sdk@example.com", PASSWORD, "Ada")
        me = folio.auth.me()
        tokens = folio.auth.login("ada.sdk@example.com", PASSWORD)
        folio.auth.logout()
        with pytest.raises(AuthenticationError) as signed_out:
            folio.auth.me()
    with Folio(server.url, access_token=tokens.access_token) as old, pytest.raises(AuthenticationError) as revoked:
        old.auth.me()

    assert (me.principal, me.user and me.user.email, me.role) == ("user", "ada.sdk@example.com", "owner")
    assert me.org.id
    assert registration.user.name == "Ada"
    assert tokens.access_token != registration.access_token
    assert signed_out.value.code == "AUTH_REQUIRED"
    assert revoked.value.code in ("AUTH_INVALID", "AUTH_EXPIRED")


def test_an_api_key_from_the_arguments_or_the_environment(server: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    account = new_account(server.url)
    monkeypatch.setenv("FOLIO_SERVER", server.url)
    monkeypatch.setenv("FOLIO_API_KEY", account.api_key)

    with Folio(server.url, api_key=account.api_key) as given, Folio() as from_environment:
        me = given.auth.me()
        assert from_environment.base_url == server.url
        assert from_environment.auth.me() == me
        with pytest.raises(PermissionDeniedError) as denied:
            given.api_keys.create("wider", ["admin"])

    assert me.principal == "api_key"
    assert me.api_key is not None
    assert sorted(me.scopes) == sorted(["answers", "documents:read", "documents:write", "search"])
    assert denied.value.status == 403


def test_an_expired_access_token_is_renewed_and_the_request_sent_again(server: Served) -> None:
    account = new_account(server.url)
    stale = expired(account.access_token)
    heard: list[Tokens] = []

    with Folio(server.url, access_token=stale, refresh_token=account.refresh_token, on_tokens=heard.append) as folio:
        me = folio.auth.me()
        again = folio.auth.me()

    assert me == again
    assert me.principal == "user"
    assert len(server.recorder.made("POST", REFRESH)) == 1
    [tokens] = heard
    assert tokens.refresh_token != account.refresh_token
    sent = [seen.headers["authorization"] for seen in server.recorder.made("GET", "/api/v1/auth/me")]
    assert sent == [f"Bearer {stale}", f"Bearer {tokens.access_token}", f"Bearer {tokens.access_token}"]


def test_requests_that_find_the_token_expired_together_refresh_it_once(server: Served, tmp_path: Path) -> None:
    """The server revokes a session whose refresh token comes back after use: a second refresh would end it."""
    account = new_account(server.url)
    folder = write_folder(tmp_path, {f"note{number}.md": f"Note number {number}.\n" for number in range(6)})

    with Folio(server.url, access_token=expired(account.access_token), refresh_token=account.refresh_token) as folio:
        uploaded = folio.documents.upload_folder(folder, concurrency=6)
        me = folio.auth.me()

    assert len(uploaded.document_ids) == 6
    assert not uploaded.failed
    assert me.principal == "user"
    assert len(server.recorder.made("POST", REFRESH)) == 1


def test_a_refused_refresh_token_raises(server: Served) -> None:
    account = new_account(server.url)

    with Folio(server.url, access_token=expired(account.access_token), refresh_token="frt_unknown") as folio:
        with pytest.raises(AuthenticationError) as refused:
            folio.auth.me()

    assert refused.value.code == "AUTH_INVALID"
    assert len(server.recorder.made("POST", REFRESH)) == 1
    assert len(server.recorder.made("GET", "/api/v1/auth/me")) == 1
