"""A live stream whose database goes away (unreachable, refusing, or no pooled connection to lend) ends with a hint
to reconnect later, not with an internal error: a WebSocket closes with 1013, an SSE stream sends a last
`unavailable` event with a `retry:` line."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi.sse import ServerSentEvent
from sqlalchemy.exc import TimeoutError as PoolTimeout

from folio.db_retry import is_away
from folio.events.hub import Subscription
from folio.events.sse import until_restart
from tests.events.wsclient import WAIT_SECONDS, live_socket, serve
from tests.factories import register


def pool_exhausted() -> PoolTimeout:
    return PoolTimeout("QueuePool limit of size 10 overflow 10 reached")


async def items_then(error: Exception) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(data={"n": 1})
    raise error


async def test_an_sse_stream_ends_with_a_reconnect_hint_when_the_database_is_away() -> None:
    sent = [item async for item in until_restart(items_then(pool_exhausted()))]

    assert [item.event for item in sent] == [None, "unavailable"]
    assert sent[-1].data["code"] == "SERVER_BUSY"
    assert sent[-1].retry is not None
    assert sent[-1].retry > 0


async def test_an_sse_stream_lets_other_errors_through() -> None:
    with pytest.raises(ZeroDivisionError):
        _ = [item async for item in until_restart(items_then(ZeroDivisionError()))]


def test_only_a_database_that_cannot_serve_now_counts_as_away() -> None:
    assert is_away(pool_exhausted())
    assert not is_away(ZeroDivisionError())
    assert not is_away(FileNotFoundError("not raised by the driver"))


async def away(self: Subscription, heartbeat: float | None = None) -> None:
    raise pool_exhausted()


async def test_a_websocket_closes_with_1013_when_the_database_is_away(
    separate_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(separate_database_url) as server, server.client() as client:
        account = await register(client)
        monkeypatch.setattr(Subscription, "next", away)
        async with live_socket(server.ws_url, bearer=account.access_token) as socket:
            await socket.subscribe("org")
            code, reason = await socket.closed()
    assert (code, reason) == (1013, "SERVER_BUSY")


async def test_an_sse_stream_of_the_app_ends_with_unavailable(
    separate_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(separate_database_url) as server, server.client() as client:
        account = await register(client)
        monkeypatch.setattr(Subscription, "next", away)
        headers = {"Authorization": f"Bearer {account.access_token}"}
        async with client.stream("GET", "/api/v1/events", headers=headers, timeout=WAIT_SECONDS) as response:
            lines = [line async for line in response.aiter_lines()]
    assert response.status_code == 200
    assert "event: unavailable" in lines
    assert any(line.startswith("retry:") for line in lines[lines.index("event: unavailable") :])
