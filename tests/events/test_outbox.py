"""The outbox and the hub: events commit with their change, in id order, reach subscribers once, and nothing of a
rolled-back transaction is published, deleted or dispatched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import get_args
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from folio.auth.deps import CurrentPrincipal
from folio.db import create_sessionmaker
from folio.deps import SessionDep
from folio.documents import service as documents
from folio.events.envelopes import Event
from folio.events.hub import Subscription
from folio.events.outbox import LiveEvent, emit
from folio.events.schemas import DATA_OF, CaseData, EventType, SubjectType
from folio.jobs import service as jobs
from folio.jobs.runner import JobContext
from folio.main import create_app
from folio.models import Event as StoredEvent
from folio.repository import lock_org
from tests.conftest import make_settings
from tests.documents.test_router import ready_document, storage_key, upload, wait_ready
from tests.events.emitting import commit_records
from tests.factories import Account, add_member, create_api_key, register
from tests.jobs.conftest import enqueue


def everything(event: LiveEvent) -> bool:
    return True


def not_about_jobs(event: LiveEvent) -> bool:
    return event.subject_type is not SubjectType.JOB


async def received(subscription: Subscription, count: int) -> list[LiveEvent]:
    events: list[LiveEvent] = []
    async with asyncio.timeout(30):
        while len(events) < count:
            event = await subscription.next()
            assert event is not None
            events.append(event)
    return events


async def stored(app: FastAPI, org_id: UUID) -> list[StoredEvent]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(select(StoredEvent).where(StoredEvent.org_id == org_id).order_by(StoredEvent.id))
        return list(rows.all())


@pytest.fixture
async def failing_app(own_database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app with a route that deletes a document and then fails (`fail=true`) or not."""
    application = create_app(make_settings(own_database_url))

    async def delete_then(document_id: UUID, principal: CurrentPrincipal, session: SessionDep, fail: bool) -> None:
        storage = application.state.storage
        await documents.delete_document(session, principal=principal, storage=storage, document_id=document_id)
        if fail:
            raise RuntimeError("the request fails after deleting")

    application.add_api_route("/test/delete/{document_id}", delete_then, methods=["POST"], status_code=204)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        yield application, client


async def test_a_rolled_back_request_publishes_nothing_and_deletes_no_file(
    failing_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = failing_app
    account = await register(client)
    document = await ready_document(client, account)
    path = app.state.storage.local_path(await storage_key(app, document["id"]))

    # Not the jobs' events: the ingestion job may still be recording its success.
    async with app.state.hub.subscribe(account.org_id, not_about_jobs) as subscription:
        failed = await client.post(f"/test/delete/{document['id']}", params={"fail": True}, headers=account.headers)
        assert failed.status_code == 500
        assert path.exists()
        assert (await client.get(f"/api/v1/documents/{document['id']}", headers=account.headers)).status_code == 200
        assert "document.deleted" not in [event.type for event in await stored(app, account.org_id)]
        # Anything the failed request had published would arrive before this later event.
        await commit_records(app.state.sessionmaker, account.org_id)
        assert [event.type for event in await received(subscription, 1)] == [EventType.CASE_UPDATED]

        deleted = await client.post(f"/test/delete/{document['id']}", params={"fail": False}, headers=account.headers)
        assert deleted.status_code == 204
        assert not path.exists()
        [event] = await received(subscription, 1)
        assert (event.type, str(event.subject_id)) == (EventType.DOCUMENT_DELETED, document["id"])


async def test_ids_commit_in_order_and_every_subscriber_gets_each_event_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    async with (
        app.state.hub.subscribe(account.org_id, everything) as first,
        app.state.hub.subscribe(account.org_id, everything) as second,
    ):
        await asyncio.gather(*(commit_records(app.state.sessionmaker, account.org_id) for _ in range(40)))
        ids = [[event.id for event in await received(subscription, 40)] for subscription in (first, second)]
    rows = [row.id for row in await stored(app, account.org_id)]
    assert ids[0] == ids[1] == rows
    assert rows == sorted(rows)
    assert len(set(rows)) == 40


async def test_an_organization_write_lock_does_not_hold_up_events_being_stored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A transaction holding the organization's write lock (an export job's count, a share's...) stores its events
    last, under the events lock; another transaction storing an event of the organization meanwhile must not wait
    for the first, or each waits for the other (a deadlock, a 500)."""
    account = await register(client)
    async with app.state.sessionmaker() as holder, holder.begin():
        await lock_org(holder, account.org_id)
        async with app.state.sessionmaker() as other, other.begin():
            await other.execute(text("SET LOCAL lock_timeout = '5s'"))
            data = CaseData(number="C-000001", changes=[], status="open", priority="normal")
            emit(other, org_id=account.org_id, type=EventType.CASE_UPDATED, subject_id=uuid4(), data=data)
    assert [row.type for row in await stored(app, account.org_id)][-1] == EventType.CASE_UPDATED


async def test_an_event_never_published_is_delivered_by_the_relay(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    # A session without the bus: as if the process died between the commit and the publish.
    silent = create_sessionmaker(app.state.engine)
    async with app.state.hub.subscribe(account.org_id, everything) as subscription:
        await commit_records(silent, account.org_id)
        [event] = await received(subscription, 1)
    [row] = await stored(app, account.org_id)
    assert event.id == row.id


async def test_since_replays_the_missed_events_exactly_once_then_goes_live(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    for _ in range(5):
        await commit_records(app.state.sessionmaker, account.org_id)
    ids = [row.id for row in await stored(app, account.org_id)]
    async with app.state.hub.subscribe(account.org_id, everything, since=ids[1]) as subscription:
        replayed = await received(subscription, 3)
        await commit_records(app.state.sessionmaker, account.org_id)
        [live] = await received(subscription, 1)
        assert await subscription.next(heartbeat=0.2) is None  # nothing twice
    assert [event.id for event in replayed] == ids[2:]
    assert live.id is not None
    assert live.id > ids[-1]


async def test_a_subscription_sees_only_its_organization(app: FastAPI, client: httpx.AsyncClient) -> None:
    mine, theirs = await register(client), await register(client)
    async with app.state.hub.subscribe(mine.org_id, everything) as subscription:
        await commit_records(app.state.sessionmaker, theirs.org_id)
        await commit_records(app.state.sessionmaker, mine.org_id)
        [event] = await received(subscription, 1)
    assert event.org_id == mine.org_id


async def test_an_upload_tells_its_whole_story_in_order(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    item = await upload(client, account, content=b"# Story\n\nA document that becomes ready.")
    await wait_ready(client, account, item["document"]["id"])
    await jobs_finished(app, account)
    story = [(event.type, str(event.subject_id)) for event in await stored(app, account.org_id)]
    document_id, job_id = item["document"]["id"], item["job_id"]
    assert story == [
        ("document.created", document_id),
        ("job.queued", job_id),
        ("job.started", job_id),
        ("document.ready", document_id),
        ("job.succeeded", job_id),
    ]
    [ready] = [event for event in await stored(app, account.org_id) if event.type == "document.ready"]
    assert ready.actor_type == "system"
    [created] = [event for event in await stored(app, account.org_id) if event.type == "document.created"]
    assert (created.actor_type, created.actor_id) == ("user", account.user_id)


async def jobs_finished(app: FastAPI, account: Account) -> None:
    async with asyncio.timeout(30):
        while not any(event.type == "job.succeeded" for event in await stored(app, account.org_id)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_keys_and_members_are_told_to_admins(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, member = await register(client), await register(client)
    key = await create_api_key(client, owner)
    assert (await client.delete(f"/api/v1/api-keys/{key['id']}", headers=owner.headers)).status_code == 204
    await add_member(client, owner, member, "viewer")
    changed = await client.patch(
        f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}", json={"role": "editor"}, headers=owner.headers
    )
    assert changed.status_code == 200, changed.text
    removed = await client.delete(f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}", headers=owner.headers)
    assert removed.status_code == 204, removed.text
    events = await stored(app, owner.org_id)
    assert [event.type for event in events] == [
        "api_key.created",
        "api_key.revoked",
        "member.added",
        "member.role_changed",
        "member.removed",
    ]
    assert [event.data.get("role") for event in events[2:]] == ["viewer", "editor", None]
    assert events[2].actor_id == member.user_id  # they accepted the invitation themselves
    assert all(EventType(event.type).scope.value == "admin" for event in events)


async def test_a_job_that_enqueues_a_job_dispatches_it_at_once(own_database_url: str) -> None:
    ran = asyncio.Event()

    async def parent(context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            await jobs.enqueue(session, principal=context.principal, kind="test.child", max_attempts=1)

    async def child(context: JobContext) -> None:
        ran.set()

    # The reaper looks once, at start: only the after-commit dispatch can start the child.
    settings = make_settings(own_database_url, jobs={"reaper_seconds": 3600})
    application = create_app(settings, job_handlers={"test.parent": parent, "test.child": child})
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        account = await register(client)
        await enqueue(application, account, "test.parent")
        async with asyncio.timeout(30):
            await ran.wait()


def test_every_event_type_has_its_payload_in_the_documented_union() -> None:
    members = get_args(get_args(Event)[0])
    documented = {
        literal: member.model_fields["data"].annotation
        for member in members
        for literal in get_args(member.model_fields["type"].annotation)
    }
    assert documented == {type.value: DATA_OF[type] for type in EventType}
