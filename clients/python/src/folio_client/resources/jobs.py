"""Jobs (`/jobs`): read them, cancel or retry them, and wait for them to finish."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from uuid import UUID

from folio_client._core import Call, Core, Flow, path
from folio_client._waiting import OnUpdate, wait_for_jobs
from folio_client.models import Job, JobStatus
from folio_client.pagination import AsyncPager, PageData, SyncPage
from folio_client.resources._base import AsyncResource, SyncResource, query


def _get(core: Core, job_id: UUID | str) -> Flow[Job]:
    return core.fetch(Call("GET", path("/jobs/{}", job_id)), Job)


def _list(
    core: Core,
    cursor: str | None,
    *,
    status: JobStatus | None,
    kind: str | None,
    subject_id: UUID | str | None,
    limit: int | None,
) -> Flow[PageData[Job]]:
    params = query(status=status, kind=kind, subject_id=subject_id, limit=limit, cursor=cursor)
    return core.fetch(Call("GET", path("/jobs"), params=params), PageData[Job])


def _cancel(core: Core, job_id: UUID | str) -> Flow[Job]:
    return core.fetch(Call("POST", path("/jobs/{}/cancel", job_id)), Job)


def _retry(core: Core, job_id: UUID | str) -> Flow[Job]:
    return core.fetch(Call("POST", path("/jobs/{}/retry", job_id)), Job)


def _wait_one(
    core: Core, job_id: UUID | str, timeout: float | None, stream: bool, on_update: OnUpdate | None
) -> Flow[Job]:
    jobs = yield from wait_for_jobs(core, [job_id], timeout=timeout, stream=stream, on_update=on_update)
    return jobs[0]


class Jobs(SyncResource):
    def get(self, job_id: UUID | str) -> Job:
        return self._run(_get(self._core, job_id))

    def list(
        self,
        *,
        status: JobStatus | None = None,
        kind: str | None = None,
        subject_id: UUID | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SyncPage[Job]:
        return self._pages(
            lambda at: _list(self._core, at, status=status, kind=kind, subject_id=subject_id, limit=limit),
            cursor,
        )

    def cancel(self, job_id: UUID | str) -> Job:
        return self._run(_cancel(self._core, job_id))

    def retry(self, job_id: UUID | str) -> Job:
        return self._run(_retry(self._core, job_id))

    def wait(
        self,
        job_id: UUID | str,
        *,
        timeout: float | None = None,
        stream: bool = True,
        on_update: OnUpdate | None = None,
    ) -> Job:
        """The job once it has finished (succeeded, failed or cancelled: check `status`). Follows the live event
        stream, or polls when the server offers none or `stream` is False; `on_update` hears its progress.
        Raises `WaitTimeout` after `timeout` seconds."""
        return self._run(_wait_one(self._core, job_id, timeout, stream, on_update))

    def wait_all(
        self,
        job_ids: Sequence[UUID | str],
        *,
        timeout: float | None = None,
        stream: bool = True,
        on_update: OnUpdate | None = None,
    ) -> builtins.list[Job]:
        """As `wait`, for many jobs over one stream; the jobs in the order asked."""
        return self._run(wait_for_jobs(self._core, job_ids, timeout=timeout, stream=stream, on_update=on_update))


class AsyncJobs(AsyncResource):
    async def get(self, job_id: UUID | str) -> Job:
        return await self._run(_get(self._core, job_id))

    def list(
        self,
        *,
        status: JobStatus | None = None,
        kind: str | None = None,
        subject_id: UUID | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AsyncPager[Job]:
        return self._pages(
            lambda at: _list(self._core, at, status=status, kind=kind, subject_id=subject_id, limit=limit),
            cursor,
        )

    async def cancel(self, job_id: UUID | str) -> Job:
        return await self._run(_cancel(self._core, job_id))

    async def retry(self, job_id: UUID | str) -> Job:
        return await self._run(_retry(self._core, job_id))

    async def wait(
        self,
        job_id: UUID | str,
        *,
        timeout: float | None = None,
        stream: bool = True,
        on_update: OnUpdate | None = None,
    ) -> Job:
        return await self._run(_wait_one(self._core, job_id, timeout, stream, on_update))

    async def wait_all(
        self,
        job_ids: Sequence[UUID | str],
        *,
        timeout: float | None = None,
        stream: bool = True,
        on_update: OnUpdate | None = None,
    ) -> builtins.list[Job]:
        return await self._run(wait_for_jobs(self._core, job_ids, timeout=timeout, stream=stream, on_update=on_update))
