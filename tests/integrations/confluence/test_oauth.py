"""Confluence reached with OAuth 2.0 (3LO): the fake's authorization server, and the connector on the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from folio.integrations.connector import Item
from folio.integrations.errors import CredentialsRejected
from tests.integrations.confluence.conftest import Connect, token_headers
from tests.integrations.fakes.confluence import CLIENT_ID, CLIENT_SECRET, CLOUD_ID, SITE_NAME, FakeConfluence

REDIRECT_URI = "https://folio.example.com/api/v1/integrations/oauth/callback"


class Refreshing:
    """An authorizer that renews its access token at the fake's token endpoint, as the sync's does."""

    def __init__(self, fake: FakeConfluence, access: str, refresh: str) -> None:
        self.fake, self.access, self.refresh_token, self.refreshes = fake, access, refresh, 0

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    async def refresh(self) -> bool:
        grant = {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{self.fake.base_url}/oauth/token", json=grant | client_credentials())
        if answer.status_code != 200:
            return False
        self.access, self.refresh_token = answer.json()["access_token"], answer.json()["refresh_token"]
        self.refreshes += 1
        return True


def client_credentials() -> dict[str, str]:
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def gateway(fake: FakeConfluence) -> str:
    return f"{fake.base_url}/ex/confluence/{CLOUD_ID}"


async def authorization_code(client: httpx.AsyncClient, fake: FakeConfluence) -> str:
    query = {"audience": "api.atlassian.com", "client_id": CLIENT_ID, "scope": "read:page:confluence offline_access"}
    query |= {"redirect_uri": REDIRECT_URI, "state": "st-1", "response_type": "code", "prompt": "consent"}
    consented = await client.get(f"{fake.base_url}/authorize", params=query)
    assert consented.status_code in {302, 307}
    back = urlsplit(consented.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
    values = parse_qs(back.query)
    assert values["state"] == ["st-1"]
    return values["code"][0]


async def test_the_authorization_code_is_traded_once_for_tokens_that_reach_the_site(fake: FakeConfluence) -> None:
    async with httpx.AsyncClient() as client:
        code = await authorization_code(client, fake)
        grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        wrong_secret = await client.post(
            f"{fake.base_url}/oauth/token", json=grant | client_credentials() | {"client_secret": "nope"}
        )
        traded = await client.post(f"{fake.base_url}/oauth/token", json=grant | client_credentials())
        again = await client.post(f"{fake.base_url}/oauth/token", json=grant | client_credentials())
        tokens = traded.json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        resources = await client.get(f"{fake.base_url}/oauth/token/accessible-resources", headers=bearer)

    assert wrong_secret.status_code == 401
    assert traded.status_code == 200
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert "offline_access" in tokens["scope"]
    assert again.status_code == 403
    assert again.json()["error"] == "invalid_grant"
    assert resources.json() == [
        {"id": CLOUD_ID, "url": fake.base_url, "name": SITE_NAME, "scopes": [], "avatarUrl": ""}
    ]


async def test_a_code_for_another_redirect_uri_is_refused(fake: FakeConfluence) -> None:
    async with httpx.AsyncClient() as client:
        code = await authorization_code(client, fake)
        grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://evil.example.com/cb"}
        answer = await client.post(f"{fake.base_url}/oauth/token", json=grant | client_credentials())
    assert answer.status_code == 403


async def test_refresh_tokens_rotate(fake: FakeConfluence) -> None:
    _, refresh = fake.issue_tokens()
    async with httpx.AsyncClient() as client:
        grant = {"grant_type": "refresh_token", "refresh_token": refresh} | client_credentials()
        renewed = await client.post(f"{fake.base_url}/oauth/token", json=grant)
        reused = await client.post(f"{fake.base_url}/oauth/token", json=grant)
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != refresh
    assert reused.status_code == 403


async def test_the_connector_lists_and_fetches_through_the_gateway(fake: FakeConfluence, connect: Connect) -> None:
    space = fake.add_space("ENG")
    pages = fake.seed(300, space)
    attachment = fake.add_attachment(pages[0], "spec.pdf", b"%PDF gateway", "application/pdf")
    access, _ = fake.issue_tokens()

    bearer = {"Authorization": f"Bearer {access}"}
    async with connect(headers=bearer, base_url=gateway(fake), space_keys=["ENG"]) as connector:
        items = [item async for item in connector.listing({})]
        content = await connector.fetch(Item(f"attachment:{attachment.id}", "spec.pdf", "1"))

    assert len(items) == 301
    assert content.body == b"%PDF gateway"
    api_calls = [call for call in fake.calls if not call.path.startswith("/media/")]
    assert api_calls
    assert all(call.path.startswith(f"/ex/confluence/{CLOUD_ID}/wiki/") for call in api_calls)
    # Links for people still go to the site.
    assert items[0].url is not None
    assert items[0].url.startswith(f"{fake.base_url}/wiki/spaces/ENG/pages/")


async def test_tokens_only_work_where_atlassian_takes_them(fake: FakeConfluence, connect: Connect) -> None:
    access, _ = fake.issue_tokens()
    async with connect(headers={"Authorization": f"Bearer {access}"}) as connector:
        with pytest.raises(CredentialsRejected):
            await connector.check()
    async with connect(headers=token_headers(), base_url=gateway(fake)) as connector:
        with pytest.raises(CredentialsRejected):
            await connector.check()


async def test_an_expired_access_token_is_renewed_once_and_the_sync_goes_on(
    fake: FakeConfluence, connect: Connect
) -> None:
    pages = fake.seed(300, fake.add_space("ENG"))
    authorizer = Refreshing(fake, *fake.issue_tokens())

    async with connect(auth=authorizer, base_url=gateway(fake), include_attachments=False) as connector:
        listing = connector.listing({})
        first = await anext(listing)
        fake.expire_tokens()
        rest = [item async for item in listing]

    assert [item.external_id for item in [first, *rest]] == [page.id for page in pages]
    assert authorizer.refreshes == 1
