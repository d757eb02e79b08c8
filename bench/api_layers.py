"""Where a request's CPU goes: `python bench/api_layers.py`.

Adds probe routes that stop at each layer (nothing, a session, one query, authentication) beside GET /auth/me,
calls each in-process straight through ASGI (no client, no HTTP parsing: the figure is the app's own), and prints
the best-of-3 CPU milliseconds per request (CPU time, because wall time on a shared VM swings by tens of percent).
Authentication is measured from the principal cache (a JWT and an API key) and with the cache off (every request
reads the database); with `--redis-url` (a Redis that answers), also in scale-out mode, where a hit checks its
versions in Redis. The access log is on (INFO, written to /dev/null), as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text
from starlette.types import Message

from folio.auth.deps import CurrentPrincipal
from folio.deps import SessionDep
from folio.embedded_postgres import EmbeddedPostgres
from folio.main import create_app
from folio.settings import Settings

Headers = dict[str, str]
_accounts = itertools.count()


async def nothing() -> dict[str, str]:
    return {}


async def session_only(session: SessionDep) -> dict[str, str]:
    return {}


async def one_query(session: SessionDep) -> dict[str, str]:
    await session.execute(text("SELECT 1"))
    return {}


async def authenticated(principal: CurrentPrincipal) -> dict[str, str]:
    return {}


PROBES: dict[str, Callable[..., Awaitable[dict[str, str]]]] = {
    "nothing": nothing,
    "session": session_only,
    "one-query": one_query,
    "authenticated": authenticated,
}


# Paths of routers included first to last, and one no route matches (every router tried).
ROUTED = [
    ("/api/v1/auth/me", 401),
    ("/api/v1/documents", 401),
    ("/api/v1/cases", 401),
    ("/api/v1/inbox", 401),
    ("/health/live", 200),
    ("/nowhere", 404),
]


async def call(app: FastAPI, path: str, headers: Headers, status: int = 200) -> None:
    """One GET through the app's ASGI interface, as a server would make it, answered with `status`."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), *((name.lower().encode(), value.encode()) for name, value in headers.items())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [status]:
        raise SystemExit(f"GET {path} answered {statuses}, not {status}")


async def cpu_ms_per_request(app: FastAPI, path: str, headers: Headers, n: int, status: int = 200) -> float:
    for _ in range(50):
        await call(app, path, headers, status)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(n):
            await call(app, path, headers, status)
        best = min(best, (time.process_time() - started) / n * 1000)
    return best


def write_logs_to_nowhere() -> None:
    """The access lines are formatted and written, as in production, to /dev/null."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))


async def credentials(app: FastAPI) -> tuple[Headers, Headers]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        body = {
            "email": f"layers-{os.getpid()}-{next(_accounts)}@example.com",
            "password": "benchmark passphrase 2026",
            "name": "L",
        }
        token = (await client.post("/api/v1/auth/register", json=body)).json()["access_token"]
        jwt = {"Authorization": f"Bearer {token}"}
        created = await client.post("/api/v1/api-keys", json={"name": "bench", "scopes": ["search"]}, headers=jwt)
        return jwt, {"X-API-Key": created.json()["secret"]}


async def rows_of(
    settings: Settings, label: str, n: int, *, layers: bool, routing: bool = False
) -> list[tuple[str, float]]:
    app = create_app(settings)
    for name, endpoint in PROBES.items():
        app.add_api_route(f"/probe/{name}", endpoint)
        # First, as /auth/me is: the app tries its routes and routers in order, and these come after all of them.
        app.router.routes.insert(0, app.router.routes.pop())
    async with app.router.lifespan_context(app):
        write_logs_to_nowhere()
        jwt, key = await credentials(app)
        paths: list[tuple[str, str, Headers, int]] = []
        if layers:
            paths += [
                ("nothing (FastAPI + Folio's middleware)", "/probe/nothing", {}, 200),
                ("+ the request's session, no query", "/probe/session", {}, 200),
                ("+ one query (BEGIN, SELECT 1, COMMIT)", "/probe/one-query", {}, 200),
            ]
        if routing:
            # Route matching: anonymous GETs answered before any work (rate limits off: they would count against
            # the address), to routers included early and late.
            paths += [(f"anonymous GET {path} ({status})", path, {}, status) for path, status in ROUTED]
        paths += [
            (f"+ authentication, JWT{label}", "/probe/authenticated", jwt, 200),
            (f"+ authentication, API key{label}", "/probe/authenticated", key, 200),
            (f"GET /auth/me, JWT{label}", "/api/v1/auth/me", jwt, 200),
            (f"GET /auth/me, API key{label}", "/api/v1/auth/me", key, 200),
        ]
        return [
            (name, await cpu_ms_per_request(app, path, headers, n, status)) for name, path, headers, status in paths
        ]


async def redis_answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    finally:
        await client.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="requests per timed round (best of 3)")
    parser.add_argument("--redis-url", help="a Redis for the scale-out rows (its keys under folio: are written)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="folio-layers-"))
    database = EmbeddedPostgres(root / "pg")
    base: dict[str, Any] = {
        "_env_file": None,
        "database_url": database.url,
        "data_dir": str(root / "data"),
        "log": {"level": "INFO"},
        # Rate limiting stays on (its cost is part of the overhead) with limits the run cannot reach.
        "rate_limit": {"user": "100000000/minute", "api_key": "100000000/minute", "auth": "1000/minute"},
    }
    try:
        rows = await rows_of(Settings(**base), ", from the principal cache", args.requests, layers=True)
        unlimited = Settings(**base | {"rate_limit": {"enabled": False}})
        rows += await rows_of(
            unlimited, ", from the principal cache, rate limits off", args.requests, layers=False, routing=True
        )
        off = Settings(**base | {"auth": {"principal_cache_seconds": 0}})
        rows += await rows_of(off, ", principal cache off", args.requests, layers=False)
        if args.redis_url and await redis_answers(args.redis_url):
            scale_out = base | {"redis_url": args.redis_url}
            label = ", from the cache, scale-out (Redis)"
            rows += await rows_of(Settings(**scale_out), label, args.requests, layers=False)
            # The rate limits count in Redis too: without them, what the cache's version check costs.
            no_limits = Settings(**scale_out | {"rate_limit": {"enabled": False}})
            rows += await rows_of(no_limits, f"{label}, rate limits off", args.requests, layers=False)
    finally:
        database.release()
        shutil.rmtree(root, ignore_errors=True)
    print("| layer reached | CPU ms per request |\n|---|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.3f} |")


if __name__ == "__main__":
    asyncio.run(main())
