"""Live streams are bounded per process as well as per organization, and an open stream is not a request in
flight: a few hundred of them must not shed every other request."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from folio.events.errors import TooManyStreams
from folio.events.hub import Hub
from folio.events.outbox import LiveEvent
from folio.main import create_app
from folio.settings import EventSettings
from tests.conftest import make_settings
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
