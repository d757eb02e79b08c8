"""Export jobs: the file behind an authenticated route and an expiring link, its requester's alone, limits,
deletion, expiry and the prune, and a failed attempt that leaves no file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import anyio
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from folio.auth.principal import Scope
from folio.documents.errors import FileTooLarge
from folio.documents.storage import LocalWriter
from folio.errors import Forbidden
from folio.exports import service
from folio.exports.tasks import PruneExports, WriteExport, requester
from folio.jobs.kinds import PRUNE_EXPORTS
from folio.jobs.runner import JobContext
from folio.models import Export, ExportFormat, ExportSource, ExportStatus, Job, JobStatus
from tests.exports.conftest import EXPORTS, TRICKY, Desk, csv_rows, export, make_desk, xlsx_rows
from tests.factories import error_of, register


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's organization lives until it ends (see `desk`); each test asks for exports of its own."""


@pytest.fixture(scope="module")
async def desk(app: FastAPI, _empty_tables_at_the_end: None) -> Desk:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        return await make_desk(client, app)


async def exported(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """Ask for an export job, wait for it, and return the export as GET shows it."""
    response = await client.post(EXPORTS, json=body, headers=headers)
    assert response.status_code == 202, response.text
    asked = response.json()
    assert asked["status"] == "queued"
    assert asked["download_url"] is None
    job = await finished(client, headers, asked["job_id"])
    assert job["status"] == "succeeded", job
    found = await client.get(f"{EXPORTS}/{asked['id']}", headers=headers)
    assert found.status_code == 200, found.text
    body_: dict[str, Any] = found.json()
    return body_


async def finished(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """The job once it has finished, polled as `headers` (in the job's organization)."""
    async with asyncio.timeout(30):
        while True:
            job: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
            if job["status"] in {"succeeded", "failed", "cancelled"}:
                return job
            await asyncio.sleep(0.05)


def link_path(url: str) -> str:
    return url.removeprefix("http://testserver")


def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def move(to: datetime) -> None:
        monkeypatch.setattr(service, "now", lambda: to)

    return move


async def test_a_job_writes_the_file_behind_an_authenticated_route_and_an_expiring_link(
    client: httpx.AsyncClient, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = desk.owner.headers
    done = await exported(client, headers, source="cases", format="csv", filters={"priority": ["high"]})
    assert done["status"] == "ready"
    assert done["rows"] == len(TRICKY)
    assert done["filters"] == {"priority": ["high"]}
    expires_at = datetime.fromisoformat(done["expires_at"])
    assert expires_at - datetime.fromisoformat(done["finished_at"]) == timedelta(hours=24)

    streamed = await export(client, headers, "cases", priority="high")
    by_api = await client.get(f"{EXPORTS}/{done['id']}/file", headers=headers)
    assert by_api.status_code == 200, by_api.text
    assert by_api.headers["content-disposition"] == f'attachment; filename="{done["filename"]}"'
    assert csv_rows(by_api.content) == csv_rows(streamed.content)
    assert done["size_bytes"] == len(by_api.content)

    url = link_path(done["download_url"])
    by_link = await client.get(url)  # no credentials
    assert by_link.status_code == 200, by_link.text
    assert by_link.content == by_api.content
    assert by_link.headers["cache-control"] == "no-store"
    token = url.rsplit("=", 1)[1]
    error_of(await client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")), 404, "EXPORT_NOT_FOUND")
    error_of(await client.get(f"{EXPORTS}/{uuid4()}/download", params={"token": token}), 404, "EXPORT_NOT_FOUND")

    move = clock(monkeypatch)
    move(expires_at - timedelta(minutes=1))
    assert (await client.get(url)).status_code == 200
    move(expires_at + timedelta(minutes=1))
    error_of(await client.get(url), 410, "EXPORT_EXPIRED")
    error_of(await client.get(f"{EXPORTS}/{done['id']}/file", headers=headers), 410, "EXPORT_EXPIRED")
    assert (await client.get(f"{EXPORTS}/{done['id']}", headers=headers)).json()["download_url"] is None

    listed = await client.get(EXPORTS, headers=headers)
    assert listed.json()["items"][0]["id"] == done["id"]
    audit = await client.get("/api/v1/audit", params={"action": "export.downloaded"}, headers=headers)
    assert [entry["actor"]["type"] for entry in audit.json()["items"]] == ["anonymous", "anonymous", "user"]


async def test_an_export_is_its_requesters_alone(client: httpx.AsyncClient, desk: Desk) -> None:
    done = await exported(client, desk.owner.headers, source="documents", format="jsonl")
    stranger = await register(client)
    for headers in (desk.viewer.in_org(desk.owner.org_id), stranger.headers):
        error_of(await client.get(f"{EXPORTS}/{done['id']}", headers=headers), 404, "EXPORT_NOT_FOUND")
        error_of(await client.get(f"{EXPORTS}/{done['id']}/file", headers=headers), 404, "EXPORT_NOT_FOUND")
        error_of(await client.delete(f"{EXPORTS}/{done['id']}", headers=headers), 404, "EXPORT_NOT_FOUND")
        listed = await client.get(EXPORTS, headers=headers)
        assert done["id"] not in [item["id"] for item in listed.json()["items"]]
    assert (await client.get(f"{EXPORTS}/{done['id']}", headers=desk.owner.headers)).status_code == 200


async def test_a_limited_members_job_exports_their_units_cases_as_xlsx(
    client: httpx.AsyncClient, app: FastAPI, desk: Desk
) -> None:
    headers = desk.limited.in_org(desk.owner.org_id)
    done = await exported(client, headers, source="cases", format="xlsx")
    file = await client.get(f"{EXPORTS}/{done['id']}/file", headers=headers)
    header, *rows = xlsx_rows(file.content)
    assert sorted(row[header.index("external_id")] for row in rows) == sorted(TRICKY)
    # A job reads as the member is when it runs: asked by them with every unit, it still reads theirs only.
    asked = Export(
        org_id=desk.owner.org_id,
        created_by=desk.limited.user_id,
        scopes=["cases:read", "admin"],
        units=None,
        expires_at=service.now(),
    )
    async with app.state.sessionmaker() as session:
        principal = await requester(session, asked)
        stranger = await register(client)
        with pytest.raises(Forbidden):
            await requester(session, Export(org_id=desk.owner.org_id, created_by=stranger.user_id, scopes=[]))
    assert principal.units == frozenset({desk.north})
    assert principal.scopes == {Scope.CASES_READ}


async def test_deleting_an_export_removes_its_file_and_link(
    client: httpx.AsyncClient, app: FastAPI, desk: Desk
) -> None:
    done = await exported(client, desk.owner.headers, source="summaries", format="md")
    async with app.state.sessionmaker() as session:
        key = await session.scalar(select(Export.storage_key).where(Export.id == UUID(done["id"])))
    assert key is not None
    path = anyio.Path(app.state.storage.local_path(key))
    assert await path.exists()
    response = await client.delete(f"{EXPORTS}/{done['id']}", headers=desk.owner.headers)
    assert response.status_code == 204, response.text
    assert not await path.exists()
    error_of(await client.get(f"{EXPORTS}/{done['id']}", headers=desk.owner.headers), 404, "EXPORT_NOT_FOUND")
    error_of(await client.get(link_path(done["download_url"])), 404, "EXPORT_NOT_FOUND")


async def test_jobs_are_bounded_per_organization_and_checked_when_asked(
    client: httpx.AsyncClient, app: FastAPI, desk: Desk
) -> None:
    owner = await register(client)
    async with app.state.sessionmaker() as session, session.begin():
        for _ in range(app.state.settings.exports.max_jobs_per_org):
            session.add(
                Export(
                    org_id=owner.org_id,
                    created_by=owner.user_id,
                    source=ExportSource.DOCUMENTS,
                    format=ExportFormat.CSV,
                    filters={},
                    scopes=[],
                    status=ExportStatus.RUNNING,
                    filename="documents.csv",
                    expires_at=service.now() + timedelta(hours=1),
                )
            )
    response = await client.post(EXPORTS, json={"source": "documents"}, headers=owner.headers)
    error_of(response, 429, "TOO_MANY_EXPORT_JOBS")
    assert response.headers["retry-after"]

    viewer = desk.viewer.in_org(desk.owner.org_id)
    error_of(await client.post(EXPORTS, json={"source": "audit"}, headers=viewer), 403, "FORBIDDEN")
    for body in (
        {"source": "cases", "format": "jsonl", "bom": True},
        {"source": "cases", "filters": {"status": ["lost"]}},
        {"source": "cases", "filters": {"customer": "a\x00b"}},
        {"source": "documents", "filters": {"tag": ["x" * 65]}},
        {"source": "audit", "filters": {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}},
        {"source": "search", "filters": {"query": "   "}},
        {"source": "everything"},
    ):
        error_of(await client.post(EXPORTS, json=body, headers=desk.owner.headers), 422, "VALIDATION_ERROR")
    error_of(
        await client.post(
            EXPORTS, json={"source": "cases", "filters": {"view": str(uuid4())}}, headers=desk.owner.headers
        ),
        404,
        "VIEW_NOT_FOUND",
    )


async def test_twenty_requests_at_once_keep_the_limit_and_none_fails(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request locks the organization, counts and stores its export and job with their events; concurrent
    ones queue on that lock instead of deadlocking with each other's events (once a 500)."""
    # The jobs wait until every request has answered: one finished early would free a place under the limit.
    answered, write = asyncio.Event(), WriteExport.__call__

    async def held(self: WriteExport, context: JobContext) -> None:
        await answered.wait()
        await write(self, context)

    monkeypatch.setattr(WriteExport, "__call__", held)
    owner = await register(client)
    limit = app.state.settings.exports.max_jobs_per_org
    responses = await asyncio.gather(
        *(client.post(EXPORTS, json={"source": "documents"}, headers=owner.headers) for _ in range(20))
    )
    answered.set()
    assert sorted(response.status_code for response in responses) == [202] * limit + [429] * (20 - limit)
    for response in responses:
        if response.status_code == 202:
            assert (await finished(client, owner.headers, response.json()["job_id"]))["status"] == "succeeded"


async def test_the_prune_deletes_expired_exports_and_their_files(
    client: httpx.AsyncClient, app: FastAPI, desk: Desk
) -> None:
    done = await exported(client, desk.owner.headers, source="documents", format="csv")
    async with app.state.sessionmaker() as session, session.begin():
        export_row = await session.get_one(Export, UUID(done["id"]))
        path = anyio.Path(app.state.storage.local_path(export_row.storage_key))
        export_row.expires_at = service.now() - timedelta(minutes=1)
        job = Job(
            org_id=None, kind=PRUNE_EXPORTS, max_attempts=1, status=JobStatus.RUNNING, attempts=1, lease_id=uuid4()
        )
        session.add(job)
    await PruneExports(app.state.storage)(JobContext(job, app.state.sessionmaker))
    assert not await path.exists()
    error_of(await client.get(f"{EXPORTS}/{done['id']}", headers=desk.owner.headers), 404, "EXPORT_NOT_FOUND")


async def test_a_failed_job_leaves_no_file_and_a_passing_failure_is_retried(
    client: httpx.AsyncClient, app: FastAPI, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = LocalWriter.write
    partials = anyio.Path(app.state.settings.files_dir) / "tmp"

    async def too_large(self: LocalWriter, chunk: bytes) -> None:
        await written(self, chunk)
        raise FileTooLarge(details={"max_bytes": 1})

    monkeypatch.setattr(LocalWriter, "write", too_large)
    response = await client.post(EXPORTS, json={"source": "cases"}, headers=desk.owner.headers)
    job = await finished(client, desk.owner.headers, response.json()["job_id"])
    assert (job["status"], job["error_code"]) == ("failed", FileTooLarge.code)
    failed = (await client.get(f"{EXPORTS}/{response.json()['id']}", headers=desk.owner.headers)).json()
    assert (failed["status"], failed["error_code"], failed["download_url"]) == ("failed", FileTooLarge.code, None)
    error_of(await client.get(f"{EXPORTS}/{failed['id']}/file", headers=desk.owner.headers), 409, "EXPORT_NOT_READY")
    assert [path async for path in partials.iterdir()] == []

    attempts = []

    async def fails_once(self: LocalWriter, chunk: bytes) -> None:
        attempts.append(chunk)
        if len(attempts) == 1:
            raise ConnectionResetError("the disk went away")
        await written(self, chunk)

    monkeypatch.setattr(LocalWriter, "write", fails_once)
    done = await exported(client, desk.owner.headers, source="cases", format="csv")
    assert done["rows"] == len(desk.cases)
    file = await client.get(f"{EXPORTS}/{done['id']}/file", headers=desk.owner.headers)
    assert len(csv_rows(file.content)) == 1 + len(desk.cases)
    assert [path async for path in partials.iterdir()] == []


async def test_search_and_audit_jobs(client: httpx.AsyncClient, desk: Desk) -> None:
    hits = await exported(
        client,
        desk.owner.headers,
        source="search",
        format="jsonl",
        filters={"query": "south unit", "mode": "keyword", "limit": 5},
    )
    assert (hits["rows"], hits["filters"]) == (1, {"query": "south unit", "mode": "keyword", "limit": 5})
    audit = await exported(
        client, desk.owner.headers, source="audit", format="csv", filters={"action": ["export.created"]}
    )
    file = await client.get(f"{EXPORTS}/{audit['id']}/file", headers=desk.owner.headers)
    header, *rows = csv_rows(file.content)
    assert audit["rows"] == len(rows) > 0
    assert {row[header.index("action")] for row in rows} == {"export.created"}
