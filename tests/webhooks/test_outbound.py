"""The guard at delivery time, with the default outbound rules: a name that resolves to an internal address when the
delivery is made (DNS rebinding), and an endpoint stored while the deployment allowed internal addresses, are not
reached; the receiver on 127.0.0.1 never hears from them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from folio.jobs.kinds import WEBHOOK_DELIVER
from folio.llm.crypto import CredentialCipher
from folio.models import WebhookEndpoint
from folio.outbound import OutboundPolicy
from folio.settings import WebhookSettings
from folio.webhooks.config import WebhookConfig
from folio.webhooks.tasks import DeliverWebhook
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.factories import register
from tests.webhooks.conftest import Receiver, create_webhook, finished_deliveries, webhook_app

REBOUND = "hooks.example.com"


async def resolve_to_loopback(host: str, port: int) -> list[str]:
    """A DNS answer under an attacker's control: the public-looking name points at this machine."""
    return ["127.0.0.1"] if host == REBOUND else []


@pytest.fixture(scope="module")
async def guarded(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    config = WebhookConfig(
        settings=WebhookSettings(retry_schedule_seconds=[], timeout_seconds=5),
        outbound=OutboundPolicy(resolver=resolve_to_loopback),
        cipher=CredentialCipher([TEST_ENCRYPTION_KEY]),
    )
    async with webhook_app(database_url, job_handlers={WEBHOOK_DELIVER: DeliverWebhook(config)}) as served:
        yield served


async def test_a_name_resolving_to_an_internal_address_is_not_reached(
    guarded: tuple[FastAPI, httpx.AsyncClient], receiver: Receiver
) -> None:
    client = guarded[1]
    owner = await register(client)
    name, url = receiver.hook()
    port = urlsplit(url).port
    webhook = await create_webhook(client, owner, f"http://{REBOUND}:{port}/hooks/{name}")
    ping = await client.post(f"/api/v1/webhooks/{webhook['id']}/ping", headers=owner.headers)
    assert ping.status_code == 202, ping.text

    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["error"] == "address_refused"
    assert delivery["response_status"] is None
    assert delivery["response_excerpt"] is None
    assert receiver.received[name] == []


async def test_an_internal_url_stored_earlier_is_not_reached(
    guarded: tuple[FastAPI, httpx.AsyncClient], receiver: Receiver
) -> None:
    """As when FOLIO_OUTBOUND__ALLOW_PRIVATE was on when the endpoint was made, and is off now."""
    app, client = guarded
    owner = await register(client)
    name, url = receiver.hook()
    webhook = await create_webhook(client, owner, "https://hooks.example.com/placeholder")
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(WebhookEndpoint).values(url=url).where(WebhookEndpoint.org_id == owner.org_id))
    ping = await client.post(f"/api/v1/webhooks/{webhook['id']}/ping", headers=owner.headers)
    assert ping.status_code == 202, ping.text

    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["error"] == "address_refused"
    assert receiver.received[name] == []
