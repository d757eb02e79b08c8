"""A `folio serve` told to stop (SIGTERM) ends its live streams at once, each with a hint to reconnect elsewhere:
WebSockets close with 1012 (Service Restart), server-sent event streams end with a `restarting` event and a `retry:`
line. uvicorn then has no open stream to wait for until its graceful-shutdown timeout. Its start-up line says what
it runs on, and warns of the development secrets it uses."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.events.wsclient import WAIT_SECONDS, LiveSocket, live_socket
from tests.factories import register
from tests.processes import Process, folio_process, free_port, log_text, until_answering


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """The server uses a database of its own."""


@dataclass
class Server:
    process: Process
    url: str
    log: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/api/v1/ws"


@pytest.fixture(scope="module")
async def server(separate_database_url: str) -> AsyncIterator[Server]:
    """`folio serve` in development with the built-in secrets, its jobs run in the process (no Redis)."""
    root = Path(tempfile.mkdtemp(prefix="folio-restart-"))
    port, log = free_port(), root / "server.log"
    settings = {"FOLIO_DATABASE_URL": separate_database_url, "FOLIO_RATE_LIMIT__AUTH": "1000/minute"}
    try:
        async with folio_process("serve", "--port", str(port), data_dir=root, settings=settings, log=log) as process:
            url = f"http://127.0.0.1:{port}"
            await until_answering(f"{url}/health/ready", process, log)
            yield Server(process, url, log)
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def sse_lines(client: httpx.AsyncClient, headers: dict[str, str], opened: asyncio.Event) -> list[str]:
    """The lines of an event stream until it ends; `opened` is set once its first line (`retry:`) arrived."""
    lines: list[str] = []
    async with client.stream("GET", "/api/v1/events", headers=headers) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            lines.append(line)
            opened.set()
    return lines


def started_line(log: Path, event: str) -> dict[str, Any]:
    for line in log_text(log).splitlines():
        if line.startswith("{") and json.loads(line).get("event") == event:
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise AssertionError(f"no {event} line in the log:\n{log_text(log)[-3000:]}")


async def test_sigterm_ends_live_streams_with_a_reconnect_hint(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT_SECONDS) as client:
        account = await register(client)
        opened = asyncio.Event()
        stream = asyncio.create_task(sse_lines(client, account.headers, opened))
        async with (
            live_socket(server.ws_url, bearer=account.access_token) as streaming,
            live_socket(server.ws_url, bearer=account.access_token) as idle,
        ):
            await streaming.subscribe("org")
            async with asyncio.timeout(WAIT_SECONDS):
                await opened.wait()

            server.process.send_signal(signal.SIGTERM)

            for socket in (streaming, idle):  # following events, and not subscribed to anything yet
                assert await socket.closed() == (1012, "SERVER_BUSY")
                assert restarting(socket)
            async with asyncio.timeout(WAIT_SECONDS):
                lines = await stream

    assert "event: restarting" in lines
    final = lines[lines.index("event: restarting") :]
    assert any(line.startswith("retry: ") for line in final)
    assert json.loads(next(line for line in final if line.startswith("data: "))[6:])["code"] == "SERVER_BUSY"
    async with asyncio.timeout(WAIT_SECONDS):
        # uvicorn raises the signal again once it has shut down, so the process ends as the signal says.
        assert await server.process.wait() in {0, -signal.SIGTERM}
    assert "timeout graceful shutdown exceeded" not in log_text(server.log)


def restarting(socket: LiveSocket) -> bool:
    return any(error["details"].get("reason") == "restarting" for error in socket.errors())


async def test_the_start_up_line_says_what_the_server_runs_on_and_warns_of_development_secrets(
    server: Server,
) -> None:
    started = started_line(server.log, "folio_started")
    assert {key: started[key] for key in ("process", "env", "database", "llm_provider", "storage", "job_broker")} == {
        "process": "api",
        "env": "development",
        "database": "external",
        "llm_provider": "extractive",
        "storage": "local",
        "job_broker": "memory",
    }
    assert started["embedding_model"] == "all-MiniLM-L6-v2-int8"
    warning = started_line(server.log, "development_secrets_in_use")
    assert warning["level"] == "warning"
    assert warning["settings"] == ["FOLIO_AUTH__JWT_SECRET", "FOLIO_ENCRYPTION_KEYS"]
