"""Liveness and readiness. Readiness checks what a request needs: the database, its schema, Redis, file storage,
and room for one more request (free database connections, requests in flight below the limit)."""

from __future__ import annotations

import hmac
from typing import Any, Literal

import anyio
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from folio.auth.errors import AuthInvalid
from folio.errors import NotFound
from folio.migrate import database_revision
from folio.observability import metrics
from folio.observability.middleware import Load
from folio.routing import Router
from folio.settings import DatabaseSettings, Settings

router = Router(tags=["ops"])

_CHECK_TIMEOUT_SECONDS = 2.0


class Check(BaseModel):
    status: Literal["ok", "failing"]
    detail: str | None = None


class Health(BaseModel):
    status: Literal["ok", "failing"]
    checks: dict[str, Check] = Field(default_factory=dict)


@router.get("/health/live", response_model=Health, summary="The process is up")
async def live() -> Health:
    return Health(status="ok")


@router.get(
    "/health/ready",
    response_model=Health,
    summary="The service can serve requests",
    responses={503: {"model": Health, "description": "A dependency is failing; `checks` says which."}},
)
async def ready(request: Request) -> Any:
    state = request.app.state
    checks = {
        "database": await _check(_database(state.engine)),
        "migrations": await _check(_migrations(state.engine, state.head_revision)),
    }
    if state.redis is not None:
        checks["redis"] = await _check(_redis(state.redis))
    checks["storage"] = await _check(state.storage.check())
    checks["capacity"] = await _check(_capacity(state.engine, state.settings.db, state.load))
    healthy = all(check.status == "ok" for check in checks.values())
    health = Health(status="ok" if healthy else "failing", checks=checks)
    return JSONResponse(health.model_dump(), status_code=200 if healthy else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="With `FOLIO_HTTP__METRICS_TOKEN` set, send it as `Authorization: Bearer <token>`. Without it, "
    "/metrics is open in development and answers 404 in production.",
    response_class=Response,
    include_in_schema=True,
)
async def prometheus_metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    token = settings.http.metrics_token
    if token is None and not settings.is_development:
        raise NotFound()
    if token is not None and not hmac.compare_digest(
        request.headers.get("authorization", "").encode(), f"Bearer {token.get_secret_value()}".encode()
    ):
        raise AuthInvalid("Send the metrics token as `Authorization: Bearer <token>`.")
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


async def _check(probe: Any) -> Check:
    try:
        with anyio.fail_after(_CHECK_TIMEOUT_SECONDS):
            detail = await probe
    except TimeoutError:
        return Check(status="failing", detail=f"no answer within {_CHECK_TIMEOUT_SECONDS:g}s")
    except Exception as exc:  # any failure of a dependency means not ready
        return Check(status="failing", detail=f"{type(exc).__name__}: {exc}"[:300])
    if detail is not None:
        return Check(status="failing", detail=detail)
    return Check(status="ok")


async def _database(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return None


async def _migrations(engine: AsyncEngine, head: str | None) -> str | None:
    async with engine.connect() as connection:
        current = await database_revision(connection)
    return None if current == head else f"database at {current}, code expects {head}; run `folio migrate`"


async def _capacity(engine: AsyncEngine, database: DatabaseSettings, load: Load) -> str | None:
    in_use: int = engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
    if in_use >= database.pool_size + database.max_overflow:
        return f"all {in_use} database connections are in use"
    if load.full:
        return f"{load.in_flight} requests in flight, the most this process serves at once"
    return None


async def _redis(client: Any) -> str | None:
    await client.ping()
    return None
