"""The fake's OAuth endpoints of a public integration, and a connector whose access token expires mid-way."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from folio.integrations.connectors.notion import NotionConfig, NotionConnector
from folio.integrations.errors import CredentialsRejected
from folio.integrations.http import Retrying, SourceHttp
from folio.integrations.oauth import OAuthToken, TokenEndpoint
from folio.outbound import OutboundPolicy
from folio.settings import OAuthApp
from tests.integrations.fakes.notion import CLIENT_ID, CLIENT_SECRET, FakeNotion

REDIRECT_URI = "https://folio.example.com/api/v1/integrations/oauth/callback"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


async def authorized_code(fake: FakeNotion, http: httpx.AsyncClient) -> str:
    params = {"client_id": CLIENT_ID, "response_type": "code", "owner": "user", "redirect_uri": REDIRECT_URI}
    answer = await http.get(f"{fake.base_url}/v1/oauth/authorize", params=params | {"state": "st-1"})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


async def exchange(
    http: httpx.AsyncClient, fake: FakeNotion, body: dict[str, str], auth: str = BASIC
) -> httpx.Response:
    return await http.post(f"{fake.base_url}/v1/oauth/token", json=body, headers={"Authorization": auth})


async def test_a_code_is_exchanged_once_for_tokens_naming_the_workspace(fake: FakeNotion) -> None:
    async with httpx.AsyncClient() as http:
        code = await authorized_code(fake, http)
        grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        answer = await exchange(http, fake, grant)
        replayed = await exchange(http, fake, grant)

    assert answer.status_code == 200
    tokens = answer.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["workspace_name"] == "Acme Docs"
    assert {"access_token", "refresh_token", "bot_id", "workspace_id"} <= tokens.keys()
    assert replayed.status_code == 400
    assert replayed.json()["code"] == "invalid_grant"


async def test_the_token_endpoint_refuses_a_wrong_client_or_redirect(fake: FakeNotion) -> None:
    async with httpx.AsyncClient() as http:
        code = await authorized_code(fake, http)
        grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        wrong_client = await exchange(http, fake, grant, auth="Basic " + base64.b64encode(b"x:y").decode())
        wrong_redirect = await exchange(http, fake, grant | {"redirect_uri": "https://evil.example/cb"})

    assert wrong_client.status_code == 401
    assert wrong_redirect.status_code == 400


async def test_an_expired_access_token_is_refreshed_and_the_sync_goes_on(fake: FakeNotion) -> None:
    fake.seed(3)
    async with httpx.AsyncClient() as http:
        code = await authorized_code(fake, http)
        grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        tokens = (await exchange(http, fake, grant)).json()
    renewed: list[dict[str, Any]] = []

    async def keep(credentials: dict[str, Any]) -> None:
        renewed.append(credentials)

    policy = OutboundPolicy(allow_private=True)
    endpoint = TokenEndpoint.notion(
        fake.base_url, OAuthApp(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET))
    )
    auth = OAuthToken(tokens, endpoint, policy, keep)
    async with SourceHttp("notion", policy, auth, Retrying(max_retries=0)) as source:
        notion = NotionConnector(NotionConfig(), source, fake.base_url, max_items=100)
        assert await notion.check() == "Notion workspace Acme Docs"
        fake.expire_tokens()

        assert len([item async for item in notion.listing({})]) == 3

    (stored,) = renewed
    assert stored["access_token"] != tokens["access_token"]
    assert stored["refresh_token"] != tokens["refresh_token"]
    async with httpx.AsyncClient() as http:
        reused = await exchange(http, fake, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 400


async def test_a_revoked_connection_cannot_be_refreshed(fake: FakeNotion) -> None:
    async with httpx.AsyncClient() as http:
        code = await authorized_code(fake, http)
        grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        tokens = (await exchange(http, fake, grant)).json()

    async def keep(credentials: dict[str, Any]) -> None:
        raise AssertionError("nothing is renewed")

    policy = OutboundPolicy(allow_private=True)
    endpoint = TokenEndpoint.notion(
        fake.base_url, OAuthApp(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET))
    )
    fake.revoke()
    async with SourceHttp("notion", policy, OAuthToken(tokens, endpoint, policy, keep), Retrying(0)) as source:
        with pytest.raises(CredentialsRejected) as rejected:
            await NotionConnector(NotionConfig(), source, fake.base_url, max_items=100).check()

    assert tokens["access_token"] not in str(rejected.value)
