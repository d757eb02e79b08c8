"""An app whose sign-in providers are the fake provider of this package, served over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from folio.main import create_app
from tests.auth.sso.fake_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider
from tests.conftest import make_settings
from tests.live_server import serve_in_thread

SSO = "/api/v1/auth/sso"
RETURN_URL = "https://app.example.com/auth/"
# Without a trailing slash: its path is a whole segment, not a prefix of any name ("/consoles" is not under it).
CONSOLE_URL = "https://console.example.com/console"


@pytest.fixture(scope="module")
def provider_server() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    with serve_in_thread(fake.app(), lifespan="off") as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture(autouse=True)
def fake(provider_server: FakeProvider) -> FakeProvider:
    """The provider, as each test starts: it consents for Ada, whose address it has verified."""
    provider_server.reset()
    return provider_server


def provider_settings(fake: FakeProvider, name: str) -> dict[str, Any]:
    return {"name": name, "issuer": fake.base_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


@pytest.fixture(scope="module")
async def sso_app(database_url: str, provider_server: FakeProvider) -> AsyncIterator[FastAPI]:
    providers = [{**provider_settings(provider_server, "fake"), "label": "Fake ID"}]
    providers.append(provider_settings(provider_server, "other"))
    # Nothing listens on the discard port.
    providers.append({**provider_settings(provider_server, "down"), "issuer": "http://127.0.0.1:9"})
    settings = make_settings(database_url, sso={"providers": providers, "return_urls": [RETURN_URL, CONSOLE_URL]})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def browser(sso_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, as one browser."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sso_app), base_url="http://testserver") as http:
        yield http


async def to_provider(browser: httpx.AsyncClient, *, provider: str = "fake", return_to: str | None = None) -> str:
    """Start a sign-in; the callback URL (path and query) the provider sends the browser back to."""
    params = {"return_to": return_to} if return_to else {}
    started = await browser.get(f"{SSO}/{provider}/start", params=params)
    assert started.status_code == 302, started.text
    async with httpx.AsyncClient() as outside:  # the provider is a real server, reached over HTTP
        consented = await outside.get(started.headers["location"])
    assert consented.status_code in {302, 307}, consented.text
    back = urlsplit(consented.headers["location"])
    return f"{back.path}?{back.query}"


async def sign_in(
    browser: httpx.AsyncClient, *, provider: str = "fake", return_to: str | None = None
) -> httpx.Response:
    """A whole sign-in: start, the provider's consent, the callback's answer."""
    return await browser.get(await to_provider(browser, provider=provider, return_to=return_to))
