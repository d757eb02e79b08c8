"""An app whose workers run test job kinds, with short leases and backoff so retries happen quickly."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from folio.auth.principal import Principal
from folio.db import create_sessionmaker
from folio.errors import FolioError
from folio.jobs import service as jobs
from folio.jobs.runner import Handler, JobContext
from folio.main import create_app
from folio.models import Role
from tests.conftest import make_settings
from tests.factories import Account

FAST_JOBS = {
    "lease_seconds": 1.5,
    "reaper_seconds": 0.1,
    "backoff_seconds": 0.05,
    "backoff_max_seconds": 0.2,
    "drain_seconds": 0.2,
}
runs: Counter[UUID] = Counter()
started: defaultdict[UUID, asyncio.Event] = defaultdict(asyncio.Event)


class Refused(FolioError):
    """A handler's reasoned refusal (test only)."""

    status_code = 422
    code = "TEST_REFUSED"
    message = "Refused on purpose."


async def echo(context: JobContext) -> None:
    runs[context.job_id] += 1
    await context.progress(10, "starting", stage="first")
    await context.progress(60, "half way", stage="second")


async def flaky(context: JobContext) -> None:
    """Fails with an unexpected error until attempt `payload["succeed_on"]`."""
    runs[context.job_id] += 1
    if context.attempt < context.payload["succeed_on"]:
        raise RuntimeError(f"boom on attempt {context.attempt}")


async def refuse_once(context: JobContext) -> None:
    runs[context.job_id] += 1
    if runs[context.job_id] == 1:
        raise Refused()


async def wait_for_cancel(context: JobContext) -> None:
    runs[context.job_id] += 1
    started[context.job_id].set()
    while True:
        await context.progress(50, "waiting", stage="waiting")
        await asyncio.sleep(0.05)


# Per (job, attempt): set when the attempt starts; the event that lets it go on; set when it ends, and how.
entered: defaultdict[tuple[UUID, int], asyncio.Event] = defaultdict(asyncio.Event)
release: defaultdict[tuple[UUID, int], asyncio.Event] = defaultdict(asyncio.Event)
ended: defaultdict[tuple[UUID, int], asyncio.Event] = defaultdict(asyncio.Event)
outcomes: dict[tuple[UUID, int], str] = {}


async def stall(context: JobContext) -> None:
    """Hangs until the test releases this attempt, then reports progress and finishes."""
    key = (context.job_id, context.attempt)
    runs[context.job_id] += 1
    entered[key].set()
    await release[key].wait()
    outcomes[key] = "done"
    try:
        await context.progress(90, f"attempt {context.attempt} woke up", stage=f"attempt {context.attempt}")
    except BaseException as error:
        outcomes[key] = type(error).__name__
        raise
    finally:
        ended[key].set()


HANDLERS: dict[str, Handler] = {
    "test.echo": echo,
    "test.flaky": flaky,
    "test.refuse_once": refuse_once,
    "test.wait": wait_for_cancel,
    "test.stall": stall,
}


@pytest.fixture
async def jobs_app(own_database_url: str) -> AsyncIterator[FastAPI]:
    """An app running the test handlers, on a database of its own: the session app's reaper, which knows none of
    these kinds, would otherwise take some of their jobs and fail them with UNKNOWN_JOB_KIND."""
    application = create_app(make_settings(own_database_url, jobs=FAST_JOBS), job_handlers=HANDLERS)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def jobs_client(jobs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=jobs_app), base_url="http://testserver") as http:
        yield http


async def enqueue(
    app: FastAPI, account: Account, kind: str, *, dispatch: bool = True, max_attempts: int = 3, **payload: Any
) -> UUID:
    """A job enqueued as a request would; without `dispatch`, in a session that cannot reach the job queue, so
    that only the reaper sends it."""
    principal = Principal.for_member(org_id=account.org_id, user_id=account.user_id, role=Role.OWNER)
    sessionmaker = app.state.sessionmaker if dispatch else create_sessionmaker(app.state.engine)
    async with sessionmaker() as session, session.begin():
        job = await jobs.enqueue(session, principal=principal, kind=kind, max_attempts=max_attempts, payload=payload)
    return job.id
