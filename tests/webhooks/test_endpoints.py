"""Managing webhook endpoints: admins only, one organization's endpoints invisible to another, the secret shown once
and stored encrypted, URLs checked (shape, scheme, and internal hosts in every notation), event types checked, the
per-organization limit."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from standardwebhooks import Webhook

from folio.models import WebhookEndpoint
from tests.factories import Account, add_member, create_api_key, error_of, register
from tests.webhooks.conftest import WEBHOOKS, create_webhook, webhook_app

PUBLIC_URL = "https://hooks.example.com/folio"


@pytest.fixture(scope="module")
async def strict(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The default outbound rules (no internal address); no delivery job runs here."""
    async with webhook_app(database_url, job_handlers={}, fan_out=False, webhooks={"max_per_org": 3}) as served:
        yield served


@pytest.fixture
def client(strict: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return strict[1]


async def test_created_with_a_secret_shown_once_and_stored_encrypted(
    strict: tuple[FastAPI, httpx.AsyncClient], client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    created = await create_webhook(
        client,
        owner,
        PUBLIC_URL,
        event_types=["document.ready", "document.ready", "api_key.created"],
        description="CRM",
    )
    secret = created.pop("secret")
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    Webhook(secret)  # the reference library takes it
    assert created["event_types"] == ["document.ready", "api_key.created"]
    assert created["enabled"] is True
    assert created["description"] == "CRM"

    shown = [
        (await client.get(f"{WEBHOOKS}/{created['id']}", headers=owner.headers)).json(),
        (await client.get(WEBHOOKS, headers=owner.headers)).json()["items"][0],
        (await client.patch(f"{WEBHOOKS}/{created['id']}", json={"description": "x"}, headers=owner.headers)).json(),
    ]
    for body in shown:
        assert "secret" not in body
        assert secret not in str(body)
    async with strict[0].state.sessionmaker() as session:
        stored = await session.scalar(select(WebhookEndpoint.secret_encrypted))
    assert stored is not None
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored

    rotated = await client.post(f"{WEBHOOKS}/{created['id']}/rotate-secret", headers=owner.headers)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != secret
    after = (await client.get(f"{WEBHOOKS}/{created['id']}", headers=owner.headers)).json()
    assert after["previous_secret_expires_at"] is not None


async def _routes(client: httpx.AsyncClient, headers: dict[str, str], webhook_id: str) -> list[httpx.Response]:
    delivery = uuid4()
    return [
        await client.post(WEBHOOKS, json={"url": PUBLIC_URL}, headers=headers),
        await client.get(WEBHOOKS, headers=headers),
        await client.get(f"{WEBHOOKS}/{webhook_id}", headers=headers),
        await client.patch(f"{WEBHOOKS}/{webhook_id}", json={"enabled": False}, headers=headers),
        await client.post(f"{WEBHOOKS}/{webhook_id}/rotate-secret", headers=headers),
        await client.post(f"{WEBHOOKS}/{webhook_id}/ping", headers=headers),
        await client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=headers),
        await client.get(f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery}", headers=headers),
        await client.post(f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery}/redeliver", headers=headers),
        await client.delete(f"{WEBHOOKS}/{webhook_id}", headers=headers),
    ]


async def test_only_owners_admins_and_admin_keys_manage_webhooks(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    webhook = await create_webhook(client, owner, PUBLIC_URL)
    viewer, editor, admin = await register(client), await register(client), await register(client)
    for member, role in ((viewer, "viewer"), (editor, "editor"), (admin, "admin")):
        await add_member(client, owner, member, role)
    reader_key = await create_api_key(client, owner, scopes=["documents:read", "documents:write"])

    for headers in (viewer.in_org(owner.org_id), editor.in_org(owner.org_id), {"X-API-Key": reader_key["secret"]}):
        for response in await _routes(client, headers, webhook["id"]):
            error_of(response, 403, "FORBIDDEN")
    assert (await client.get(f"{WEBHOOKS}/{webhook['id']}", headers=owner.headers)).json()["enabled"] is True

    admin_key = await create_api_key(client, owner, scopes=["admin"])
    for headers in (admin.in_org(owner.org_id), {"X-API-Key": admin_key["secret"]}):
        listed = await client.get(WEBHOOKS, headers=headers)
        assert [item["id"] for item in listed.json()["items"]] == [webhook["id"]]


async def test_another_organizations_webhook_is_not_found(client: httpx.AsyncClient) -> None:
    owner_a, owner_b = await register(client), await register(client)
    webhook_a = await create_webhook(client, owner_a, PUBLIC_URL)
    webhook_b = await create_webhook(client, owner_b, PUBLIC_URL)

    for response in (await _routes(client, owner_b.headers, webhook_a["id"]))[2:]:
        error_of(response, 404, "WEBHOOK_NOT_FOUND")
    listed = (await client.get(WEBHOOKS, headers=owner_b.headers)).json()["items"]
    assert webhook_a["id"] not in {item["id"] for item in listed}
    error_of(await client.get(f"{WEBHOOKS}/{uuid4()}", headers=owner_a.headers), 404, "WEBHOOK_NOT_FOUND")

    # Untouched by all of it.
    still = await client.get(f"{WEBHOOKS}/{webhook_a['id']}", headers=owner_a.headers)
    assert still.status_code == 200
    assert still.json()["enabled"] is True
    assert still.json()["previous_secret_expires_at"] is None

    # A delivery of A's endpoint is not found through B's own endpoint either.
    ping = await client.post(f"{WEBHOOKS}/{webhook_a['id']}/ping", headers=owner_a.headers)
    assert ping.status_code == 202, ping.text
    for path in (f"deliveries/{ping.json()['id']}", f"deliveries/{ping.json()['id']}/redeliver"):
        method = client.post if path.endswith("redeliver") else client.get
        error_of(
            await method(f"{WEBHOOKS}/{webhook_b['id']}/{path}", headers=owner_b.headers),
            404,
            "WEBHOOK_DELIVERY_NOT_FOUND",
        )
    assert await _deliveries_of(client, owner_b, webhook_b["id"]) == []

    # Nor through another endpoint of the same organization.
    sibling = await create_webhook(client, owner_a, f"{PUBLIC_URL}/sibling")
    error_of(
        await client.get(f"{WEBHOOKS}/{sibling['id']}/deliveries/{ping.json()['id']}", headers=owner_a.headers),
        404,
        "WEBHOOK_DELIVERY_NOT_FOUND",
    )
    assert await _deliveries_of(client, owner_a, sibling["id"]) == []


async def _deliveries_of(client: httpx.AsyncClient, account: Account, webhook_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=account.headers)
    ).json()["items"]
    return items


INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8000/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://localhost:8000/hook",
    "http://LOCALHOST./hook",
    "http://0.0.0.0/hook",
    "http://10.0.0.7/hook",
    "http://192.168.1.10/hook",
    "http://[fd00:ec2::254]/hook",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://redis:6379/hook",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
async def test_internal_addresses_are_refused_in_every_notation(client: httpx.AsyncClient, url: str) -> None:
    owner = await register(client)
    created = await client.post(WEBHOOKS, json={"url": url}, headers=owner.headers)
    error = error_of(created, 422, "OUTBOUND_URL_FORBIDDEN")
    assert error["details"]["errors"][0]["loc"] == ["body", "url"]

    webhook = await create_webhook(client, owner, PUBLIC_URL)
    changed = await client.patch(f"{WEBHOOKS}/{webhook['id']}", json={"url": url}, headers=owner.headers)
    error_of(changed, 422, "OUTBOUND_URL_FORBIDDEN")
    assert (await client.get(f"{WEBHOOKS}/{webhook['id']}", headers=owner.headers)).json()["url"] == PUBLIC_URL


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/folio",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://hooks.example.com:70/_",
        "hooks.example.com/folio",
        "http://",
        "http:///path",
        "https://user:password@hooks.example.com/folio",
        "https://hooks.example.com:99999/folio",
        "https://hooks example.com/folio",
    ],
)
async def test_urls_that_are_not_absolute_http_are_refused(client: httpx.AsyncClient, url: str) -> None:
    owner = await register(client)
    error_of(await client.post(WEBHOOKS, json={"url": url}, headers=owner.headers), 422, "WEBHOOK_URL_INVALID")


async def test_url_length_and_fields_are_bounded(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    long_url = "https://hooks.example.com/" + "a" * 2000
    error_of(await client.post(WEBHOOKS, json={"url": long_url}, headers=owner.headers), 422, "VALIDATION_ERROR")
    long_description = {"url": PUBLIC_URL, "description": "d" * 501}
    error_of(await client.post(WEBHOOKS, json=long_description, headers=owner.headers), 422, "VALIDATION_ERROR")
    many = {"url": PUBLIC_URL, "event_types": ["document.ready"] * 100}
    error_of(await client.post(WEBHOOKS, json=many, headers=owner.headers), 422, "VALIDATION_ERROR")
    assert (await client.get(WEBHOOKS, headers=owner.headers)).json()["items"] == []


@pytest.mark.parametrize("event_type", ["document.exploded", "job.progress", "webhook.ping", ""])
async def test_unknown_and_live_only_event_types_are_refused(client: httpx.AsyncClient, event_type: str) -> None:
    owner = await register(client)
    body = {"url": PUBLIC_URL, "event_types": ["document.ready", event_type]}
    error = error_of(await client.post(WEBHOOKS, json=body, headers=owner.headers), 422, "WEBHOOK_EVENT_TYPE_UNKNOWN")
    assert error["details"]["unknown"] == [event_type]
    assert "document.ready" in error["details"]["allowed"]
    assert "job.progress" not in error["details"]["allowed"]

    webhook = await create_webhook(client, owner, PUBLIC_URL)
    changed = await client.patch(
        f"{WEBHOOKS}/{webhook['id']}", json={"event_types": [event_type]}, headers=owner.headers
    )
    error_of(changed, 422, "WEBHOOK_EVENT_TYPE_UNKNOWN")


async def test_an_organization_has_at_most_max_per_org_endpoints(client: httpx.AsyncClient) -> None:
    owner, other = await register(client), await register(client)
    webhooks = [await create_webhook(client, owner, f"{PUBLIC_URL}/{n}") for n in range(3)]
    error = error_of(
        await client.post(WEBHOOKS, json={"url": PUBLIC_URL}, headers=owner.headers), 409, "TOO_MANY_WEBHOOKS"
    )
    assert error["details"] == {"limit": 3}
    await create_webhook(client, other, PUBLIC_URL)  # per organization

    deleted = await client.delete(f"{WEBHOOKS}/{webhooks[0]['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    error_of(await client.get(f"{WEBHOOKS}/{webhooks[0]['id']}", headers=owner.headers), 404, "WEBHOOK_NOT_FOUND")
    await create_webhook(client, owner, PUBLIC_URL)


async def test_update_changes_only_what_is_given_and_lists_page(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    first = await create_webhook(client, owner, PUBLIC_URL, event_types=["document.ready"], description="first")
    second = await create_webhook(client, owner, f"{PUBLIC_URL}/2")

    disabled = await client.patch(f"{WEBHOOKS}/{first['id']}", json={"enabled": False}, headers=owner.headers)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["enabled"] is False
    assert disabled.json()["disabled_reason"]
    assert disabled.json()["event_types"] == ["document.ready"]
    assert disabled.json()["description"] == "first"

    changed = await client.patch(
        f"{WEBHOOKS}/{first['id']}",
        json={"url": "https://other.example.com/in", "event_types": [], "enabled": True},
        headers=owner.headers,
    )
    assert changed.json()["url"] == "https://other.example.com/in"
    assert changed.json()["event_types"] == []
    assert changed.json()["enabled"] is True
    assert changed.json()["disabled_reason"] is None

    page = (await client.get(WEBHOOKS, params={"limit": 1}, headers=owner.headers)).json()
    assert [item["id"] for item in page["items"]] == [first["id"]]
    rest = (await client.get(WEBHOOKS, params={"cursor": page["next_cursor"]}, headers=owner.headers)).json()
    assert [item["id"] for item in rest["items"]] == [second["id"]]
    assert rest["next_cursor"] is None


async def test_pings_and_redeliveries_on_their_way_are_bounded(client: httpx.AsyncClient) -> None:
    """No delivery job runs in this app, so every ping stays pending."""
    owner = await register(client)
    webhook = await create_webhook(client, owner, PUBLIC_URL)
    for _ in range(10):
        assert (await client.post(f"{WEBHOOKS}/{webhook['id']}/ping", headers=owner.headers)).status_code == 202
    error = error_of(
        await client.post(f"{WEBHOOKS}/{webhook['id']}/ping", headers=owner.headers), 429, "WEBHOOK_DELIVERIES_PENDING"
    )
    assert error["details"] == {"limit": 10}
    first = (await _deliveries_of(client, owner, webhook["id"]))[-1]
    error_of(
        await client.post(f"{WEBHOOKS}/{webhook['id']}/deliveries/{first['id']}/redeliver", headers=owner.headers),
        429,
        "WEBHOOK_DELIVERIES_PENDING",
    )
    assert len(await _deliveries_of(client, owner, webhook["id"])) == 10
