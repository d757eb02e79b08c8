"""`folio serve` as a new user runs it: embedded PostgreSQL, real HTTP, restarts, several workers."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.cli_process import folio_env

PASSWORD = "a sturdy passphrase 42"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short, because the embedded server's Unix socket lives in it.
    path = Path(tempfile.mkdtemp(prefix="folio-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serving(data_dir: Path, *args: str) -> AsyncIterator[httpx.AsyncClient]:
    """Run `folio serve` until the block ends, then stop it with SIGTERM and wait for a clean exit."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "folio",
        "serve",
        "--port",
        str(port),
        *args,
        env=folio_env(FOLIO_DATA_DIR=str(data_dir)),
        cwd=data_dir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            async with asyncio.timeout(90):
                while True:
                    try:
                        if (await client.get("/health/ready")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
            yield client
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            code = await process.wait()
    # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit too.
    assert code in (0, -signal.SIGTERM)


async def test_register_login_me_and_api_key_on_a_fresh_data_dir(data_dir: Path) -> None:
    async with serving(data_dir) as client:
        registered = await client.post(
            "/api/v1/auth/register", json={"email": "new@example.com", "password": PASSWORD, "name": "New"}
        )
        assert registered.status_code == 201, registered.text
        login = await client.post("/api/v1/auth/login", data={"username": "new@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = await client.get("/api/v1/auth/me", headers=bearer)
        assert me.json()["role"] == "owner"
        assert "server" not in me.headers, "the server names itself to whoever asks"

        key = await client.post("/api/v1/api-keys", json={"name": "curl", "scopes": ["search"]}, headers=bearer)
        assert key.status_code == 201, key.text
        with_key = await client.get("/api/v1/auth/me", headers={"X-API-Key": key.json()["secret"]})
        assert with_key.json()["principal"] == "api_key"

        unknown = await client.get("/api/v1/nothing-here")
        assert unknown.json()["error"]["code"] == "NOT_FOUND"

    pgdata = data_dir / "postgres"
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists(), "the embedded PostgreSQL kept running after shutdown"

    async with serving(data_dir) as client:
        again = await client.post("/api/v1/auth/login", json={"email": "new@example.com", "password": PASSWORD})
        assert again.status_code == 200, "data did not survive the restart"


async def test_metrics_add_up_across_worker_processes(data_dir: Path) -> None:
    requests = 24
    async with serving(data_dir, "--workers", "2") as client:
        # A new connection per request, so the kernel spreads them over both workers.
        async with httpx.AsyncClient(
            base_url=client.base_url, limits=httpx.Limits(max_keepalive_connections=0)
        ) as fresh:
            pids = set()
            for _ in range(requests):
                response = await fresh.get("/health/live")
                assert response.status_code == 200
            for _ in range(6):
                text = (await fresh.get("/metrics")).text
                pids.add(text)
        counted = [
            float(match)
            for text in pids
            for match in re.findall(
                r'^folio_http_requests_total\{method="GET",route="/health/live",status="200"\} (\S+)$', text, re.M
            )
        ]
    assert counted, "no request counter in /metrics"
    assert set(counted) == {float(requests)}, counted
