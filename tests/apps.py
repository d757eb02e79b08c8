"""An app of its own for tests whose jobs must retry quickly, on a database the session app's reaper does not see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from folio.main import create_app
from folio.models import Job, JobStatus
from tests.conftest import make_settings

# Retries after a fraction of a second, and the reaper that dispatches them looks often.
FAST_JOBS: dict[str, Any] = {"backoff_seconds": 0.05, "backoff_max_seconds": 0.2, "reaper_seconds": 0.1}


# The app's own loops (reaper, event relay, webhook fan-out) look once at start-up and then not again while the
# tests probe the pool.
QUIET: dict[str, Any] = {
    "jobs": {"reaper_seconds": 3600},
    "events": {"relay_seconds": 3600},
    "webhooks": {"fan_out_seconds": 3600},
}


@asynccontextmanager
async def serve(database_url: str, **overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    jobs = {**FAST_JOBS, **overrides.pop("jobs", {})}
    application = create_app(make_settings(database_url, jobs=jobs, **overrides))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        yield application, client


async def idle(app: FastAPI) -> None:
    """Wait for the periodic jobs run at start-up to finish and hand their connections back, so that a probe of the
    pool counts only what a test does."""
    pool = app.state.engine.sync_engine.pool
    unfinished = select(func.count()).where(Job.org_id.is_(None), Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    async with asyncio.timeout(60):
        while True:
            async with app.state.sessionmaker() as session:
                busy = await session.scalar(unfinished)
            if not busy and pool.checkedout() == 0:
                return
            await asyncio.sleep(0.05)
