"""What the system tells members by itself: a job that failed for good (its creator), a webhook endpoint disabled
after failing deliveries (owners and admins); and the `webhook` channel, carried by the organization's endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from standardwebhooks import Webhook

from folio.jobs import service as jobs
from folio.main import create_app
from folio.models import Job, JobStatus, Notification
from tests.conftest import make_settings
from tests.factories import Account, add_member, create_api_key, register, wait_until_finished
from tests.inbox.helpers import INBOX, inbox, notify_now
from tests.jobs.conftest import FAST_JOBS, HANDLERS, enqueue
from tests.jobs.test_runner import past, set_job
from tests.webhooks.conftest import (
    LOCAL_OUTBOUND,
    Receiver,
    create_webhook,
    eventually,
    finished_deliveries,
    receiver,
    webhook_app,
)

__all__ = ["receiver"]  # the fixture, for this module's tests


@pytest.fixture(scope="module")
async def jobs_app(separate_database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(separate_database_url, jobs=FAST_JOBS), job_handlers=HANDLERS)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def jobs_client(jobs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=jobs_app), base_url="http://testserver") as http:
        yield http


async def team(client: httpx.AsyncClient, role: str) -> tuple[Account, Account]:
    owner, member = await register(client), await register(client)
    await add_member(client, owner, member, role)
    return owner, member


async def count_notifications(app: FastAPI) -> int:
    """Every notification stored, in any organization (this module's database is shared by its tests)."""
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Notification)) or 0)


async def told(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The member's notifications, once there is one."""

    async def check() -> list[dict[str, Any]] | None:
        return await inbox(client, headers) or None

    return await eventually(check)


async def test_a_job_that_fails_tells_the_member_who_started_it(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    owner, admin = await team(jobs_client, "admin")
    job_id = await enqueue(jobs_app, owner, "test.refuse_once")

    job = await wait_until_finished(jobs_client, owner, job_id)

    assert job["status"] == "failed"
    [item] = await inbox(jobs_client, owner.headers)
    assert item["kind"] == "job_failed"
    assert item["title"] == "A test.refuse once job you started failed"
    assert item["body"] == "Refused on purpose."
    assert item["subject"] == {"type": "job", "id": str(job_id)}
    assert item["actor"] == {"type": "system", "id": None}
    assert await inbox(jobs_client, admin.in_org(owner.org_id)) == []


async def test_a_job_whose_worker_kept_dying_tells_its_creator(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    owner = await register(jobs_client)
    job_id = await enqueue(jobs_app, owner, "test.echo", dispatch=False, max_attempts=2)
    await set_job(jobs_app, job_id, status=JobStatus.RUNNING, attempts=2, lease_expires_at=past(seconds=5))

    job = await wait_until_finished(jobs_client, owner, job_id)

    assert job["error_code"] == "WORKER_LOST"
    [item] = await inbox(jobs_client, owner.headers)
    assert item["kind"] == "job_failed"
    assert item["subject"] == {"type": "job", "id": str(job_id)}


async def test_jobs_that_succeed_or_belong_to_no_organization_tell_nobody(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    owner = await register(jobs_client)
    before = await count_notifications(jobs_app)
    succeeded = await enqueue(jobs_app, owner, "test.echo")
    async with jobs_app.state.sessionmaker() as session, session.begin():
        system = jobs.enqueue_system(session, kind="test.refuse_once", max_attempts=1)

    assert (await wait_until_finished(jobs_client, owner, succeeded))["status"] == "succeeded"

    async def system_failed() -> bool | None:
        async with jobs_app.state.sessionmaker() as session:
            return True if await session.scalar(select(Job.status).where(Job.id == system.id)) == "failed" else None

    await eventually(system_failed)
    assert await count_notifications(jobs_app) == before


@pytest.fixture(scope="module")
async def hooks(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app that may deliver to 127.0.0.1, trying each delivery once and disabling an endpoint at its first
    failed delivery."""
    settings = {"retry_schedule_seconds": [], "timeout_seconds": 2, "disable_after_failures": 1}
    async with webhook_app(database_url, outbound=LOCAL_OUTBOUND, webhooks=settings) as served:
        yield served


async def test_a_disabled_webhook_endpoint_tells_the_owners_and_admins(
    hooks: tuple[FastAPI, httpx.AsyncClient], receiver: Receiver
) -> None:
    client = hooks[1]
    owner, admin = await team(client, "admin")
    editor = await register(client)
    await add_member(client, owner, editor, "editor")
    name, url = receiver.hook()
    receiver.scripts[name] = [500] * 10
    failing = await create_webhook(client, owner, url, event_types=["api_key.created"])

    await create_api_key(client, owner)

    [item] = await told(client, owner.headers)
    assert item["kind"] == "webhook_disabled"
    assert item["title"] == "The webhook endpoint at 127.0.0.1 was disabled"
    assert item["body"] == "1 deliveries in a row failed."
    assert item["subject"] == {"type": "webhook", "id": failing["id"]}
    assert name not in str(item)  # the URL's path may hold the receiver's secret
    [for_admin] = await told(client, admin.in_org(owner.org_id))
    assert for_admin["subject"] == item["subject"]
    assert await inbox(client, editor.in_org(owner.org_id)) == []


async def test_the_webhook_channel_goes_to_the_organization_s_endpoints_only(
    hooks: tuple[FastAPI, httpx.AsyncClient], receiver: Receiver
) -> None:
    app, client = hooks
    owner, member = await team(client, "viewer")
    response = await client.put(
        f"{INBOX}/preferences", json={"mention": "webhook"}, headers=member.in_org(owner.org_id)
    )
    assert response.status_code == 200, response.text
    name, url = receiver.hook()
    endpoint = await create_webhook(client, owner, url, event_types=["notification.created"])

    await notify_now(app, owner.org_id, [member.user_id], title="Mentioned, by webhook")

    [delivery] = await finished_deliveries(client, owner, endpoint["id"])
    assert delivery["status"] == "succeeded"
    payload: dict[str, Any] = Webhook(endpoint["secret"]).verify(
        receiver.received[name][0].body, receiver.received[name][0].headers
    )
    assert payload["type"] == "notification.created"
    assert payload["data"]["recipient_id"] == str(member.user_id)
    assert payload["data"]["data"]["title"] == "Mentioned, by webhook"
    assert payload["data"]["data"]["in_inbox"] is False
    assert UUID(payload["data"]["data"]["notification_id"])
    assert await inbox(client, member.in_org(owner.org_id)) == []
