"""Live streams are bounded per process as well as per organization, and an open stream is not a request in
flight: a few hundred of them must not shed every other request."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from folio.events.errors import SubscriberTooSlow, TooManyStreams
from folio.events.hub import Hub, Subscription
from folio.events.outbox import LiveEvent
from folio.main import create_app
from folio.models import Organization, User
from folio.orgs import service as orgs
from folio.settings import EventSettings
from tests.conftest import make_settings
from tests.events.emitting import commit_records
from tests.events.test_sse import EVENTS, Stream, serving
from tests.factories import register


def everything(event: LiveEvent) -> bool:
    return True


async def test_the_process_limit_holds_across_organizations(app: FastAPI) -> None:
    hub = Hub(app.state.sessionmaker, EventSettings(max_connections=2))
    async with hub.subscribe(uuid4(), everything), hub.subscribe(uuid4(), everything):
        with pytest.raises(TooManyStreams):
            async with hub.subscribe(uuid4(), everything):
                pass
    async with hub.subscribe(uuid4(), everything):
        assert hub._open == 1


async def test_an_open_stream_does_not_count_as_a_request_in_flight(own_database_url: str) -> None:
    application = create_app(make_settings(own_database_url, http={"max_in_flight": 1}))
    async with application.router.lifespan_context(application), serving(application) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            account = await register(client)
            async with client.stream("GET", EVENTS, headers=account.headers) as response:
                assert response.status_code == 200
                await Stream(response).message()  # the retry line: the stream is open
                listed = await client.get("/api/v1/documents", headers=account.headers)
                assert listed.status_code == 200, listed.text
            assert application.state.load.in_flight == 0


async def test_a_large_commit_keeps_a_client_that_kept_up_and_a_stuck_one_is_dropped(own_database_url: str) -> None:
    application = create_app(make_settings(own_database_url, events={"max_queue": 10}))
    async with application.router.lifespan_context(application):
        org_id = (await _org(application)).id
        async with application.state.hub.subscribe(org_id, everything) as subscription:
            await commit_records(application.state.sessionmaker, org_id, 50)
            async with asyncio.timeout(30):
                received = [await subscription.next() for _ in range(50)]
            assert all(event is not None for event in received)

            await commit_records(application.state.sessionmaker, org_id, 50)  # not read: 50 wait, past the bound of 10
            await commit_records(application.state.sessionmaker, org_id, 1)
            with pytest.raises(SubscriberTooSlow):
                await _drain(subscription)


async def _drain(subscription: Subscription) -> None:
    async with asyncio.timeout(30):
        while True:
            await subscription.next()


async def _org(app: FastAPI) -> Organization:
    async with app.state.sessionmaker() as session, session.begin():
        return await orgs.create_org(session, name="Burst", owner_id=await _user(session))


async def _user(session: AsyncSession) -> UUID:
    user = User(email=f"burst-{uuid4()}@example.com", name="Burst", password_hash="x")
    session.add(user)
    await session.flush()
    return user.id
