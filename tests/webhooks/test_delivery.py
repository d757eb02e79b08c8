"""Deliveries to a real receiver on 127.0.0.1 (the deployment allows that address): signed by the Standard Webhooks
scheme, retried on the schedule until a 2xx, recorded attempt by attempt, an endpoint disabled after failures in a
row, redirects not followed, answers cut to a KiB, pings and redeliveries; and an upload's events delivered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from folio.events.schemas import EventType
from folio.models import WebhookEndpoint
from folio.webhooks.service import queue_delivery
from tests.factories import Account, create_api_key, error_of, register
from tests.webhooks.conftest import (
    LOCAL_OUTBOUND,
    QUICK_RETRIES,
    WEBHOOKS,
    Receiver,
    create_webhook,
    deliveries,
    eventually,
    finished_deliveries,
    settled,
    webhook_app,
)

DISABLE_AFTER = 2


@pytest.fixture(scope="module")
async def local(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A self-hosted deployment that may reach 127.0.0.1, with the deployment's job handlers."""
    async with webhook_app(
        database_url,
        outbound=LOCAL_OUTBOUND,
        webhooks={**QUICK_RETRIES, "disable_after_failures": DISABLE_AFTER},
    ) as served:
        yield served


@pytest.fixture
def client(local: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return local[1]


def verified(secret: str, received: Any) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


async def ping(client: httpx.AsyncClient, account: Account, webhook_id: str) -> dict[str, Any]:
    response = await client.post(f"{WEBHOOKS}/{webhook_id}/ping", headers=account.headers)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_ping_is_signed_by_the_standard_webhooks_scheme(
    local: tuple[FastAPI, httpx.AsyncClient], client: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(client)
    name, url = receiver.hook()
    webhook = await create_webhook(client, owner, url)
    queued = await ping(client, owner, webhook["id"])
    assert queued["status"] == "pending"
    assert queued["event_type"] == "webhook.ping"

    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["attempts"] == 1
    assert delivery["response_status"] == 204
    assert delivery["latency_ms"] >= 0
    assert delivery["error"] is None
    [received] = receiver.received[name]
    payload = verified(webhook["secret"], received)
    assert received.headers["webhook-id"] == delivery["message_id"] == queued["message_id"]
    assert received.headers["webhook-signature"].startswith("v1,")
    assert received.headers["content-type"] == "application/json"
    assert payload["type"] == "webhook.ping"
    assert payload["data"]["subject"] == {"type": "webhook", "id": webhook["id"]}
    assert payload["data"]["org_id"] == str(owner.org_id)

    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(received.body, received.headers)
    tampered = received.body.replace(b"webhook.ping", b"webhook.pong")
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook["secret"]).verify(tampered, received.headers)

    # The delivery's own job is nobody's event: nothing more reaches an endpoint that wants every type.
    await settled(local[0])
    assert len(await deliveries(client, owner, webhook["id"])) == 1


async def test_a_failing_receiver_is_retried_until_it_accepts(client: httpx.AsyncClient, receiver: Receiver) -> None:
    owner = await register(client)
    name, url = receiver.hook()
    receiver.scripts[name] = [500, 503, 429]
    webhook = await create_webhook(client, owner, url, event_types=["api_key.created"])
    key = await create_api_key(client, owner)

    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["attempts"] == 4
    assert delivery["response_status"] == 204
    assert delivery["event_type"] == "api_key.created"
    requests = receiver.received[name]
    assert len(requests) == 4
    assert {request.headers["webhook-id"] for request in requests} == {delivery["message_id"]}
    for request in requests:
        payload = verified(webhook["secret"], request)
        assert payload["type"] == "api_key.created"
        assert payload["data"]["subject"]["id"] == key["id"]
        assert payload["data"]["id"] == delivery["event_id"]
    assert len({request.body for request in requests}) == 1

    detail = (await client.get(f"{WEBHOOKS}/{webhook['id']}/deliveries/{delivery['id']}", headers=owner.headers)).json()
    attempts = detail["attempt_log"]
    assert [attempt["attempt"] for attempt in attempts] == [1, 2, 3, 4]
    assert [attempt["response_status"] for attempt in attempts] == [500, 503, 429, 204]
    assert [attempt["succeeded"] for attempt in attempts] == [False, False, False, True]
    assert [attempt["error"] for attempt in attempts] == ["http_status"] * 3 + [None]
    # The receiver is on this machine: an internal address, whose answers are never shown.
    assert {attempt["response_excerpt"] for attempt in attempts} == {None}


async def test_an_endpoint_failing_delivery_after_delivery_is_disabled(
    local: tuple[FastAPI, httpx.AsyncClient], client: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(client)
    name, url = receiver.hook()
    receiver.scripts[name] = [500] * 100
    failing = await create_webhook(client, owner, url, event_types=["api_key.created"])
    watcher_name, watcher_url = receiver.hook()
    watcher = await create_webhook(client, owner, watcher_url, event_types=["webhook.disabled"])
    hub = local[0].state.hub

    async with hub.subscribe(owner.org_id, lambda event: event.type is EventType.WEBHOOK_DISABLED, since=0) as live:
        await create_api_key(client, owner)
        [first] = await finished_deliveries(client, owner, failing["id"])
        assert first["status"] == "failed"
        assert first["attempts"] == 4
        after_one = (await client.get(f"{WEBHOOKS}/{failing['id']}", headers=owner.headers)).json()
        assert after_one["enabled"] is True
        assert after_one["consecutive_failures"] == 1

        await create_api_key(client, owner)
        await finished_deliveries(client, owner, failing["id"], count=2)
        disabled = (await client.get(f"{WEBHOOKS}/{failing['id']}", headers=owner.headers)).json()
        assert disabled["enabled"] is False
        assert disabled["consecutive_failures"] == DISABLE_AFTER
        assert disabled["disabled_reason"]
        event = await live.next(heartbeat=30)
    assert event is not None
    assert event.type is EventType.WEBHOOK_DISABLED
    assert str(event.subject_id) == failing["id"]
    assert event.data["url"] == url

    [told] = await finished_deliveries(client, owner, watcher["id"])
    payload = verified(watcher["secret"], receiver.received[watcher_name][0])
    assert payload["type"] == "webhook.disabled"
    assert payload["data"]["subject"]["id"] == failing["id"]
    assert told["status"] == "succeeded"

    # Disabled: the next events are not delivered, nor may its deliveries be sent again.
    sent = len(receiver.received[name])
    await create_api_key(client, owner)
    await settled(local[0])
    assert len(await deliveries(client, owner, failing["id"])) == 2
    assert len(receiver.received[name]) == sent
    redeliver = await client.post(
        f"{WEBHOOKS}/{failing['id']}/deliveries/{first['id']}/redeliver", headers=owner.headers
    )
    error_of(redeliver, 409, "WEBHOOK_DISABLED")

    # Enabled again, with a count starting over; a success also clears it.
    enabled = await client.patch(f"{WEBHOOKS}/{failing['id']}", json={"enabled": True}, headers=owner.headers)
    assert enabled.json()["consecutive_failures"] == 0
    receiver.scripts[name] = []
    await create_api_key(client, owner)
    newest = (await finished_deliveries(client, owner, failing["id"], count=3))[0]
    assert newest["status"] == "succeeded"


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(client)
    name, url = receiver.hook("redirect")
    webhook = await create_webhook(client, owner, url)
    await ping(client, owner, webhook["id"])
    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["response_status"] == 302
    assert delivery["error"] == "redirect"
    assert len(receiver.received[name]) == 1
    assert name not in receiver.landed


async def test_an_internal_receivers_answer_is_not_shown(client: httpx.AsyncClient, receiver: Receiver) -> None:
    """The deployment may reach 127.0.0.1, so a webhook could read its internal services: their answers keep
    their status code, not their body (a public receiver's first KiB is kept: tests/webhooks/test_sender.py)."""
    owner = await register(client)
    name, url = receiver.hook("big")
    webhook = await create_webhook(client, owner, url)
    await ping(client, owner, webhook["id"])
    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["response_status"] == 500
    assert delivery["error"] == "http_status"
    assert delivery["response_excerpt"] is None
    assert len(receiver.received[name]) == 1
    detail = (await client.get(f"{WEBHOOKS}/{webhook['id']}/deliveries/{delivery['id']}", headers=owner.headers)).json()
    assert detail["attempt_log"][0]["response_excerpt"] is None


async def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(client)
    name, url = receiver.hook("slow")
    webhook = await create_webhook(client, owner, url)
    await ping(client, owner, webhook["id"])
    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["error"] == "timeout"
    assert delivery["response_status"] is None
    assert delivery["response_excerpt"] is None
    assert len(receiver.received[name]) == 1


async def test_redelivery_sends_the_same_message_again(client: httpx.AsyncClient, receiver: Receiver) -> None:
    owner = await register(client)
    name, url = receiver.hook()
    receiver.scripts[name] = [500]
    webhook = await create_webhook(client, owner, url)
    await ping(client, owner, webhook["id"])
    [failed] = await finished_deliveries(client, owner, webhook["id"])
    assert failed["status"] == "failed"
    assert failed["attempts"] == 1  # a ping is tried once

    response = await client.post(
        f"{WEBHOOKS}/{webhook['id']}/deliveries/{failed['id']}/redeliver", headers=owner.headers
    )
    assert response.status_code == 202, response.text
    again = response.json()
    assert again["redelivery_of"] == failed["id"]
    assert again["message_id"] == failed["message_id"]
    newest, oldest = await finished_deliveries(client, owner, webhook["id"], count=2)
    assert (newest["id"], oldest["id"]) == (again["id"], failed["id"])
    assert newest["status"] == "succeeded"
    assert oldest["status"] == "failed"
    first, second = receiver.received[name]
    assert first.body == second.body
    assert verified(webhook["secret"], second)["type"] == "webhook.ping"

    page = (
        await client.get(f"{WEBHOOKS}/{webhook['id']}/deliveries", params={"limit": 1}, headers=owner.headers)
    ).json()
    assert [item["id"] for item in page["items"]] == [again["id"]]
    rest = await client.get(
        f"{WEBHOOKS}/{webhook['id']}/deliveries", params={"cursor": page["next_cursor"]}, headers=owner.headers
    )
    assert [item["id"] for item in rest.json()["items"]] == [failed["id"]]
    only_failed = await deliveries(client, owner, webhook["id"], status="failed")
    assert [item["id"] for item in only_failed] == [failed["id"]]

    missing = f"{WEBHOOKS}/{webhook['id']}/deliveries/{webhook['id']}"
    error_of(await client.get(missing, headers=owner.headers), 404, "WEBHOOK_DELIVERY_NOT_FOUND")
    error_of(await client.post(f"{missing}/redeliver", headers=owner.headers), 404, "WEBHOOK_DELIVERY_NOT_FOUND")


async def test_after_a_rotation_both_secrets_verify(client: httpx.AsyncClient, receiver: Receiver) -> None:
    owner = await register(client)
    name, url = receiver.hook()
    webhook = await create_webhook(client, owner, url)
    rotated = (await client.post(f"{WEBHOOKS}/{webhook['id']}/rotate-secret", headers=owner.headers)).json()
    await ping(client, owner, webhook["id"])
    await finished_deliveries(client, owner, webhook["id"])
    [received] = receiver.received[name]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert verified(rotated["secret"], received)["type"] == "webhook.ping"
    assert verified(webhook["secret"], received)["type"] == "webhook.ping"


async def test_an_upload_is_delivered_end_to_end(client: httpx.AsyncClient, receiver: Receiver) -> None:
    owner = await register(client)
    name, url = receiver.hook()
    webhook = await create_webhook(client, owner, url, event_types=["document.created", "document.ready"])
    uploaded = await client.post(
        "/api/v1/documents",
        files=[("files", ("rivers.md", b"# Rivers\n\nThe river towns kept ledgers of every flood.", "text/markdown"))],
        headers=owner.headers,
    )
    assert uploaded.status_code == 202, uploaded.text
    document_id = uploaded.json()["items"][0]["document"]["id"]

    async def both_received() -> list[Any] | None:
        return receiver.received[name] if len(receiver.received[name]) >= 2 else None

    received = await eventually(both_received, seconds=120)
    payloads = [verified(webhook["secret"], request) for request in received]
    assert sorted(payload["type"] for payload in payloads) == ["document.created", "document.ready"]
    for payload in payloads:
        event = payload["data"]
        assert event["type"] == payload["type"]
        assert event["subject"] == {"type": "document", "id": document_id}
        assert event["org_id"] == str(owner.org_id)
        assert event["actor"]["type"] in {"user", "system"}
        assert isinstance(event["id"], int)
    ready = next(payload for payload in payloads if payload["type"] == "document.ready")
    assert ready["data"]["data"]["status"] == "ready"


async def test_a_delivery_waiting_when_its_endpoint_is_disabled_is_not_sent(
    local: tuple[FastAPI, httpx.AsyncClient], client: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(client)
    name, url = receiver.hook()
    webhook = await create_webhook(client, owner, url)
    await client.patch(f"{WEBHOOKS}/{webhook['id']}", json={"enabled": False}, headers=owner.headers)
    # A delivery the fan-out made just before the endpoint was disabled.
    async with local[0].state.sessionmaker() as session, session.begin():
        endpoint = await session.get_one(WebhookEndpoint, UUID(webhook["id"]))
        queue_delivery(
            session, endpoint, event_id=1, event_type="api_key.created", body="{}", message_id="msg_1", max_attempts=4
        )
    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["error"] == "disabled"
    assert delivery["attempts"] == 0
    assert receiver.received[name] == []


async def test_a_receiver_dripping_its_answer_is_cut_off_at_the_deadline(client: httpx.AsyncClient) -> None:
    """Each byte comes well within the read timeout; the whole answer would take far longer than the attempt may."""
    dripped: list[int] = []

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        for byte in b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n":
            if reader.at_eof():
                break  # the client gave up
            writer.write(bytes([byte]))
            dripped.append(byte)
            await asyncio.sleep(0.3)
        writer.close()

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        owner = await register(client)
        webhook = await create_webhook(client, owner, f"http://127.0.0.1:{port}/hook")
        await ping(client, owner, webhook["id"])
        [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["error"] == "timeout"
    assert dripped  # it was answering, slowly


async def test_an_unreadable_secret_fails_the_delivery_until_it_is_rotated(
    local: tuple[FastAPI, httpx.AsyncClient], client: httpx.AsyncClient, receiver: Receiver
) -> None:
    """As after an operator dropped the encryption key the secret was stored under."""
    owner = await register(client)
    name, url = receiver.hook()
    webhook = await create_webhook(client, owner, url)
    async with local[0].state.sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint).values(secret_encrypted="not a token").where(WebhookEndpoint.org_id == owner.org_id)
        )
    await ping(client, owner, webhook["id"])
    [unsigned] = await finished_deliveries(client, owner, webhook["id"])
    assert unsigned["status"] == "failed"
    assert unsigned["error"] == "unsignable"
    assert receiver.received[name] == []

    rotated = (await client.post(f"{WEBHOOKS}/{webhook['id']}/rotate-secret", headers=owner.headers)).json()
    await ping(client, owner, webhook["id"])
    newest = (await finished_deliveries(client, owner, webhook["id"], count=2))[0]
    assert newest["status"] == "succeeded"
    [received] = receiver.received[name]
    assert verified(rotated["secret"], received)["type"] == "webhook.ping"
