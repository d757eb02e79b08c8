"""Jobs run in the API process (embedded broker): progress, retries, failures, cancel, retry, crash recovery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from folio.jobs.repository import JobRepository
from folio.models import Job, JobStatus
from tests.factories import error_of, register, wait_until_finished
from tests.jobs.conftest import ended, enqueue, entered, outcomes, release, runs, started


async def test_a_job_runs_reports_progress_and_succeeds(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.echo", document="x")

    job = await wait_until_finished(jobs_client, account, job_id)

    assert job["status"] == "succeeded"
    assert job["progress"] == 100
    assert job["stage"] == "second"
    assert job["message"] == "half way"
    assert job["attempts"] == 1
    assert job["payload"] == {"document": "x"}
    assert job["started_at"] is not None
    assert job["finished_at"] is not None
    assert runs[job_id] == 1


async def test_transient_failures_are_retried_with_backoff_until_success(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.flaky", max_attempts=3, succeed_on=3)

    job = await wait_until_finished(jobs_client, account, job_id)

    assert job["status"] == "succeeded"
    assert job["attempts"] == 3
    assert runs[job_id] == 3
    assert job["error_code"] is None


async def test_a_job_fails_after_its_last_attempt_with_the_error(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.flaky", max_attempts=2, succeed_on=99)

    job = await wait_until_finished(jobs_client, account, job_id)

    assert job["status"] == "failed"
    assert job["attempts"] == 2
    assert job["error_code"] == "JOB_FAILED"
    assert "boom on attempt 2" in job["error_message"]


async def test_a_folio_error_fails_at_once_and_retry_runs_it_again(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.refuse_once", max_attempts=5)

    failed = await wait_until_finished(jobs_client, account, job_id)
    assert failed["status"] == "failed"
    assert failed["attempts"] == 1  # no retries for a reasoned refusal
    assert failed["error_code"] == "TEST_REFUSED"

    retried = await jobs_client.post(f"/api/v1/jobs/{job_id}/retry", headers=account.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued"
    assert retried.json()["error_code"] is None

    again = await wait_until_finished(jobs_client, account, job_id)
    assert again["status"] == "succeeded"
    assert runs[job_id] == 2

    not_retryable = await jobs_client.post(f"/api/v1/jobs/{job_id}/retry", headers=account.headers)
    error_of(not_retryable, 409, "JOB_NOT_RETRYABLE")


async def test_an_unknown_kind_fails_with_a_clear_code(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.nobody-handles-this")

    job = await wait_until_finished(jobs_client, account, job_id)
    assert job["status"] == "failed"
    assert job["error_code"] == "UNKNOWN_JOB_KIND"


async def test_cancelling_a_queued_job_means_it_never_runs(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.echo", dispatch=False)

    cancelled = await jobs_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=account.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    await jobs_app.state.job_queue.dispatch([job_id])  # a late or duplicate message finds nothing to claim
    await jobs_app.state.job_queue.reap()
    await asyncio.sleep(0.2)
    assert runs[job_id] == 0
    again = await jobs_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=account.headers)
    error_of(again, 409, "JOB_FINISHED")


async def test_cancelling_a_running_job_stops_it_at_its_next_checkpoint(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.wait")
    async with asyncio.timeout(10):
        await started[job_id].wait()

    response = await jobs_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json()["cancel_requested"] is True

    job = await wait_until_finished(jobs_client, account, job_id)
    assert job["status"] == "cancelled"


async def test_a_job_whose_worker_died_is_run_again(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    """A row left `running` with an expired lease is what a killed worker leaves behind."""
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.echo", dispatch=False)
    await set_job(jobs_app, job_id, status=JobStatus.RUNNING, attempts=1, lease_expires_at=past(seconds=5))

    job = await wait_until_finished(jobs_client, account, job_id)  # the reaper re-queues and dispatches it

    assert job["status"] == "succeeded"
    assert job["attempts"] == 2
    assert runs[job_id] == 1


async def test_a_job_whose_worker_died_on_every_attempt_fails(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.echo", dispatch=False, max_attempts=2)
    await set_job(jobs_app, job_id, status=JobStatus.RUNNING, attempts=2, lease_expires_at=past(seconds=5))

    job = await wait_until_finished(jobs_client, account, job_id)

    assert job["status"] == "failed"
    assert job["error_code"] == "WORKER_LOST"
    assert runs[job_id] == 0


async def test_a_lost_dispatch_is_sent_again_by_the_reaper(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    """A process that died between its commit and the broker send leaves a queued job nobody was told about."""
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.echo", dispatch=False)
    await set_job(jobs_app, job_id, dispatched_at=past(seconds=60))

    job = await wait_until_finished(jobs_client, account, job_id)
    assert job["status"] == "succeeded"


async def test_a_long_job_keeps_its_lease_alive(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    """Running for several lease periods, the heartbeat keeps the reaper from taking the job back."""
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.wait")
    await asyncio.sleep(4)  # more than two 1.5 s leases
    assert runs[job_id] == 1
    await jobs_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=account.headers)
    job = await wait_until_finished(jobs_client, account, job_id)
    assert job["attempts"] == 1


async def test_an_attempt_whose_lease_was_taken_back_cannot_touch_the_job(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    """A worker stalled past its lease (GC pause, frozen VM) wakes while the reaper's new attempt is running."""
    account = await register(jobs_client)
    job_id = await enqueue(jobs_app, account, "test.stall")
    async with asyncio.timeout(10):
        await entered[job_id, 1].wait()
    async with jobs_app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=past(seconds=1)))
        lost, requeued = await JobRepository(session).requeue_expired_leases()
        assert (lost, [job.id for job in requeued]) == ([], [job_id])
    await jobs_app.state.job_queue.dispatch([job_id])
    async with asyncio.timeout(10):
        await entered[job_id, 2].wait()

    release[job_id, 1].set()
    async with asyncio.timeout(10):
        await ended[job_id, 1].wait()

    assert outcomes[job_id, 1] == "LeaseLost"
    running = (await jobs_client.get(f"/api/v1/jobs/{job_id}", headers=account.headers)).json()
    assert {key: running[key] for key in ("status", "attempts", "progress", "stage")} == {
        "status": "running",
        "attempts": 2,
        "progress": 0,
        "stage": None,
    }
    release[job_id, 2].set()
    job = await wait_until_finished(jobs_client, account, job_id)
    assert {key: job[key] for key in ("status", "attempts", "progress", "stage", "message")} == {
        "status": "succeeded",
        "attempts": 2,
        "progress": 100,
        "stage": "attempt 2",
        "message": "attempt 2 woke up",
    }
    assert outcomes[job_id, 2] == "done"


async def set_job(app: FastAPI, job_id: UUID, **values: object) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Job).where(Job.id == job_id).values(**values))


def past(*, seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
