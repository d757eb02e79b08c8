"""The live-event WebSocket over a real uvicorn server: events in order, tenant isolation, resuming, and the attacks
on its handshake and messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import jwt
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message
from websockets.exceptions import InvalidStatus

from folio.events import ws_session
from tests.conftest import TEST_JWT_SECRET
from tests.documents.test_router import upload
from tests.events.emitting import commit_records
from tests.events.wsclient import WAIT_SECONDS, Server, live_socket, serve
from tests.factories import Account, add_member, create_api_key, error_of, register

MAX_STREAMS = 20


@pytest.fixture(scope="module")
async def server(separate_database_url: str) -> AsyncIterator[Server]:
    settings = {"auth_timeout_seconds": 2, "max_connections_per_org": MAX_STREAMS}
    async with serve(separate_database_url, events=settings) as running:
        yield running


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


def token_expiring(account: Account, at: datetime, secret: str = TEST_JWT_SECRET) -> str:
    """The account's access token with another expiry (and signed with `secret`)."""
    claims = jwt.decode(account.access_token, TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_aud": False})
    return jwt.encode({**claims, "exp": int(at.timestamp())}, secret, algorithm="HS256")


def job_types(events: list[dict[str, Any]], job_id: str) -> list[str]:
    return [event["type"] for event in events if event["subject"]["id"] == job_id]


# Events, in order


async def test_an_upload_streams_its_job_and_document_events_in_order(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        assert socket.subprotocol == "folio.v1"
        assert (await socket.subscribe("org"))["topics"] == ["org"]
        item = await upload(http, account)
        document_id, job_id = item["document"]["id"], item["job_id"]
        events = await socket.events_until("job.succeeded", job_id)

    types = job_types(events, job_id)
    assert types[:2] == ["job.queued", "job.started"]
    assert types[-1] == "job.succeeded"
    assert set(types[2:-1]) == {"job.progress"}
    assert "document.ready" in job_types(events, document_id)
    stored = [event["id"] for event in events if event["type"] != "job.progress"]
    assert stored == sorted(stored)
    assert len(set(stored)) == len(stored)
    assert all(event["id"] is None for event in events if event["type"] == "job.progress")
    assert {event["org_id"] for event in events} == {str(account.org_id)}


async def test_a_document_topic_replays_that_document_and_its_job_only(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    first = await upload(http, account, name="first.md", content=b"# First\n\nAbout rivers.")
    second = await upload(http, account, name="second.md", content=b"# Second\n\nAbout mountains.")
    document_id, job_id = first["document"]["id"], first["job_id"]
    async with live_socket(server.ws_url, bearer=account.access_token, params={"since": 0}) as socket:
        await socket.subscribe(document_id)
        events = await socket.events_until("job.succeeded", job_id)
    assert {event["subject"]["id"] for event in events} == {document_id, job_id}
    assert second["document"]["id"] not in str(events)
    assert job_types(events, document_id)[0] == "document.created"


# Tenant isolation


async def test_nothing_of_another_organization_reaches_a_client(server: Server, http: httpx.AsyncClient) -> None:
    alice, bob = await register(http), await register(http)
    bobs = await upload(http, bob, name="bob.md", content=b"# Bob\n\nSecret plans.")
    async with (
        live_socket(server.ws_url, bearer=alice.access_token) as alice_socket,
        live_socket(server.ws_url, bearer=bob.access_token) as bob_socket,
    ):
        answer = await alice_socket.subscribe("org", bobs["job_id"], bobs["document"]["id"])
        assert answer["topics"] == ["org"]
        [refusal] = alice_socket.errors()
        assert refusal["code"] == "UNKNOWN_TOPIC"
        assert set(refusal["details"]["topics"]) == {bobs["job_id"], bobs["document"]["id"]}
        await bob_socket.subscribe("org")

        alices = await upload(http, alice, name="alice.md", content=b"# Alice\n\nGarden notes.")
        bobs_second = await upload(http, bob, name="bob2.md", content=b"# Bob\n\nMore plans.")
        alice_events = await alice_socket.events_until("job.succeeded", alices["job_id"])
        bob_events = await bob_socket.events_until("job.succeeded", bobs_second["job_id"])
        # The hub hands events over in id order: once this marker arrives, every earlier event has been offered.
        [marker] = await commit_records(server.app.state.sessionmaker, alice.org_id, 1)
        alice_events += await alice_socket.events_until("case.updated", str(marker))

    assert {event["org_id"] for event in alice_events} == {str(alice.org_id)}
    assert {event["org_id"] for event in bob_events} == {str(bob.org_id)}
    assert bobs["job_id"] not in str(alice_events)


async def test_administration_events_reach_admins_only(server: Server, http: httpx.AsyncClient) -> None:
    owner, viewer = await register(http), await register(http)
    await add_member(http, owner, viewer, "viewer")
    async with (
        live_socket(server.ws_url, bearer=owner.access_token) as owner_socket,
        live_socket(server.ws_url, bearer=viewer.access_token, params={"org_id": str(owner.org_id)}) as viewer_socket,
    ):
        await owner_socket.subscribe("org")
        await viewer_socket.subscribe("org")
        await create_api_key(http, owner)
        [marker] = await commit_records(server.app.state.sessionmaker, owner.org_id, 1)
        owner_events = await owner_socket.events_until("case.updated", str(marker))
        viewer_events = await viewer_socket.events_until("case.updated", str(marker))
    assert [event["type"] for event in owner_events] == ["api_key.created", "case.updated"]
    assert [event["type"] for event in viewer_events] == ["case.updated"]


async def test_a_member_of_two_organizations_picks_one(server: Server, http: httpx.AsyncClient) -> None:
    owner, member = await register(http), await register(http)
    await add_member(http, owner, member, "editor")
    stranger = await register(http)
    url = server.ws_url
    in_owners_org = {"org_id": str(owner.org_id)}
    async with live_socket(url, bearer=member.access_token, params=in_owners_org) as socket:
        assert socket.seen[0]["org_id"] == str(owner.org_id)
        await socket.subscribe("org")
        [own] = await commit_records(server.app.state.sessionmaker, member.org_id, 1)
        [chosen] = await commit_records(server.app.state.sessionmaker, owner.org_id, 1)
        [event] = await socket.events(1)
        assert event["subject"]["id"] == str(chosen) != str(own)

    headers = {"X-Org-Id": str(owner.org_id)}
    async with live_socket(url, authenticated=False, headers=headers) as socket:
        await socket.send({"type": "auth", "token": member.access_token})
        assert (await socket.expect("authenticated"))["org_id"] == str(owner.org_id)

    both = {"X-Org-Id": str(member.org_id)}
    async with live_socket(
        url, bearer=member.access_token, headers=both, params=in_owners_org, authenticated=False
    ) as socket:
        assert await socket.closed() == (1008, "VALIDATION_ERROR")  # two organizations named: neither is guessed

    stranger_org = {"org_id": str(stranger.org_id)}
    async with live_socket(url, bearer=member.access_token, params=stranger_org, authenticated=False) as socket:
        assert await socket.closed() == (4403, "ORG_ACCESS_DENIED")


# Resuming


@pytest.mark.parametrize("where", ["query", "message"])
async def test_a_reconnect_with_since_gets_the_missed_events_exactly_once(
    server: Server, http: httpx.AsyncClient, where: str
) -> None:
    account = await register(http)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.subscribe("org")
        await commit_records(server.app.state.sessionmaker, account.org_id, 3)
        seen = await socket.events(3)
    last_id = seen[-1]["id"]
    missed = await commit_records(server.app.state.sessionmaker, account.org_id, 4)

    params = {"since": last_id} if where == "query" else {}
    async with live_socket(server.ws_url, bearer=account.access_token, params=params) as socket:
        await socket.subscribe("org", since=last_id if where == "message" else None)
        live = await commit_records(server.app.state.sessionmaker, account.org_id, 2)
        received = await socket.events(6)
        await socket.send({"type": "ping"})
        await socket.expect("pong")

    assert [event["subject"]["id"] for event in received] == [str(subject) for subject in missed + live]
    ids = [event["id"] for event in received]
    assert ids == sorted(ids)
    assert min(ids) > last_id
    assert not [message for message in socket.seen if "." in message["type"] and message not in received]


async def test_since_is_refused_when_it_did_not_come_from_this_server(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    beyond = 10**12
    params = {"since": beyond}
    async with live_socket(server.ws_url, bearer=account.access_token, params=params, authenticated=False) as socket:
        assert await socket.closed() == (1008, "VALIDATION_ERROR")
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.send({"type": "subscribe", "topics": ["org"], "since": beyond})
        refusal = await socket.expect("error")
        assert (refusal["code"], refusal["details"]["field"]) == ("VALIDATION_ERROR", "since")
        assert (await socket.subscribe("org"))["topics"] == ["org"]


async def test_since_in_a_later_subscribe_is_refused(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.subscribe("org")
        await socket.send({"type": "subscribe", "topics": ["jobs"], "since": 0})
        refusal = await socket.expect("error")
        assert refusal["code"] == "VALIDATION_ERROR"
        assert "since" in refusal["message"]
        await socket.send({"type": "ping"})
        await socket.expect("pong")


# Attacks on the handshake


async def test_without_credentials_the_first_message_must_authenticate(server: Server) -> None:
    async with live_socket(server.ws_url, authenticated=False) as socket:
        await socket.send({"type": "subscribe", "topics": ["org"]})
        assert await socket.closed() == (4401, "AUTH_REQUIRED")
    assert socket.errors()[0]["code"] == "AUTH_REQUIRED"


async def test_a_silent_client_is_closed_after_the_authentication_timeout(server: Server) -> None:
    async with live_socket(server.ws_url, authenticated=False) as socket:
        assert await socket.closed() == (4408, "AUTH_REQUIRED")


@pytest.mark.parametrize("how", ["subprotocol", "authorization", "message"])
async def test_expired_forged_and_garbage_tokens_are_refused(server: Server, http: httpx.AsyncClient, how: str) -> None:
    account = await register(http)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    tokens = {
        token_expiring(account, yesterday): "AUTH_EXPIRED",
        token_expiring(account, tomorrow, secret="another secret of thirty-two bytes!"): "AUTH_INVALID",
        "garbage": "AUTH_INVALID",
        "folio_not-a-real-key": "AUTH_INVALID",
    }
    for token, code in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if how == "authorization" else {}
        bearer = token if how == "subprotocol" else None
        async with live_socket(server.ws_url, bearer=bearer, headers=headers, authenticated=False) as socket:
            if how == "message":
                await socket.send({"type": "auth", "token": token})
            assert await socket.closed() == (4401, code), token
        assert socket.seen == [socket.errors()[0]]


async def test_the_credential_is_never_echoed_and_folio_v1_is_required(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        assert socket.connection.response is not None
        assert socket.connection.response.headers["Sec-WebSocket-Protocol"] == "folio.v1"
        assert account.access_token not in str(socket.connection.response.headers)
    with pytest.raises(InvalidStatus) as refused:
        async with live_socket(server.ws_url, subprotocols=[f"bearer.{account.access_token}"]):
            pass
    assert refused.value.response.status_code == 422
    assert b"folio.v1" in refused.value.response.body


async def test_an_api_key_needs_a_scope_that_reads_events(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    search_only = await create_api_key(http, account, scopes=["search"])
    async with live_socket(server.ws_url, bearer=search_only["secret"], authenticated=False) as socket:
        assert await socket.closed() == (4403, "EVENTS_FORBIDDEN")

    reader = await create_api_key(http, account, scopes=["documents:read", "cases:read"])
    async with live_socket(server.ws_url, headers={"X-API-Key": reader["secret"]}) as socket:
        assert socket.seen[0]["principal"] == "api_key"
        assert socket.seen[0]["expires_at"] is None
        await socket.subscribe("org")
        await create_api_key(http, account)  # an administration event: not for this key
        [marker] = await commit_records(server.app.state.sessionmaker, account.org_id, 1)
        [event] = await socket.events(1)
        assert event["subject"]["id"] == str(marker)


async def test_a_resource_of_another_organization_is_refused_like_an_unknown_one(
    server: Server, http: httpx.AsyncClient
) -> None:
    alice, bob = await register(http), await register(http)
    bobs = await upload(http, bob, name="bob.md", content=b"# Bob\n\nHis job.")
    async with live_socket(server.ws_url, bearer=alice.access_token) as socket:
        for topic in (bobs["job_id"], str(uuid4()), "everything", "ORG"):
            answer = await socket.subscribe(topic)
            assert answer["topics"] == []
            assert socket.errors()[-1]["code"] == "UNKNOWN_TOPIC"
            assert socket.errors()[-1]["details"] == {"topics": [topic]}
        # Nothing flows without a topic, so nothing of Bob's job reaches Alice either.
        await socket.send({"type": "ping"})
        await socket.expect("pong")


async def test_a_resource_id_is_one_topic_however_it_is_spelled(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    item = await upload(http, account)
    job_id = item["job_id"]
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.subscribe(job_id.upper(), job_id, "{" + job_id + "}")
        assert (await socket.subscribe(job_id))["topics"] == [job_id]
        # The job's progress may come in between: its ingestion is running.
        assert (await socket.unsubscribe(job_id.upper()))["topics"] == []


# Attacks on messages


async def test_an_oversized_message_closes_with_1009(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.send({"type": "ping", "padding": "x" * 5000})
        assert await socket.closed() == (1009, "PAYLOAD_TOO_LARGE")
    assert socket.errors()[0]["details"] == {"max_bytes": 4096}


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[]",
        '{"type": "subscribe"}',
        '{"type": "subscribe", "topics": "org"}',
        '{"type": "dance"}',
        '{"type": "ping", "extra": 1}',
        '{"type": "subscribe", "topics": ["org"], "since": -1}',
        '{"type": "subscribe", "topics": ["' + "x" * 65 + '"]}',
        '{"type": "subscribe", "topics": ["org\x00"]}',
        '{"type": "subscribe", "topics": ["org\\u0000"]}',
        '{"type": "auth", "token": "\\u0000"}',
    ],
)
async def test_an_unreadable_message_closes_with_1008(server: Server, http: httpx.AsyncClient, message: str) -> None:
    account = await register(http)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.send(message)
        assert await socket.closed() == (1008, "VALIDATION_ERROR")
    # The message is never echoed: it may hold a token.
    assert all("input" not in error for error in socket.errors()[0]["details"].get("errors", []))


async def test_a_binary_frame_closes_with_1003(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.send(b'{"type": "ping"}')
        assert await socket.closed() == (1003, "VALIDATION_ERROR")


async def test_topics_are_capped_per_message_and_per_connection(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.send({"type": "subscribe", "topics": ["org"] * 101})
        assert await socket.closed() == (1008, "VALIDATION_ERROR")

    ids = [str(uuid4()) for _ in range(98)]
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.subscribe("org", "jobs", "documents")
        await socket.send({"type": "subscribe", "topics": ids})
        refusal = await socket.expect("error")
        assert (refusal["code"], refusal["details"]) == ("VALIDATION_ERROR", {"max_topics": 100})
        answer = await socket.subscribe(*ids[:97])  # within the cap: checked, and refused as unknown
        assert answer["topics"] == ["documents", "jobs", "org"]
        assert socket.errors()[-1]["code"] == "UNKNOWN_TOPIC"


# The credential while connected


async def test_the_connection_closes_when_its_access_token_expires(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    token = token_expiring(account, expires)
    async with live_socket(server.ws_url, bearer=token) as socket:
        assert datetime.fromisoformat(socket.seen[0]["expires_at"]) == expires
        await socket.subscribe("org")
        # Closed by the token's expiry: the periodic check (a minute) and the heartbeat (15 s) are further away
        # than the wait of `closed`.
        assert await socket.closed() == (4401, "AUTH_EXPIRED")
    assert datetime.now(UTC) >= expires


async def test_an_auth_message_with_a_fresh_token_keeps_the_connection_open(
    server: Server, http: httpx.AsyncClient
) -> None:
    account, colleague = await register(http), await register(http)
    await add_member(http, account, colleague, "admin")
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    async with live_socket(server.ws_url, bearer=token_expiring(account, expires)) as socket:
        await socket.subscribe("org")
        await socket.send({"type": "auth", "token": colleague.access_token})
        assert "principal" in (await socket.expect("error"))["message"]
        await socket.send({"type": "auth", "token": account.access_token, "org_id": str(colleague.org_id)})
        assert "organization" in (await socket.expect("error"))["message"]
        await socket.send({"type": "auth", "token": account.access_token})
        renewed = await socket.expect("authenticated")
        assert datetime.fromisoformat(renewed["expires_at"]) > expires
        await asyncio.sleep((expires - datetime.now(UTC)).total_seconds() + 1)
        [marker] = await commit_records(server.app.state.sessionmaker, account.org_id, 1)
        [event] = await socket.events(1)
        assert event["subject"]["id"] == str(marker)
        await socket.send({"type": "auth", "token": "garbage"})
        assert await socket.closed() == (4401, "AUTH_INVALID")


@pytest.fixture
def quick_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ws_session, "RECHECK_SECONDS", 0.2)


@pytest.mark.usefixtures("quick_recheck")
async def test_a_revoked_session_or_key_or_a_removed_member_reads_no_longer(
    server: Server, http: httpx.AsyncClient
) -> None:
    owner, member = await register(http), await register(http)
    await add_member(http, owner, member, "viewer")
    key = await create_api_key(http, owner)

    async with live_socket(server.ws_url, headers={"X-API-Key": key["secret"]}) as socket:
        revoked = await http.delete(f"/api/v1/api-keys/{key['id']}", headers=owner.headers)
        assert revoked.status_code == 204, revoked.text
        assert await socket.closed() == (4401, "AUTH_INVALID")

    in_owners_org = {"org_id": str(owner.org_id)}
    async with live_socket(server.ws_url, bearer=member.access_token, params=in_owners_org) as socket:
        removed = await http.delete(f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}", headers=owner.headers)
        assert removed.status_code == 204, removed.text
        assert await socket.closed() == (4403, "ORG_ACCESS_DENIED")

    async with live_socket(server.ws_url, bearer=owner.access_token) as socket:
        logged_out = await http.post("/api/v1/auth/logout", headers=owner.headers)
        assert logged_out.status_code == 204, logged_out.text
        assert await socket.closed() == (4401, "AUTH_INVALID")


async def test_a_demoted_member_keeps_the_stream_without_administration_events(
    server: Server, http: httpx.AsyncClient, quick_recheck: None
) -> None:
    owner, member = await register(http), await register(http)
    await add_member(http, owner, member, "admin")
    in_owners_org = {"org_id": str(owner.org_id)}
    async with live_socket(server.ws_url, bearer=member.access_token, params=in_owners_org) as socket:
        await socket.subscribe("org")
        await create_api_key(http, owner)
        [event] = await socket.events(1)
        assert event["type"] == "api_key.created"
        demoted = await http.patch(
            f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}", json={"role": "viewer"}, headers=owner.headers
        )
        assert demoted.status_code == 200, demoted.text
        while (message := await socket.receive())["type"] != "authenticated":
            assert message["type"] == "member.role_changed"
        await create_api_key(http, owner)
        [marker] = await commit_records(server.app.state.sessionmaker, owner.org_id, 1)
        events = await socket.events_until("case.updated", str(marker))
    assert {event["type"] for event in events} <= {"member.role_changed", "case.updated"}


# Load


async def test_streams_beyond_the_organizations_limit_close_with_4429(server: Server, http: httpx.AsyncClient) -> None:
    account, other = await register(http), await register(http)
    answered: list[str] = []
    everyone_answered, release = asyncio.Event(), asyncio.Event()

    async def connect() -> tuple[int, str] | None:
        async with live_socket(server.ws_url, bearer=account.access_token, authenticated=False) as socket:
            first = await socket.receive()
            answered.append(first["type"])
            if len(answered) == 100:
                everyone_answered.set()
            if first["type"] == "authenticated":
                async with asyncio.timeout(WAIT_SECONDS):
                    await release.wait()
                return None
            return await socket.closed()

    connections = [asyncio.create_task(connect()) for _ in range(100)]
    async with asyncio.timeout(WAIT_SECONDS):
        await everyone_answered.wait()
    async with live_socket(server.ws_url, bearer=other.access_token) as socket:
        assert socket.seen[0]["org_id"] == str(other.org_id)  # another organization is not held back
    release.set()
    outcomes = await asyncio.gather(*connections)
    assert outcomes.count(None) == MAX_STREAMS
    assert [outcome for outcome in outcomes if outcome] == [(4429, "TOO_MANY_STREAMS")] * (100 - MAX_STREAMS)
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        assert socket.seen[0]["type"] == "authenticated"  # the streams were given back


async def test_open_connections_hold_no_database_connection(server: Server, http: httpx.AsyncClient) -> None:
    account = await register(http)
    item = await upload(http, account)
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(5):
            socket = await stack.enter_async_context(live_socket(server.ws_url, bearer=account.access_token))
            await socket.subscribe("org", item["job_id"])
        # The relay and the reaper borrow a connection now and then; five open sockets holding one each never
        # let the pool come back to none lent out.
        pool = server.app.state.engine.sync_engine.pool
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                if pool.checkedout() == 0:
                    break
                await asyncio.sleep(0.01)


class Peer:
    """A WebSocket client driven at the ASGI level, which can stop taking messages as a client that stopped
    reading does (the server's send then waits, as it does when the socket's buffers are full)."""

    def __init__(self, app: FastAPI, token: str) -> None:
        self.sent: list[Message] = []
        self.taking = asyncio.Event()
        self.taking.set()
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._arrived = asyncio.Condition()
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": "/api/v1/ws",
            "raw_path": b"/api/v1/ws",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "subprotocols": ["folio.v1", f"bearer.{token}"],
            "state": {},
            "extensions": {"websocket.http.response": {}},
        }
        self._inbox.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.create_task(app(scope, self._inbox.get, self._send))

    async def _send(self, message: Message) -> None:
        async with self._arrived:
            self.sent.append(message)
            self._arrived.notify_all()
        if message["type"] == "websocket.send":
            await self.taking.wait()

    def messages(self) -> list[dict[str, Any]]:
        return [orjson.loads(message["text"]) for message in self.sent if message["type"] == "websocket.send"]

    async def wait_for(self, type: str) -> None:
        async with asyncio.timeout(WAIT_SECONDS), self._arrived:
            await self._arrived.wait_for(lambda: any(message["type"] == type for message in self.messages()))

    async def subscribe(self, *topics: str) -> None:
        await self.wait_for("authenticated")
        text = orjson.dumps({"type": "subscribe", "topics": topics}).decode()
        await self._inbox.put({"type": "websocket.receive", "text": text})
        await self.wait_for("subscribed")

    async def ended(self) -> Message:
        """The app's last message, once it returned."""
        async with asyncio.timeout(WAIT_SECONDS):
            await self.task
        return self.sent[-1]


async def test_a_client_that_falls_behind_is_dropped_without_stalling_the_others(
    separate_database_url: str, http: httpx.AsyncClient
) -> None:
    settings = {"max_queue": 10, "heartbeat_seconds": 60}
    async with serve(separate_database_url, events=settings) as slow_server, slow_server.client() as client:
        account = await register(client)
        peer = Peer(slow_server.app, account.access_token)
        await peer.subscribe("org")
        async with live_socket(slow_server.ws_url, bearer=account.access_token) as socket:
            await socket.subscribe("org")
            peer.taking.clear()
            # Five commits of five: the reading client never holds more than five, the stalled one piles them up.
            for _ in range(5):
                subjects = await commit_records(slow_server.app.state.sessionmaker, account.org_id, 5)
                received = await socket.events(5)  # while the slow client takes nothing
                assert [event["subject"]["id"] for event in received] == [str(subject) for subject in subjects]
            peer.taking.set()
            last = await peer.ended()
    assert (last["type"], last["code"], last["reason"]) == ("websocket.close", 4429, "SUBSCRIBER_TOO_SLOW")
    assert 0 < len([message for message in peer.messages() if "." in message["type"]]) < 25


async def test_a_client_that_stops_reading_is_dropped(
    separate_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_session, "CLOSE_SECONDS", 0.1)
    async with serve(separate_database_url, events={"heartbeat_seconds": 0.5}) as stuck_server:
        async with stuck_server.client() as client:
            account = await register(client)
        peer = Peer(stuck_server.app, account.access_token)
        await peer.subscribe("org")
        peer.taking.clear()
        await commit_records(stuck_server.app.state.sessionmaker, account.org_id, 1)
        await peer.ended()  # never released: the server gives up on its own
    assert peer.messages()[-1]["code"] == "SUBSCRIBER_TOO_SLOW"
    assert peer.sent[-1]["type"] == "websocket.send"  # the close frame could not even be handed over


async def test_heartbeats_flow_before_and_after_subscribing(separate_database_url: str) -> None:
    async with serve(separate_database_url, events={"heartbeat_seconds": 0.3}) as beating, beating.client() as client:
        account = await register(client)
        async with live_socket(beating.ws_url, bearer=account.access_token) as socket:
            assert (await socket.receive(heartbeats=True))["type"] == "heartbeat"
            await socket.subscribe("org")
            while (await socket.receive(heartbeats=True))["type"] != "heartbeat":
                pass


# The edge: request id, access log, metrics, refusals


async def test_a_websocket_gets_a_request_id_an_access_line_and_metrics(
    server: Server, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="folio.access")
    account = await register(http)
    before = await closed_count(http, "4401")
    async with live_socket(server.ws_url, bearer="garbage", authenticated=False) as socket:
        assert await socket.closed() == (4401, "AUTH_INVALID")
    headers = {"X-Request-ID": "ws-request-42"}
    async with live_socket(server.ws_url, bearer=account.access_token, headers=headers) as socket:
        assert socket.connection.response is not None
        assert socket.connection.response.headers["X-Request-ID"] == "ws-request-42"
        await socket.send({"type": "ping"})
        await socket.expect("pong")
        assert socket.seen[-1] == {"type": "pong"}

    # The line is written once the server has seen the close, which may be just after the client did.
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            lines = access_lines(caplog, "ws-request-42")
            if lines:
                break
            await asyncio.sleep(0.01)
    [line] = lines
    assert line["route"] == "/api/v1/ws"
    assert line["code"] == "1000"
    assert (line["org_id"], line["principal"]) == (str(account.org_id), "user")
    assert (line["messages_received"], line["messages_sent"]) == (1, 2)
    assert await closed_count(http, "4401") == before + 1

    # A client picks its own close code: the label keeps only the standard ones.
    others = await closed_count(http, "other")
    async with live_socket(server.ws_url, bearer=account.access_token) as socket:
        await socket.connection.close(4321, "made up")
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            if await closed_count(http, "other") == others + 1:
                break
            await asyncio.sleep(0.01)
    assert await closed_count(http, "4321") == 0


async def test_a_nul_in_the_url_refuses_the_handshake_with_the_envelope(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with live_socket(server.ws_url, params={"org_id": "\x00"}, authenticated=False):
            pass
    response = refused.value.response
    assert response.status_code == 422
    error = orjson.loads(response.body)["error"]
    assert (error["code"], error["request_id"]) == ("VALIDATION_ERROR", response.headers["X-Request-ID"])


async def test_plain_http_on_the_websocket_path_answers_426(http: httpx.AsyncClient) -> None:
    account = await register(http)
    error_of(await http.get("/api/v1/ws", headers=account.headers), 426, "UPGRADE_REQUIRED")
    error_of(await http.get("/api/v1/ws"), 401, "AUTH_REQUIRED")


def access_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[dict[str, Any]]:
    return [
        record.msg
        for record in caplog.records
        if record.name == "folio.access"
        and isinstance(record.msg, dict)
        and record.msg.get("event") == "websocket"
        and record.msg.get("request_id") == request_id
    ]


async def closed_count(http: httpx.AsyncClient, code: str) -> float:
    metrics = (await http.get("/metrics")).text
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            labels = {"route": "/api/v1/ws", "code": code}
            if sample.name == "folio_websockets_closed_total" and sample.labels == labels:
                return sample.value
    return 0.0
