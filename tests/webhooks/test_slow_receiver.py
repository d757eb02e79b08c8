"""No database connection is held while a receiver answers: with a pool of one connection, the API still serves a
request made from inside the receiver's handler (a held connection would leave it waiting until the pool timeout,
answering 503)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.factories import Account, register
from tests.live_server import serve_in_thread
from tests.webhooks.conftest import LOCAL_OUTBOUND, WEBHOOKS, create_webhook, finished_deliveries, webhook_app


@dataclass
class Probe:
    """A receiver that, before answering, has the test's loop list the webhooks through the API."""

    url: str = ""
    loop: asyncio.AbstractEventLoop | None = None
    client: httpx.AsyncClient | None = None
    account: Account | None = None
    statuses: list[int] = field(default_factory=list)

    async def list_webhooks(self) -> int:
        assert self.client is not None
        assert self.account is not None
        return (await self.client.get(WEBHOOKS, headers=self.account.headers)).status_code

    async def hook(self, request: Request) -> Response:
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(self.list_webhooks(), self.loop)
        self.statuses.append(await asyncio.wrap_future(future))
        return Response(b"", 204)


@pytest.fixture(scope="module")
def probe() -> Iterator[Probe]:
    state = Probe()
    with serve_in_thread(Starlette(routes=[Route("/hook", state.hook, methods=["POST"])]), lifespan="off") as url:
        state.url = url
        yield state


@pytest.fixture(scope="module")
async def one_connection(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with webhook_app(
        database_url,
        outbound=LOCAL_OUTBOUND,
        db={"pool_size": 1, "max_overflow": 0, "pool_timeout_seconds": 3},
        webhooks={"retry_schedule_seconds": [], "timeout_seconds": 20},
    ) as served:
        yield served


async def test_the_delivery_holds_no_connection_while_the_receiver_answers(
    one_connection: tuple[FastAPI, httpx.AsyncClient], probe: Probe
) -> None:
    client = one_connection[1]
    owner = await register(client)
    probe.loop, probe.client, probe.account = asyncio.get_running_loop(), client, owner
    webhook = await create_webhook(client, owner, f"{probe.url}/hook")
    assert (await client.post(f"{WEBHOOKS}/{webhook['id']}/ping", headers=owner.headers)).status_code == 202

    [delivery] = await finished_deliveries(client, owner, webhook["id"])
    assert probe.statuses == [200]
    assert delivery["status"] == "succeeded"
