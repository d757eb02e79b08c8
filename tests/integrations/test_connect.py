"""Connecting Notion and Confluence with OAuth against the fakes' authorization servers: the whole flow, a replayed
or unknown or expired state, someone no longer an admin, a refused grant, and tokens refreshed when they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from folio.models import AuthFlow, Integration
from tests.factories import Account, add_member, error_of, register, wait_until_finished
from tests.integrations.conftest import INTEGRATIONS, RETURN_URL, documents_when_ready, last_sync, sync
from tests.integrations.fakes.confluence import CLOUD_ID, FakeConfluence
from tests.integrations.fakes.notion import FakeNotion


async def authorize(url: str) -> str:
    """What the source's consent screen does once the person agrees: the callback URL it redirects to."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.is_redirect, answer.text
    return answer.headers["location"]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def start(
    api: httpx.AsyncClient, owner: Account, kind: str = "notion", headers: dict[str, str] | None = None, **fields: Any
) -> str:
    started = await api.post(
        f"{INTEGRATIONS}/oauth/{kind}/start",
        json={"name": f"{kind} (OAuth)", **fields},
        headers=headers or owner.headers,
    )
    assert started.status_code == 200, started.text
    url: str = started.json()["authorization_url"]
    return url


async def test_notion_is_connected_with_oauth_and_synced(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    notion.seed(2)
    url = await start(api, owner)
    query = parse_qs(urlsplit(url).query)

    connected = await api.get(path_of(await authorize(url)))

    assert connected.status_code == 201, connected.text
    body = connected.json()
    assert (body["auth_method"], body["has_credentials"], body["status"]) == ("oauth", True, "active")
    assert query["code_challenge_method"] == ["S256"]
    assert query["owner"] == ["user"]
    job = await wait_until_finished(api, owner, UUID(body["sync_job_id"]), seconds=60)
    assert job["status"] == "succeeded"
    assert len(await documents_when_ready(api, owner, 2)) == 2
    for secret in notion.issued:
        assert secret not in connected.text


async def test_a_state_is_used_once(api: httpx.AsyncClient, notion: FakeNotion, owner: Account) -> None:
    callback = path_of(await authorize(await start(api, owner, sync_interval_minutes=None)))
    assert (await api.get(callback)).status_code == 201

    error = error_of(await api.get(callback), 400, "INTEGRATION_CONNECT_STATE_INVALID")

    assert error["details"]["reason"] == "used"


async def test_an_unknown_or_missing_state_is_refused(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    callback = await authorize(await start(api, owner))
    forged = callback.replace("state=", "state=x")
    path = f"{INTEGRATIONS}/oauth/callback"

    for answer in [await api.get(path_of(forged)), await api.get(f"{path}?code=abc")]:
        assert error_of(answer, 400, "INTEGRATION_CONNECT_STATE_INVALID")["details"]["reason"] == "unknown"


async def test_an_expired_attempt_is_refused(
    api: httpx.AsyncClient, synced_app: tuple[FastAPI, httpx.AsyncClient], notion: FakeNotion, owner: Account
) -> None:
    callback = path_of(await authorize(await start(api, owner)))
    async with synced_app[0].state.sessionmaker() as session, session.begin():
        await session.execute(update(AuthFlow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    error = error_of(await api.get(callback), 400, "INTEGRATION_CONNECT_STATE_INVALID")

    assert error["details"]["reason"] == "expired"


async def test_who_is_no_longer_an_admin_connects_nothing(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    admin = await register(api)
    await add_member(api, owner, admin, "admin")
    callback = path_of(await authorize(await start(api, admin, headers=admin.in_org(owner.org_id))))
    demoted = await api.patch(
        f"/api/v1/orgs/{owner.org_id}/members/{admin.user_id}", json={"role": "viewer"}, headers=owner.headers
    )
    assert demoted.status_code == 200, demoted.text

    error = error_of(await api.get(callback), 400, "INTEGRATION_CONNECT_STATE_INVALID")

    assert error["details"]["reason"] == "forbidden"
    assert (await api.get(INTEGRATIONS, headers=owner.headers)).json()["items"] == []


async def test_the_browser_returns_to_the_front_end_with_the_outcome(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    callback = path_of(await authorize(await start(api, owner, return_to=RETURN_URL)))

    connected = await api.get(callback)
    replayed = await api.get(callback)

    assert connected.status_code == 303
    assert connected.headers["location"].startswith(f"{RETURN_URL}?integration_id=")
    assert replayed.status_code == 400
    refused = await api.post(
        f"{INTEGRATIONS}/oauth/notion/start",
        json={"name": "x", "return_to": "https://evil.example/steal"},
        headers=owner.headers,
    )
    error_of(refused, 422, "SSO_RETURN_URL_NOT_ALLOWED")


async def test_a_denied_consent_connects_nothing(api: httpx.AsyncClient, notion: FakeNotion, owner: Account) -> None:
    callback = await authorize(await start(api, owner, return_to=RETURN_URL))
    state = parse_qs(urlsplit(callback).query)["state"][0]

    denied = await api.get(f"{INTEGRATIONS}/oauth/callback", params={"state": state, "error": "access_denied"})

    assert denied.status_code == 303
    assert denied.headers["location"] == f"{RETURN_URL}?integration_error=INTEGRATION_CREDENTIALS_REJECTED"
    assert (await api.get(INTEGRATIONS, headers=owner.headers)).json()["items"] == []


async def test_an_expired_token_is_refreshed_and_the_new_one_kept(
    api: httpx.AsyncClient, synced_app: tuple[FastAPI, httpx.AsyncClient], notion: FakeNotion, owner: Account
) -> None:
    notion.seed(1)
    connected = (await api.get(path_of(await authorize(await start(api, owner))))).json()
    await wait_until_finished(api, owner, UUID(connected["sync_job_id"]), seconds=60)
    sessionmaker = synced_app[0].state.sessionmaker
    async with sessionmaker() as session:
        before = await session.scalar(
            select(Integration.credentials_encrypted).where(Integration.id == UUID(connected["id"]))
        )
    notion.expire_tokens()

    history = await sync(api, owner, connected["id"])

    async with sessionmaker() as session:
        after = await session.scalar(
            select(Integration.credentials_encrypted).where(Integration.id == UUID(connected["id"]))
        )
    assert history["status"] == "succeeded"
    assert after != before
    assert [call.path for call in notion.requests].count("/v1/oauth/token") == 2


async def test_a_refresh_the_source_refuses_asks_for_a_new_connection(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    notion.seed(1)
    connected = (await api.get(path_of(await authorize(await start(api, owner))))).json()
    await wait_until_finished(api, owner, UUID(connected["sync_job_id"]), seconds=60)
    notion.revoke()

    history = await sync(api, owner, connected["id"])
    integration = await api.get(f"{INTEGRATIONS}/{connected['id']}", headers=owner.headers)

    assert history["error_code"] == "INTEGRATION_CREDENTIALS_REJECTED"
    assert integration.json()["status"] == "needs_reauth"


async def test_confluence_is_connected_through_atlassians_gateway(
    api: httpx.AsyncClient, confluence_fake: FakeConfluence, owner: Account
) -> None:
    space = confluence_fake.add_space("ENG")
    confluence_fake.seed(2, space)
    url = await start(
        api, owner, kind="confluence", config={"site_url": "https://folio-fake.atlassian.net", "space_keys": ["ENG"]}
    )

    connected = await api.get(path_of(await authorize(url)))

    assert connected.status_code == 201, connected.text
    job = await wait_until_finished(api, owner, UUID(connected.json()["sync_job_id"]), seconds=60)
    assert job["status"] == "succeeded"
    history = await last_sync(api, owner, connected.json()["id"])
    assert history["created"] == 2
    assert any(f"/ex/confluence/{CLOUD_ID}/" in call.path for call in confluence_fake.calls)
