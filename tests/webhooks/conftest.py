"""Apps with webhooks mounted and the fan-out running, each on a database of its own, and a real receiver: a small
HTTP server on 127.0.0.1 that records what it is sent and answers as a test scripts it."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from folio.jobs.kinds import WEBHOOK_DELIVER
from folio.jobs.runner import Handler
from folio.main import create_app
from folio.models import Event, Job, JobStatus, WebhookCursor
from folio.webhooks import router as webhooks_router
from folio.webhooks.fanout import running_fan_out
from tests.apps import FAST_JOBS
from tests.conftest import make_settings, new_database
from tests.factories import Account
from tests.live_server import serve_in_thread

WEBHOOKS = "/api/v1/webhooks"
# Receivers on this machine: the self-hosted deployment's setting.
LOCAL_OUTBOUND = {"allow_private": True, "allow_hosts": ["127.0.0.1"]}
# Three quick retries: four attempts in all.
QUICK_RETRIES = {"retry_schedule_seconds": [0.05, 0.05, 0.05], "timeout_seconds": 2}

T = TypeVar("T")


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers POST /hooks/{name} with the next status scripted for `name` (204 once the script is used up),
    /redirect/{name} with a 302 to /landed/{name} on this same private address, /big/{name} with a 500 and a large
    body, /slow/{name} after `slow_seconds`."""

    url: str = ""
    slow_seconds: float = 5
    received: defaultdict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    scripts: dict[str, list[int]] = field(default_factory=dict)
    landed: list[str] = field(default_factory=list)

    def hook(self, path: str = "hooks") -> tuple[str, str]:
        """A fresh name and its URL, so that no earlier test's retries reach this one's."""
        name = uuid4().hex
        return name, f"{self.url}/{path}/{name}"

    async def _record(self, request: Request) -> str:
        name: str = request.path_params["name"]
        self.received[name].append(Received(dict(request.headers), await request.body()))
        return name

    async def hooks(self, request: Request) -> Response:
        name = await self._record(request)
        script = self.scripts.get(name)
        status = script.pop(0) if script else 204
        return Response(b"receiver says no" if status >= 400 else b"", status)

    async def redirect(self, request: Request) -> Response:
        name = await self._record(request)
        return RedirectResponse(f"{self.url}/landed/{name}", status_code=302)

    async def land(self, request: Request) -> Response:
        self.landed.append(request.path_params["name"])
        return Response(b"followed", 200)

    async def big(self, request: Request) -> Response:
        await self._record(request)
        return Response(b"internal secrets " * 100, 500, media_type="text/plain")

    async def slow(self, request: Request) -> Response:
        await self._record(request)
        await asyncio.sleep(self.slow_seconds)
        return Response(b"", 204)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    app = Starlette(
        routes=[
            Route("/hooks/{name}", state.hooks, methods=["POST"]),
            Route("/redirect/{name}", state.redirect, methods=["POST"]),
            Route("/landed/{name}", state.land, methods=["GET", "POST"]),
            Route("/big/{name}", state.big, methods=["POST"]),
            Route("/slow/{name}", state.slow, methods=["POST"]),
        ]
    )
    with serve_in_thread(app, lifespan="off") as url:
        state.url = url
        yield state


def mount(application: FastAPI) -> None:
    """The webhooks router, until main.py mounts it."""
    if not any(getattr(route, "path", "").startswith(WEBHOOKS) for route in application.routes):
        application.include_router(webhooks_router.router)


@asynccontextmanager
async def webhook_app(
    database_url: str, *, job_handlers: Mapping[str, Handler] | None = None, fan_out: bool = True, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app on a new database, with the webhooks router and (unless `fan_out` is off) the fan-out every 50 ms;
    `job_handlers` as `create_app` takes them (default: the deployment's)."""
    async with new_database(database_url) as url:
        jobs = {**FAST_JOBS, **overrides.pop("jobs", {})}
        application = create_app(make_settings(url, jobs=jobs, **overrides), job_handlers=job_handlers)
        mount(application)
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
        ):
            if not fan_out:
                yield application, http
                return
            async with running_fan_out(
                application.state.sessionmaker, application.state.settings.webhooks, interval=0.05
            ):
                yield application, http


async def create_webhook(
    client: httpx.AsyncClient, account: Account, url: str, *, event_types: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        WEBHOOKS, json={"url": url, "event_types": event_types or [], **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(
    client: httpx.AsyncClient, account: Account, webhook_id: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def eventually(check: Callable[[], Awaitable[T | None]], *, seconds: float = 30) -> T:
    """Poll `check` until it returns something (bounded, so a broken delivery fails the test instead of hanging)."""
    async with asyncio.timeout(seconds):
        while True:
            if (result := await check()) is not None:
                return result
            await asyncio.sleep(0.05)


async def finished_deliveries(
    client: httpx.AsyncClient, account: Account, webhook_id: str, count: int = 1
) -> list[dict[str, Any]]:
    """The endpoint's deliveries, newest first, once `count` of them have finished and none is pending."""

    async def check() -> list[dict[str, Any]] | None:
        items = await deliveries(client, account, webhook_id)
        done = [item for item in items if item["status"] != "pending"]
        return items if len(done) >= count and len(done) == len(items) else None

    return await eventually(check)


async def settled(app: FastAPI) -> None:
    """Once no delivery job is queued or running and the fan-out has read every stored event."""

    async def check() -> bool | None:
        async with app.state.sessionmaker() as session:
            busy = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.kind == WEBHOOK_DELIVER, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            )
            cursor = await session.scalar(select(WebhookCursor.last_event_id))
            last = await session.scalar(select(func.coalesce(func.max(Event.id), 0)))
        return True if busy == 0 and cursor == last else None

    await eventually(check)
