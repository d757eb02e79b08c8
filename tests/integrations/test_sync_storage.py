"""A sync with its files in S3 (a moto server): each item's file is read back from the bucket to find its kind (a
HEAD and a ranged GET, a whole copy for a DOCX) with no database connection held, and is stored with the name and
type a presigned download answers with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from folio.db import create_engine, create_sessionmaker
from folio.documents.storage import ObjectInfo, S3Storage
from folio.integrations.sources import Sources
from folio.integrations.tasks import SyncIntegration
from folio.jobs.kinds import SYNC_INTEGRATION
from folio.jobs.runner import JobContext
from folio.models import Job, JobStatus
from folio.settings.storage import StorageSettings
from tests.apps import QUIET, idle, serve
from tests.documents.test_router import storage_key
from tests.factories import Account, register
from tests.integrations.conftest import INTEGRATIONS, LOCAL_OUTBOUND, last_sync
from tests.integrations.fakes.notion import TOKEN, FakeNotion, paragraph
from tests.s3 import S3, moto_server


class ProbedStorage(S3Storage):
    """The bucket, noting how many connections the sync's pool has lent out whenever the storage is read."""

    def __init__(self, settings: StorageSettings, pool: QueuePool) -> None:
        super().__init__(settings)
        self.pool = pool
        self.lent: list[tuple[str, int]] = []

    async def info(self, key: str) -> ObjectInfo:
        self.lent.append(("info", self.pool.checkedout()))
        return await super().info(key)

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        self.lent.append(("read", self.pool.checkedout()))
        return super().read(key, start=start, end=end)

    @asynccontextmanager
    async def local_copy(self, key: str, *, head: int | None = None) -> AsyncIterator[Path]:
        self.lent.append(("local_copy", self.pool.checkedout()))
        async with super().local_copy(key, head=head) as path:
            yield path


class OnS3:
    def __init__(self, app: FastAPI, api: httpx.AsyncClient, s3: S3, bucket: str) -> None:
        self.app, self.api, self.s3, self.bucket = app, api, s3, bucket


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    with moto_server() as url:
        yield S3(url)


@pytest.fixture(scope="module")
async def on_s3(separate_database_url: str, notion_server: FakeNotion, s3: S3) -> AsyncIterator[OnS3]:
    """An app whose loops stay quiet: the syncs under test are run here, by hand, on a pool of their own."""
    bucket = s3.new_bucket()
    async with serve(
        separate_database_url,
        storage=s3.settings(bucket),
        outbound=LOCAL_OUTBOUND,
        integrations={"notion_api_url": notion_server.base_url},
        **QUIET,
    ) as (app, api):
        await idle(app)
        yield OnS3(app, api, s3, bucket)


@pytest.fixture
async def engine(separate_database_url: str, on_s3: OnS3) -> AsyncIterator[AsyncEngine]:
    """The sync's own pool, which nothing else uses: what it has lent out is what the sync holds."""
    engine = create_engine(separate_database_url, on_s3.app.state.settings)
    yield engine
    await engine.dispose()


async def connected(on_s3: OnS3, owner: Account) -> UUID:
    created = await on_s3.api.post(
        INTEGRATIONS,
        json={"kind": "notion", "name": "Notion", "credentials": {"token": TOKEN}, "sync_now": False},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    return UUID(created.json()["id"])


async def run_sync(
    on_s3: OnS3, owner: Account, integration_id: UUID, engine: AsyncEngine
) -> tuple[ProbedStorage, dict[str, Any]]:
    """A sync job, leased as a worker would hold it, run to its end with the probed storage; its history entry.
    Its sessions reach no job queue, so the documents' ingestion jobs wait (nothing here needs them run)."""
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        job = Job(
            org_id=owner.org_id,
            created_by=owner.user_id,
            kind=SYNC_INTEGRATION,
            subject_id=integration_id,
            status=JobStatus.RUNNING,
            attempts=1,
            max_attempts=1,
            lease_id=uuid4(),
            lease_expires_at=datetime.now(UTC) + timedelta(minutes=10),
        )
        session.add(job)
    settings = on_s3.app.state.settings
    assert settings.storage.backend == "s3"
    pool = engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    storage = ProbedStorage(settings.storage, pool)
    await SyncIntegration(Sources(settings), storage, settings)(JobContext(job, sessionmaker))
    return storage, await last_sync(on_s3.api, owner, str(integration_id))


async def test_a_sync_reads_its_files_from_the_bucket_with_no_connection_held(
    on_s3: OnS3, notion: FakeNotion, engine: AsyncEngine
) -> None:
    [edited, _] = notion.seed(2)
    owner = await register(on_s3.api)
    integration_id = await connected(on_s3, owner)

    first, history = await run_sync(on_s3, owner, integration_id, engine)
    assert (history["status"], history["created"]) == ("succeeded", 2)
    notion.edit_page(edited, title="Renamed", blocks=[paragraph("The new text of the page.")])
    second, history = await run_sync(on_s3, owner, integration_id, engine)
    assert (history["status"], history["updated"]) == ("succeeded", 1)

    # Each new file was read back once to find its kind (new documents, then a replaced file), each time with
    # nothing lent out: inside the sync's transaction, the pool would have lent it its connection.
    assert [operation for operation, _ in first.lent].count("local_copy") == 2
    assert [operation for operation, _ in second.lent].count("local_copy") == 1
    assert {lent for _, lent in first.lent + second.lent} == {0}


async def test_a_synced_file_is_stored_with_its_name_and_type(
    on_s3: OnS3, notion: FakeNotion, engine: AsyncEngine
) -> None:
    notion.seed(1)
    owner = await register(on_s3.api)

    await run_sync(on_s3, owner, await connected(on_s3, owner), engine)

    [document] = (await on_s3.api.get("/api/v1/documents", headers=owner.headers)).json()["items"]
    assert document["filename"].endswith(".md")
    presigning = S3Storage(on_s3.app.state.settings.storage.model_copy(update={"presigned_downloads": True}))
    url = await presigning.download_url(await storage_key(on_s3.app, str(document["id"])))
    assert url is not None
    async with httpx.AsyncClient() as store:
        fetched = await store.get(url)
    assert fetched.headers["content-disposition"] == f'attachment; filename="{document["filename"]}"'
    assert fetched.headers["content-type"] == "text/markdown"
