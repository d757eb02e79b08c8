"""Server-sent event streams over real HTTP: a uvicorn server on the test's event loop serves the app, so tests
can stream, disconnect, and reach the app's hub and job queue directly."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from folio.db import create_sessionmaker
from folio.events import sse_access
from folio.events.outbox import LiveEvent, emit
from folio.events.schemas import SYSTEM, CaseData, EventType, SubjectType
from folio.main import create_app
from folio.models import Event as StoredEvent
from tests.conftest import make_settings
from tests.events.emitting import commit_records
from tests.factories import Account, add_member, create_api_key, error_of, register
from tests.jobs.conftest import HANDLERS, enqueue

EVENTS = "/api/v1/events"
LIMIT = 5
EVENT_SETTINGS = {"heartbeat_seconds": 0.1, "relay_seconds": 0.05, "max_connections_per_org": LIMIT}


@dataclass
class Message:
    """One server-sent event as a client parses it."""

    event: str | None = None
    data: str | None = None
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        assert self.data is not None
        decoded: dict[str, Any] = orjson.loads(self.data)
        return decoded


class Stream:
    """An open event stream: its messages as they come, parsed line by line as the SSE specification says."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def message(self) -> Message | None:
        """The next message (comments included), or None once the stream has ended."""
        message = Message()
        empty = True
        async with asyncio.timeout(20):
            async for line in self._lines:
                if not line:
                    if not empty:
                        return message
                    continue
                empty = False
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if not name:
                    message.comments.append(value)
                elif name == "event":
                    message.event = value
                elif name == "data":
                    message.data = value if message.data is None else f"{message.data}\n{value}"
                elif name == "id":
                    message.id = value
                elif name == "retry":
                    message.retry = int(value)
        return None if empty else message

    async def event(self) -> Message:
        """The next event, past the retry line and heartbeats."""
        async with asyncio.timeout(20):
            while True:
                message = await self.message()
                assert message is not None, "the stream ended"
                if message.event is not None:
                    return message

    async def events(self, count: int) -> list[Message]:
        return [await self.event() for _ in range(count)]

    async def rest(self) -> list[Message]:
        """Every message until the stream ends."""
        messages = []
        async with asyncio.timeout(20):
            while (message := await self.message()) is not None:
                messages.append(message)
        return messages


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """uvicorn serving `app` (whose lifespan the caller runs) on a free port of this event loop."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, http="h11", ws="none", access_log=False, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(30):
            while True:
                if server.started:
                    break
                assert not task.done(), "uvicorn did not start"
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        listener.close()


@dataclass
class Live:
    app: FastAPI
    client: httpx.AsyncClient

    def stream(
        self, path: str = EVENTS, *, headers: dict[str, str], **params: Any
    ) -> AbstractAsyncContextManager[httpx.Response]:
        return self.client.stream("GET", path, headers=headers, params=params)

    async def get(
        self, path: str, *, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """The answer to a request that should be refused. A stream that opens instead is closed unread, so the
        test fails at once instead of waiting for an endless body."""
        async with self.stream(path, headers=headers or {}, **(params or {})) as response:
            if response.status_code != 200:
                await response.aread()
        return response

    @asynccontextmanager
    async def open(self, path: str = EVENTS, *, headers: dict[str, str], **params: Any) -> AsyncIterator[Stream]:
        async with self.stream(path, headers=headers, **params) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            yield Stream(response)


@asynccontextmanager
async def live_app(database_url: str, *, events: dict[str, Any] | None = None, **settings: Any) -> AsyncIterator[Live]:
    application = create_app(
        make_settings(database_url, events={**EVENT_SETTINGS, **(events or {})}, **settings), job_handlers=HANDLERS
    )
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=20)
    async with (
        application.router.lifespan_context(application),
        serving(application) as url,
        httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client,
    ):
        yield Live(application, client)


@pytest.fixture(scope="module")
async def live(separate_database_url: str) -> AsyncIterator[Live]:
    # A hundred streams open at once authenticate at once: under a loaded test machine they may wait for the pool.
    async with live_app(separate_database_url, db={"pool_timeout_seconds": 30}) as running:
        yield running


async def queued_job(live: Live, account: Account) -> UUID:
    """A job that stays queued until the test dispatches it (the reaper waits a full lease before it would)."""
    return await enqueue(live.app, account, "test.echo", dispatch=False)


async def stored_ids(live: Live, org_id: UUID) -> list[int]:
    async with live.app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(StoredEvent.id).where(StoredEvent.org_id == org_id).order_by(StoredEvent.id)
        )
        return list(rows.all())


async def until_streams(live: Live, org_id: UUID, count: int) -> None:
    """Wait (bounded) until the organization has `count` live streams in the hub."""
    async with asyncio.timeout(10):
        while True:
            if live.app.state.hub.streams(org_id) == count:
                return
            await asyncio.sleep(0.01)


# A job's stream


async def test_a_jobs_stream_follows_it_from_queued_to_its_end(live: Live) -> None:
    account = await register(live.client)
    job_id = await queued_job(live, account)
    alongside = await queued_job(live, account)

    async with live.open(f"/api/v1/jobs/{job_id}/events", headers=account.headers) as stream:
        first = await stream.message()
        assert first is not None
        assert first.retry == 2000
        queued = await stream.event()
        assert (queued.event, queued.id, queued.body["data"]["status"]) == ("job.queued", None, "queued")
        await live.app.state.job_queue.dispatch([alongside, job_id])
        rest = [message for message in await stream.rest() if message.event is not None]

    assert [message.event for message in rest] == ["job.started", "job.progress", "job.progress", "job.succeeded"]
    assert [message.body["data"]["progress"] for message in rest[1:3]] == [10, 60]
    assert all(message.body["subject"] == {"type": "job", "id": str(job_id)} for message in [queued, *rest])
    # Stored events carry their id; live-only progress has none.
    assert [message.id is not None for message in rest] == [True, False, False, True]
    assert [message.id for message in rest if message.id] == [str(rest[0].body["id"]), str(rest[3].body["id"])]


async def test_a_finished_jobs_stream_answers_its_outcome_and_ends(live: Live) -> None:
    account = await register(live.client)
    job_id = await queued_job(live, account)
    async with live.open(f"/api/v1/jobs/{job_id}/events", headers=account.headers) as stream:
        await live.app.state.job_queue.dispatch([job_id])
        await stream.rest()

    async with live.open(f"/api/v1/jobs/{job_id}/events", headers=account.headers) as stream:
        messages = await stream.rest()

    assert [message.retry for message in messages] == [2000, None]
    assert messages[1].event == "job.succeeded"
    assert messages[1].body["data"]["progress"] == 100
    await until_streams(live, account.org_id, 0)


async def test_another_orgs_job_is_not_found(live: Live) -> None:
    owner = await register(live.client)
    stranger = await register(live.client)
    job_id = await queued_job(live, owner)
    key = await create_api_key(live.client, stranger, scopes=["documents:read"])

    for headers in (stranger.headers, {"X-API-Key": key["secret"]}):
        error_of(await live.get(f"/api/v1/jobs/{job_id}/events", headers=headers), 404, "JOB_NOT_FOUND")
    missing = await live.get(f"/api/v1/jobs/{uuid4()}/events", headers=owner.headers)
    error_of(missing, 404, "JOB_NOT_FOUND")
    error_of(await live.get("/api/v1/jobs/not-an-id/events", headers=owner.headers), 422, "VALIDATION_ERROR")
    search_only = await create_api_key(live.client, owner, scopes=["search"])
    refused = await live.get(f"/api/v1/jobs/{job_id}/events", headers={"X-API-Key": search_only["secret"]})
    assert error_of(refused, 403, "FORBIDDEN")["details"]["missing_scopes"] == ["documents:read"]


# The organization's stream


async def test_streams_need_credentials(live: Live) -> None:
    owner = await register(live.client)
    job_id = await queued_job(live, owner)
    for path in (EVENTS, f"/api/v1/jobs/{job_id}/events"):
        error_of(await live.get(path), 401, "AUTH_REQUIRED")
        error_of(await live.get(path, headers={"Authorization": "Bearer nope"}), 401, "AUTH_INVALID")
        error_of(await live.get(path, headers={"X-API-Key": "folio_nope"}), 401, "AUTH_INVALID")


async def test_a_stream_starts_with_retry_and_sends_heartbeats(live: Live) -> None:
    account = await register(live.client)
    async with live.open(headers=account.headers) as stream:
        first = await stream.message()
        second = await stream.message()
        third = await stream.message()

    assert first == Message(retry=2000)
    assert second == third == Message(comments=["heartbeat"])


async def test_events_arrive_with_id_type_and_data(live: Live) -> None:
    account = await register(live.client)
    async with live.open(headers=account.headers) as stream:
        job_id = await enqueue(live.app, account, "test.echo")
        events = await stream.events(5)

    assert [event.event for event in events] == [
        "job.queued",
        "job.started",
        "job.progress",
        "job.progress",
        "job.succeeded",
    ]
    for event in events:
        assert event.body["type"] == event.event
        assert event.body["org_id"] == str(account.org_id)
        assert event.body["subject"]["id"] == str(job_id)
        assert event.id == (None if event.body["id"] is None else str(event.body["id"]))
    ids = [int(event.id) for event in events if event.id]
    assert ids == sorted(ids)
    assert ids == await stored_ids(live, account.org_id)


async def test_last_event_id_resumes_right_after_it(live: Live) -> None:
    account = await register(live.client)
    for _ in range(6):
        await commit_records(live.app.state.sessionmaker, account.org_id)
    ids = await stored_ids(live, account.org_id)

    async with live.open(headers={**account.headers, "Last-Event-ID": str(ids[2])}) as stream:
        replayed = await stream.events(3)
        await commit_records(live.app.state.sessionmaker, account.org_id)
        await commit_records(live.app.state.sessionmaker, account.org_id)
        live_ones = await stream.events(2)
    every = await stored_ids(live, account.org_id)

    received = [int(event.id or 0) for event in [*replayed, *live_ones]]
    assert received == every[3:]
    assert len(every) == 8

    # `since` does the same; the header wins over it.
    async with live.open(headers=account.headers, since=ids[4]) as stream:
        assert [int(event.id or 0) for event in await stream.events(3)] == every[5:]
    async with live.open(headers={**account.headers, "Last-Event-ID": str(every[6])}, since=ids[0]) as stream:
        assert [int(event.id or 0) for event in await stream.events(1)] == every[7:]
    async with live.open(headers=account.headers, since=0) as stream:
        assert [int(event.id or 0) for event in await stream.events(8)] == every


@pytest.mark.parametrize("value", ["abc", "-1", str(2**63), "1.5"])
async def test_a_malformed_resume_point_is_refused(live: Live, value: str) -> None:
    account = await register(live.client)
    header = await live.get(EVENTS, headers={**account.headers, "Last-Event-ID": value})
    error_of(header, 422, "VALIDATION_ERROR")
    query = await live.get(EVENTS, headers=account.headers, params={"since": value})
    error_of(query, 422, "VALIDATION_ERROR")


async def test_types_filter_the_stream(live: Live) -> None:
    for types in (["job.succeeded,job.started"], ["job.succeeded", " job.started ,"]):
        account = await register(live.client)
        async with live.open(headers=account.headers, types=types) as stream:
            job_id = await enqueue(live.app, account, "test.echo")
            await commit_records(live.app.state.sessionmaker, account.org_id)
            received = await stream.events(2)
            await enqueue(live.app, account, "test.echo")
            next_job = await stream.event()
        assert [(event.event, event.body["subject"]["id"]) for event in received] == [
            ("job.started", str(job_id)),
            ("job.succeeded", str(job_id)),
        ]
        assert next_job.event == "job.started"


@pytest.mark.parametrize(
    "types", [["job.finished"], ["job.queued,nope"], ["job.queued", "JOB.QUEUED"], ["job.queued", "*"]]
)
async def test_an_unknown_type_is_refused(live: Live, types: list[str]) -> None:
    account = await register(live.client)
    refused = await live.get(EVENTS, headers=account.headers, params={"types": types})
    [error] = error_of(refused, 422, "VALIDATION_ERROR")["details"]["errors"]
    assert error["loc"] == ["query", "types", len(types) - 1]


async def test_a_subject_narrows_the_stream_to_it(live: Live) -> None:
    account = await register(live.client)
    followed = await queued_job(live, account)
    other = await queued_job(live, account)
    # From after the jobs' `job.queued`: the relay may not have handed those to the hub yet.
    since = (await stored_ids(live, account.org_id))[-1]

    async with live.open(headers=account.headers, subject=str(followed), since=since) as stream:
        await live.app.state.job_queue.dispatch([other, followed])
        await commit_records(live.app.state.sessionmaker, account.org_id)
        events = await stream.events(4)
    # The other job ran alongside and the record event came between: neither reached the stream.
    assert [event.event for event in events] == ["job.started", "job.progress", "job.progress", "job.succeeded"]
    assert {event.body["subject"]["id"] for event in events} == {str(followed)}


async def test_a_subject_must_be_the_orgs_own(live: Live) -> None:
    owner = await register(live.client)
    stranger = await register(live.client)
    job_id = await queued_job(live, owner)

    for subject in (job_id, uuid4()):
        missing = await live.get(EVENTS, headers=stranger.headers, params={"subject": str(subject)})
        error_of(missing, 404, "EVENT_SUBJECT_NOT_FOUND")
    malformed = await live.get(EVENTS, headers=owner.headers, params={"subject": "job-1"})
    error_of(malformed, 422, "VALIDATION_ERROR")
    await until_streams(live, stranger.org_id, 0)


async def test_two_orgs_streaming_at_once_see_only_their_own_events(live: Live) -> None:
    first = await register(live.client)
    second = await register(live.client)

    async with live.open(headers=first.headers) as mine, live.open(headers=second.headers) as theirs:
        jobs = {
            first.org_id: {await enqueue(live.app, first, "test.echo") for _ in range(2)},
            second.org_id: {await enqueue(live.app, second, "test.echo") for _ in range(2)},
        }
        await commit_records(live.app.state.sessionmaker, second.org_id)
        mine_received = await mine.events(10)
        theirs_received = await theirs.events(11)
        # A stream resumed from the start replays its own organization's events only.
        async with live.open(headers=first.headers, since=0) as replay:
            replayed = await replay.events(6)

    for account, received in ((first, mine_received), (second, theirs_received)):
        assert {event.body["org_id"] for event in received} == {str(account.org_id)}
        job_subjects = {
            UUID(event.body["subject"]["id"]) for event in received if event.body["type"].startswith("job.")
        }
        assert job_subjects == jobs[account.org_id]
    assert {event.body["org_id"] for event in replayed} == {str(first.org_id)}


async def test_a_viewer_does_not_see_administration_events(live: Live) -> None:
    owner = await register(live.client)
    viewer = await register(live.client)
    await add_member(live.client, owner, viewer, "viewer")
    as_viewer = viewer.in_org(owner.org_id)

    async with live.open(headers=owner.headers) as admin_stream, live.open(headers=as_viewer) as viewer_stream:
        await create_api_key(live.client, owner, scopes=["documents:read"])
        job_id = await queued_job(live, owner)
        admin_sees = await admin_stream.events(2)
        viewer_sees = await viewer_stream.event()
    async with live.open(headers=as_viewer, since=0) as replay:
        replayed = await replay.event()

    assert [event.event for event in admin_sees] == ["api_key.created", "job.queued"]
    assert (viewer_sees.event, viewer_sees.body["subject"]["id"]) == ("job.queued", str(job_id))
    assert replayed.id == viewer_sees.id  # member.added and api_key.created were skipped
    refused = await live.get(EVENTS, headers=as_viewer, params={"types": "job.queued,member.added"})
    assert error_of(refused, 403, "EVENTS_FORBIDDEN")["details"] == {"types": ["member.added"]}
    async with live.open(headers=owner.headers, types="member.added", since=0) as admin_replay:
        assert (await admin_replay.event()).body["data"]["user_id"] == str(viewer.user_id)


async def test_a_key_that_may_read_no_event_is_refused(live: Live) -> None:
    owner = await register(live.client)
    for scopes in (["search"], ["answers", "search"]):
        key = await create_api_key(live.client, owner, scopes=scopes)
        refused = await live.get(EVENTS, headers={"X-API-Key": key["secret"]})
        error_of(refused, 403, "EVENTS_FORBIDDEN")
    admin_key = await create_api_key(live.client, owner, scopes=["admin"])
    async with live.open(headers={"X-API-Key": admin_key["secret"]}, types="api_key.created", since=0) as stream:
        assert (await stream.event()).event == "api_key.created"


async def test_streams_beyond_the_orgs_limit_get_429(live: Live) -> None:
    account = await register(live.client)
    other = await register(live.client)

    async def attempt() -> httpx.Response:
        request = live.client.build_request("GET", EVENTS, headers=account.headers)
        return await live.client.send(request, stream=True)

    responses = await asyncio.gather(*(attempt() for _ in range(100)))
    try:
        accepted = [response for response in responses if response.status_code == 200]
        refused = [response for response in responses if response.status_code != 200]
        assert len(accepted) == LIMIT
        for response in refused:
            await response.aread()
            error = error_of(response, 429, "TOO_MANY_STREAMS")
            assert error["details"] == {"limit": LIMIT}
        async with live.open(headers=other.headers) as theirs:
            assert (await theirs.message()) == Message(retry=2000)
        await accepted[0].aclose()
        await until_streams(live, account.org_id, LIMIT - 1)
        async with live.open(headers=account.headers) as again:
            assert (await again.message()) == Message(retry=2000)
    finally:
        for response in responses:
            await response.aclose()
    await until_streams(live, account.org_id, 0)


async def test_a_disconnect_ends_the_subscription(live: Live) -> None:
    account = await register(live.client)
    job_id = await queued_job(live, account)
    async with (
        live.open(headers=account.headers) as stream,
        live.open(f"/api/v1/jobs/{job_id}/events", headers=account.headers) as job_stream,
    ):
        await stream.message()
        await job_stream.message()
        await until_streams(live, account.org_id, 2)
    await until_streams(live, account.org_id, 0)


async def test_a_revoked_key_or_a_removed_member_loses_the_stream(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_access, "RECHECK_SECONDS", 0)
    owner = await register(live.client)
    member = await register(live.client)
    await add_member(live.client, owner, member, "editor")
    key = await create_api_key(live.client, owner, scopes=["documents:read", "cases:read"])

    async with (
        live.open(headers={"X-API-Key": key["secret"]}) as by_key,
        live.open(headers=member.in_org(owner.org_id)) as by_member,
    ):
        await commit_records(live.app.state.sessionmaker, owner.org_id)
        assert (await by_key.event()).event == "case.updated"
        assert (await by_member.event()).event == "case.updated"
        revoked = await live.client.delete(f"/api/v1/api-keys/{key['id']}", headers=owner.headers)
        assert revoked.status_code == 204, revoked.text
        removed = await live.client.delete(
            f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}", headers=owner.headers
        )
        assert removed.status_code == 204, removed.text
        key_end = await by_key.rest()
        member_end = await by_member.rest()

    for ending in (key_end, member_end):
        assert ending[-1].comments == ["closed: your access changed; reconnect to authenticate again"]
        # Heartbeats only: neither may read the administration event of its own end.
        assert all(message.event is None for message in ending)


async def test_a_changed_role_ends_the_stream(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_access, "RECHECK_SECONDS", 0)
    owner = await register(live.client)
    admin = await register(live.client)
    await add_member(live.client, owner, admin, "admin")
    async with live.open(headers=admin.in_org(owner.org_id), types="member.role_changed") as stream:
        demoted = await live.client.patch(
            f"/api/v1/orgs/{owner.org_id}/members/{admin.user_id}", json={"role": "viewer"}, headers=owner.headers
        )
        assert demoted.status_code == 200, demoted.text
        ending = await stream.rest()
    assert ending[-1].comments == ["closed: your access changed; reconnect to authenticate again"]


async def test_a_changed_unit_limit_ends_the_stream(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_access, "RECHECK_SECONDS", 0)
    owner = await register(live.client)
    editor = await register(live.client)
    await add_member(live.client, owner, editor, "editor")
    unit = await live.client.post("/api/v1/units", json={"name": "North"}, headers=owner.headers)
    assert unit.status_code == 201, unit.text
    async with live.open(headers=editor.in_org(owner.org_id)) as stream:
        limited = await live.client.put(
            f"/api/v1/members/{editor.user_id}/units", json={"unit_ids": [unit.json()["id"]]}, headers=owner.headers
        )
        assert limited.status_code == 200, limited.text
        ending = await stream.rest()
    assert ending[-1].comments == ["closed: your access changed; reconnect to authenticate again"]


async def test_a_subscriber_too_slow_is_dropped_and_resumes(separate_database_url: str) -> None:
    async with live_app(separate_database_url, events={"max_queue": 10}) as slow:
        account = await register(slow.client)
        await commit_records(slow.app.state.sessionmaker, account.org_id)
        [stored] = await stored_ids(slow, account.org_id)
        async with slow.open(headers=account.headers, since=0) as stream:
            assert (await stream.event()).id == str(stored)
            burst = [progress(account.org_id) for _ in range(30)]
            # Two batches from the bus in a row: the second finds the first still waiting, past the queue's bound
            # (one batch alone is taken whole, however large).
            slow.app.state.hub.receive(burst)
            slow.app.state.hub.receive(burst)
            ending = await stream.rest()
        assert ending[-1].comments == ["closed: SUBSCRIBER_TOO_SLOW; reconnect with Last-Event-ID"]
        await until_streams(slow, account.org_id, 0)
        await commit_records(slow.app.state.sessionmaker, account.org_id)
        async with slow.open(headers={**account.headers, "Last-Event-ID": str(stored)}) as resumed:
            assert (await resumed.event()).id == str((await stored_ids(slow, account.org_id))[-1])


def progress(org_id: UUID) -> LiveEvent:
    return LiveEvent(
        id=None,
        org_id=org_id,
        type=EventType.JOB_PROGRESS,
        subject_type=SubjectType.JOB,
        subject_id=uuid4(),
        actor=SYSTEM,
        data={"kind": "test.echo", "status": "running", "progress": 50},
        created_at=datetime.now(UTC),
    )


async def test_no_connection_is_held_while_streaming(separate_database_url: str) -> None:
    """With one pooled connection, open streams of every kind leave it free for a request."""
    async with live_app(separate_database_url, db={"pool_size": 1, "max_overflow": 0}) as small:
        account = await register(small.client)
        job_id = await queued_job(small, account)
        job_events = f"/api/v1/jobs/{job_id}/events"
        async with (
            small.open(headers=account.headers, since=0) as replaying,
            small.open(headers=account.headers, subject=str(job_id)) as about_the_job,
            small.open(job_events, headers=account.headers) as following,
        ):
            assert (await replaying.event()).event == "job.queued"
            await about_the_job.message()
            assert (await following.event()).event == "job.queued"
            listed = await small.client.get("/api/v1/jobs", headers=account.headers)
            assert listed.status_code == 200, listed.text
            await small.app.state.job_queue.dispatch([job_id])
            assert [message.event for message in await following.rest() if message.event][-1] == "job.succeeded"


async def test_the_streams_are_documented(live: Live) -> None:
    spec = (await live.client.get("/openapi.json")).json()
    event = spec["components"]["schemas"]["Event"]
    assert event["discriminator"]["propertyName"] == "type"
    assert set(event["discriminator"]["mapping"]) == {type.value for type in EventType}
    for path in (EVENTS, "/api/v1/jobs/{job_id}/events"):
        operation = spec["paths"][path]["get"]
        stream = operation["responses"]["200"]["content"]["text/event-stream"]
        assert stream["itemSchema"] == {"$ref": "#/components/schemas/LiveEventMessage"}
        assert stream["schema"] == {"type": "array", "items": stream["itemSchema"]}
        assert stream["example"]
        assert "retry: 2000" in operation["responses"]["200"]["description"]
        assert {"401", "403", "404", "429"} <= set(operation["responses"])
    parameters = {parameter["name"] for parameter in spec["paths"][EVENTS]["get"]["parameters"]}
    assert {"types", "subject", "since", "Last-Event-ID"} <= parameters


async def test_an_event_committed_without_the_bus_still_arrives(live: Live) -> None:
    """Committed by a session that cannot reach the bus (another process, say): the relay reads the outbox."""
    account = await register(live.client)
    offline = create_sessionmaker(live.app.state.engine)
    async with live.open(headers=account.headers) as stream:
        async with offline() as session, session.begin():
            emit(
                session,
                org_id=account.org_id,
                type=EventType.CASE_UPDATED,
                subject_id=None,
                data=CaseData(number="C-000001", changes=[], status="open", priority="normal"),
            )
        received = await stream.event()
    assert received.id == str((await stored_ids(live, account.org_id))[-1])
