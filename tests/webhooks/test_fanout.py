"""The fan-out from the outbox: one delivery per event and enabled endpoint that wants its type, each event once
however many processes run it, a held cursor passed without waiting, and no event read of an organization without
an endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.events.outbox import emit
from folio.events.schemas import ApiKeyData, EventType
from folio.jobs.kinds import PRUNE_DELIVERIES, WEBHOOK_DELIVER
from folio.jobs.runner import JobContext
from folio.models import DeliveryStatus, Job, JobStatus, WebhookAttempt, WebhookCursor, WebhookDelivery
from folio.settings import WebhookSettings
from folio.webhooks.fanout import fan_out
from folio.webhooks.tasks import prune_deliveries
from tests.factories import register
from tests.webhooks.conftest import WEBHOOKS, create_webhook, webhook_app

SETTINGS = WebhookSettings(retry_schedule_seconds=[1, 2])


@pytest.fixture(scope="module")
async def quiet(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """No fan-out loop (the tests run passes themselves) and no delivery job handler (deliveries stay pending)."""
    async with webhook_app(database_url, job_handlers={}, fan_out=False) as served:
        yield served


@pytest.fixture
def sessionmaker(quiet: tuple[FastAPI, httpx.AsyncClient]) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = quiet[0].state.sessionmaker
    return maker


@pytest.fixture
def client(quiet: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return quiet[1]


async def emit_events(sessionmaker: async_sessionmaker[AsyncSession], org_id: UUID, *types: EventType) -> None:
    async with sessionmaker() as session, session.begin():
        for type in types:
            emit(session, org_id=org_id, type=type, subject_id=uuid4(), data=ApiKeyData(name="k", prefix="p"))


async def delivered(sessionmaker: async_sessionmaker[AsyncSession], endpoint_id: str) -> list[tuple[int | None, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(WebhookDelivery.event_id, WebhookDelivery.event_type)
            .where(WebhookDelivery.endpoint_id == UUID(endpoint_id))
            .order_by(WebhookDelivery.event_id)
        )
    return [(row.event_id, row.event_type) for row in rows]


async def test_each_event_goes_once_to_each_enabled_endpoint_that_wants_it(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner, other, silent = await register(client), await register(client), await register(client)
    await fan_out(sessionmaker, SETTINGS)  # whatever earlier tests and the registrations left
    # Committed before the endpoints exist: theirs to ignore, though the fan-out has not read them yet.
    await emit_events(sessionmaker, owner.org_id, EventType.API_KEY_REVOKED)
    everything = await create_webhook(client, owner, "https://hooks.example.com/all")
    revoked_only = await create_webhook(
        client, owner, "https://hooks.example.com/revoked", event_types=["api_key.revoked"]
    )
    disabled = await create_webhook(client, owner, "https://hooks.example.com/off")
    await client.patch(f"{WEBHOOKS}/{disabled['id']}", json={"enabled": False}, headers=owner.headers)
    others = await create_webhook(client, other, "https://hooks.example.com/other")

    await emit_events(sessionmaker, owner.org_id, EventType.API_KEY_CREATED, EventType.API_KEY_REVOKED)
    await emit_events(sessionmaker, silent.org_id, EventType.API_KEY_CREATED)
    await emit_events(sessionmaker, other.org_id, EventType.API_KEY_REVOKED)
    await emit_events(sessionmaker, owner.org_id, EventType.API_KEY_CREATED)

    assert await fan_out(sessionmaker, SETTINGS) == 5
    assert await fan_out(sessionmaker, SETTINGS) == 0
    all_types = [type for _, type in await delivered(sessionmaker, everything["id"])]
    assert all_types == ["api_key.created", "api_key.revoked", "api_key.created"]
    assert [type for _, type in await delivered(sessionmaker, revoked_only["id"])] == ["api_key.revoked"]
    assert await delivered(sessionmaker, disabled["id"]) == []
    assert [type for _, type in await delivered(sessionmaker, others["id"])] == ["api_key.revoked"]

    # Enabled again: what happened while it was off is not sent (though not read yet), what follows is.
    await emit_events(sessionmaker, owner.org_id, EventType.API_KEY_CREATED)
    await client.patch(f"{WEBHOOKS}/{disabled['id']}", json={"enabled": True}, headers=owner.headers)
    await emit_events(sessionmaker, owner.org_id, EventType.API_KEY_REVOKED)
    assert await fan_out(sessionmaker, SETTINGS) == 4
    assert [type for _, type in await delivered(sessionmaker, disabled["id"])] == ["api_key.revoked"]

    async with sessionmaker() as session:
        jobs = (await session.scalars(select(Job).where(Job.kind == WEBHOOK_DELIVER))).all()
        deliveries = (await session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id.is_not(None)))).all()
    by_id = {job.id: job for job in jobs}
    for delivery in deliveries:
        job = by_id[delivery.job_id] if delivery.job_id else None
        assert job is not None
        assert job.org_id is None  # nobody's job: no job events, nothing for members to see
        assert job.payload == {"delivery_id": str(delivery.id)}
        assert job.max_attempts == 3


async def test_pages_and_concurrent_passes_fan_out_each_event_once(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await fan_out(sessionmaker, SETTINGS)
    owner = await register(client)
    webhook = await create_webhook(client, owner, "https://hooks.example.com/all")
    await emit_events(sessionmaker, owner.org_id, *[EventType.API_KEY_CREATED] * 7)

    counts = await asyncio.gather(*(fan_out(sessionmaker, SETTINGS, page=2) for _ in range(4)))
    counts.append(await fan_out(sessionmaker, SETTINGS, page=2))
    assert sum(counts) == 7
    event_ids = [event_id for event_id, _ in await delivered(sessionmaker, webhook["id"])]
    assert len(event_ids) == len(set(event_ids)) == 7


async def test_a_held_cursor_is_passed_without_waiting(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await fan_out(sessionmaker, SETTINGS)
    owner = await register(client)
    webhook = await create_webhook(client, owner, "https://hooks.example.com/all")
    await emit_events(sessionmaker, owner.org_id, EventType.API_KEY_CREATED)

    async with sessionmaker() as holder, holder.begin():
        await holder.execute(select(WebhookCursor).with_for_update())
        # Another process is fanning out: this one returns at once (a wait would end in the timeout, failing).
        async with asyncio.timeout(10):
            assert await fan_out(sessionmaker, SETTINGS) == 0
    assert await delivered(sessionmaker, webhook["id"]) == []
    assert await fan_out(sessionmaker, SETTINGS) == 1


async def test_an_organization_without_endpoints_costs_a_few_statements(
    quiet: tuple[FastAPI, httpx.AsyncClient],
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await fan_out(sessionmaker, SETTINGS)
    silent = await register(client)
    await emit_events(sessionmaker, silent.org_id, *[EventType.API_KEY_CREATED] * 300)
    statements: list[str] = []

    ours = asyncio.current_task()

    def record(connection: Connection, cursor: object, statement: str, *args: object) -> None:
        # The app's own loops (reaper, relay) share the engine: only this task's statements count.
        if asyncio.current_task() is ours:
            statements.append(statement)

    engine = quiet[0].state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert await fan_out(sessionmaker, SETTINGS, page=10) == 0
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # Lock the cursor, read the newest id, find no event of an organization with an endpoint, move the cursor.
    assert len(statements) <= 6, statements
    async with sessionmaker() as session:
        cursor = await session.scalar(select(WebhookCursor.last_event_id))
        newest = await session.scalar(select(func.max(WebhookDelivery.event_id)))
    assert cursor is not None
    assert newest is None or newest < cursor


async def test_old_finished_deliveries_are_pruned(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner = await register(client)
    webhook = await create_webhook(client, owner, "https://hooks.example.com/all")
    await emit_events(sessionmaker, owner.org_id, *[EventType.API_KEY_CREATED] * 4)
    await fan_out(sessionmaker, SETTINGS)
    old = datetime.now(UTC) - timedelta(days=40)
    async with sessionmaker() as session, session.begin():
        rows = (
            await session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == UUID(webhook["id"]))
                .order_by(WebhookDelivery.id)
            )
        ).all()
        kept_pending, pruned, pruned_too, recent = rows
        for row in (kept_pending, pruned, pruned_too):
            row.created_at = old
        for row in (pruned, pruned_too, recent):
            row.status = DeliveryStatus.FAILED
        session.add(WebhookAttempt(org_id=owner.org_id, delivery_id=pruned.id, attempt=1, succeeded=False))
        job = Job(
            org_id=None, kind=PRUNE_DELIVERIES, max_attempts=1, status=JobStatus.RUNNING, attempts=1, lease_id=uuid4()
        )
        session.add(job)

    await prune_deliveries(timedelta(days=30))(JobContext(job, sessionmaker))

    async with sessionmaker() as session:
        left = set(
            (
                await session.scalars(
                    select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == UUID(webhook["id"]))
                )
            ).all()
        )
        attempts = (
            await session.scalars(select(WebhookAttempt.id).where(WebhookAttempt.delivery_id == pruned.id))
        ).all()
    assert left == {kept_pending.id, recent.id}
    assert attempts == []
