"""Where a request's CPU goes: `python bench/api_layers.py`.

Adds probe routes that stop at each layer (nothing, a session, one query, authentication) beside GET /auth/me,
calls each in-process through httpx's ASGI transport, and prints the best-of-3 CPU milliseconds per request
(CPU time, because wall time on a shared VM swings by tens of percent).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from sqlalchemy import text

from folio.auth.deps import CurrentPrincipal
from folio.deps import SessionDep
from folio.embedded_postgres import EmbeddedPostgres
from folio.main import create_app
from folio.settings import Settings


async def nothing() -> dict[str, str]:
    return {}


async def session_only(session: SessionDep) -> dict[str, str]:
    return {}


async def one_query(session: SessionDep) -> dict[str, str]:
    await session.execute(text("SELECT 1"))
    return {}


async def authenticated(principal: CurrentPrincipal) -> dict[str, str]:
    return {}


async def cpu_ms_per_request(client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int = 200) -> float:
    for _ in range(30):
        await client.get(path, headers=headers)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(n):
            await client.get(path, headers=headers)
        best = min(best, (time.process_time() - started) / n * 1000)
    return best


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="folio-layers-"))
    database = EmbeddedPostgres(root / "pg")
    settings = Settings(_env_file=None, database_url=database.url, log={"level": "WARNING"})
    app = create_app(settings)
    probes: dict[str, Callable[..., Awaitable[dict[str, str]]]] = {
        "nothing": nothing,
        "session": session_only,
        "one query": one_query,
        "authenticated": authenticated,
    }
    for name, endpoint in probes.items():
        app.add_api_route(f"/probe/{name.replace(' ', '-')}", endpoint)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client,
        ):
            body = {"email": "layers@example.com", "password": "benchmark passphrase 2026", "name": "L"}
            token = (await client.post("/api/v1/auth/register", json=body)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            paths = {name: f"/probe/{name.replace(' ', '-')}" for name in probes} | {"GET /auth/me": "/api/v1/auth/me"}
            print("| layer reached | CPU ms per request |\n|---|---:|")
            for name, path in paths.items():
                print(f"| {name} | {await cpu_ms_per_request(client, path, headers):.2f} |")
    finally:
        database.release()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
