"""The jobs API: listing with filters, tenancy, roles, and dispatch only after the request commits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from folio.auth.deps import CurrentPrincipal
from folio.deps import SessionDep
from folio.jobs import service as jobs
from folio.jobs.schemas import JobRead
from folio.main import create_app
from tests.conftest import make_settings
from tests.factories import add_member, create_api_key, error_of, register, wait_until_finished
from tests.jobs.conftest import FAST_JOBS, HANDLERS, enqueue, runs

JOBS = "/api/v1/jobs"


@pytest.fixture
async def jobs_app(own_database_url: str) -> AsyncIterator[FastAPI]:
    """Like conftest's, with a lease of a minute: the reaper sends a job nobody dispatched once a lease has passed,
    and these tests look at undispatched jobs for longer than FAST_JOBS' 1.5 s when the machine is busy."""
    jobs = {**FAST_JOBS, "lease_seconds": 60}
    application = create_app(make_settings(own_database_url, jobs=jobs), job_handlers=HANDLERS)
    async with application.router.lifespan_context(application):
        yield application


async def test_list_filters_and_pages(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    account = await register(jobs_client)
    echo_ids = [await enqueue(jobs_app, account, "test.echo", dispatch=False) for _ in range(3)]
    flaky_id = await enqueue(jobs_app, account, "test.flaky", dispatch=False, succeed_on=1)

    by_kind = await jobs_client.get(JOBS, params={"kind": "test.echo"}, headers=account.headers)
    assert [UUID(job["id"]) for job in by_kind.json()["items"]] == echo_ids

    seen: list[UUID] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await jobs_client.get(JOBS, params=params, headers=account.headers)).json()
        seen += [UUID(job["id"]) for job in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [*echo_ids, flaky_id]

    await jobs_app.state.job_queue.dispatch([flaky_id])
    await wait_until_finished(jobs_client, account, flaky_id)
    done = await jobs_client.get(JOBS, params={"status": "succeeded"}, headers=account.headers)
    assert [UUID(job["id"]) for job in done.json()["items"]] == [flaky_id]

    bad = await jobs_client.get(JOBS, params={"status": "sleeping"}, headers=account.headers)
    error_of(bad, 422, "VALIDATION_ERROR")


async def test_another_orgs_jobs_are_invisible(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    owner_a = await register(jobs_client)
    owner_b = await register(jobs_client)
    job_id = await enqueue(jobs_app, owner_a, "test.echo", dispatch=False)
    key_b = await create_api_key(jobs_client, owner_b, scopes=["documents:read", "documents:write"])

    for headers in (owner_b.headers, {"X-API-Key": key_b["secret"]}):
        assert (await jobs_client.get(JOBS, headers=headers)).json()["items"] == []
        error_of(await jobs_client.get(f"{JOBS}/{job_id}", headers=headers), 404, "JOB_NOT_FOUND")
        error_of(await jobs_client.post(f"{JOBS}/{job_id}/cancel", headers=headers), 404, "JOB_NOT_FOUND")
        error_of(await jobs_client.post(f"{JOBS}/{job_id}/retry", headers=headers), 404, "JOB_NOT_FOUND")
    error_of(await jobs_client.get(f"{JOBS}/{uuid4()}", headers=owner_a.headers), 404, "JOB_NOT_FOUND")
    mine = await jobs_client.get(f"{JOBS}/{job_id}", headers=owner_a.headers)
    assert mine.json()["status"] == "queued"


async def test_viewers_read_jobs_but_cannot_cancel_them(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    owner = await register(jobs_client)
    viewer = await register(jobs_client)
    await add_member(jobs_client, owner, viewer, "viewer")
    job_id = await enqueue(jobs_app, owner, "test.echo", dispatch=False)
    as_viewer = viewer.in_org(owner.org_id)

    assert (await jobs_client.get(f"{JOBS}/{job_id}", headers=as_viewer)).status_code == 200
    refused = await jobs_client.post(f"{JOBS}/{job_id}/cancel", headers=as_viewer)
    assert error_of(refused, 403, "FORBIDDEN")["details"]["missing_scopes"] == ["documents:write"]

    search_only = await create_api_key(jobs_client, owner, scopes=["search"])
    error_of(await jobs_client.get(JOBS, headers={"X-API-Key": search_only["secret"]}), 403, "FORBIDDEN")


async def test_jobs_are_dispatched_only_after_the_request_commits(own_database_url: str) -> None:
    """A job enqueued by a request that then fails is neither stored nor run; one that succeeds runs."""
    application = create_app(make_settings(own_database_url, jobs=FAST_JOBS), job_handlers=HANDLERS)
    enqueued: list[UUID] = []

    async def enqueue_then(principal: CurrentPrincipal, session: SessionDep, fail: bool = False) -> dict[str, str]:
        job = await jobs.enqueue(session, principal=principal, kind="test.echo", max_attempts=1)
        enqueued.append(job.id)
        if fail:
            raise RuntimeError("the request fails after enqueueing")
        return {"job_id": str(job.id)}

    application.add_api_route("/test/enqueue", enqueue_then, methods=["POST"])
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        account = await register(client)
        failed = await client.post("/test/enqueue", params={"fail": True}, headers=account.headers)
        assert failed.status_code == 500
        await application.state.job_queue.reap()
        await asyncio.sleep(0.3)
        assert runs[enqueued[0]] == 0
        error_of(await client.get(f"{JOBS}/{enqueued[0]}", headers=account.headers), 404, "JOB_NOT_FOUND")

        ok = await client.post("/test/enqueue", headers=account.headers)
        assert ok.status_code == 200, ok.text
        job = await wait_until_finished(client, account, UUID(ok.json()["job_id"]))
        assert job["status"] == "succeeded"


async def test_a_batch_read_answers_the_named_jobs_of_the_org_only(
    jobs_app: FastAPI, jobs_client: httpx.AsyncClient
) -> None:
    owner_a = await register(jobs_client)
    owner_b = await register(jobs_client)
    mine = [await enqueue(jobs_app, owner_a, "test.echo", dispatch=False) for _ in range(3)]
    theirs = await enqueue(jobs_app, owner_b, "test.echo", dispatch=False)
    unknown = uuid4()

    repeated = await jobs_client.get(
        JOBS, params=[("ids", str(job_id)) for job_id in (theirs, mine[2], unknown, mine[0])], headers=owner_a.headers
    )
    assert repeated.status_code == 200, repeated.text
    assert [UUID(job["id"]) for job in repeated.json()["items"]] == [mine[0], mine[2]]
    assert repeated.json()["next_cursor"] is None

    separated = ",".join(str(job_id) for job_id in (*mine, theirs, mine[1]))
    commas = await jobs_client.get(JOBS, params={"ids": separated, "limit": 1}, headers=owner_a.headers)
    assert [UUID(job["id"]) for job in commas.json()["items"]] == mine
    assert commas.json()["next_cursor"] is None

    key_b = await create_api_key(jobs_client, owner_b, scopes=["documents:read"])
    as_b = await jobs_client.get(JOBS, params={"ids": separated}, headers={"X-API-Key": key_b["secret"]})
    assert [UUID(job["id"]) for job in as_b.json()["items"]] == [theirs]

    nothing = await jobs_client.get(JOBS, params={"ids": ""}, headers=owner_a.headers)
    assert nothing.json() == {"items": [], "next_cursor": None}


async def test_a_batch_read_combines_with_the_filters(jobs_app: FastAPI, jobs_client: httpx.AsyncClient) -> None:
    account = await register(jobs_client)
    echo_id = await enqueue(jobs_app, account, "test.echo", dispatch=False)
    flaky_id = await enqueue(jobs_app, account, "test.flaky", dispatch=False, succeed_on=1)
    both = f"{echo_id},{flaky_id}"

    by_kind = await jobs_client.get(JOBS, params={"ids": both, "kind": "test.flaky"}, headers=account.headers)
    assert [UUID(job["id"]) for job in by_kind.json()["items"]] == [flaky_id]

    page = (await jobs_client.get(JOBS, params={"limit": 1}, headers=account.headers)).json()
    with_cursor = await jobs_client.get(
        JOBS, params={"ids": both, "cursor": page["next_cursor"]}, headers=account.headers
    )
    assert error_of(with_cursor, 422, "VALIDATION_ERROR")["details"]["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_batch_read_takes_at_most_100_valid_ids(jobs_client: httpx.AsyncClient) -> None:
    account = await register(jobs_client)
    hundred = [str(uuid4()) for _ in range(100)]

    assert (await jobs_client.get(JOBS, params={"ids": hundred}, headers=account.headers)).status_code == 200
    # The same id twice is one job.
    again = await jobs_client.get(JOBS, params={"ids": [*hundred, hundred[0]]}, headers=account.headers)
    assert again.status_code == 200

    for too_many in ([*hundred, str(uuid4())], [",".join(hundred), str(uuid4())]):
        refused = await jobs_client.get(JOBS, params={"ids": too_many}, headers=account.headers)
        [error] = error_of(refused, 422, "VALIDATION_ERROR")["details"]["errors"]
        assert error["loc"] == ["query", "ids"]
        assert "100" in error["message"]

    malformed = await jobs_client.get(JOBS, params={"ids": [str(uuid4()), "1,job-2"]}, headers=account.headers)
    [error] = error_of(malformed, 422, "VALIDATION_ERROR")["details"]["errors"]
    assert error["loc"] == ["query", "ids", 1]


async def test_the_batch_read_is_documented_with_an_example(jobs_client: httpx.AsyncClient) -> None:
    operation = (await jobs_client.get("/openapi.json")).json()["paths"][JOBS]["get"]
    [ids] = [parameter for parameter in operation["parameters"] if parameter["name"] == "ids"]
    assert ids["schema"]["type"] == "array"
    assert "100" in ids["description"]
    assert ids["examples"]["repeated"]["value"]
    assert "Batch read" in operation["description"]
    batch = operation["responses"]["200"]["content"]["application/json"]["examples"]["batch"]["value"]
    # Null fields are left out of the rendered example; between them the two items show every field.
    assert set().union(*batch["items"]) == set(JobRead.model_fields)
