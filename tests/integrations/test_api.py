"""The integrations API at its boundary: who may use it, what it refuses, and that credentials never come back."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from folio.db import create_sessionmaker
from folio.integrations.service import Limits, schedule_due
from folio.jobs.kinds import SYNC_INTEGRATION
from folio.models import Integration, IntegrationStatus, Job
from tests.factories import error_of, org_with, register

INTEGRATIONS = "/api/v1/integrations"
SECRET = "ntn_s3cr3t-never-shown-4Zq9"
NOTION: dict[str, Any] = {
    "kind": "notion",
    "name": "Notion",
    "credentials": {"token": SECRET},
    "sync_now": False,
}


async def create(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> httpx.Response:
    return await client.post(INTEGRATIONS, json={**NOTION, **fields}, headers=headers)


async def test_an_admin_connects_a_source_and_its_credentials_never_come_back(client: httpx.AsyncClient) -> None:
    owner = await register(client)

    created = await create(client, owner.headers, sync_interval_minutes=60)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "notion"
    assert body["has_credentials"] is True
    assert body["status"] == "active"
    assert body["sync_job_id"] is None
    assert body["next_sync_at"] is not None
    assert "credentials" not in body
    listed = await client.get(INTEGRATIONS, headers=owner.headers)
    fetched = await client.get(f"{INTEGRATIONS}/{body['id']}", headers=owner.headers)
    for response in (created, listed, fetched):
        assert SECRET not in response.text
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]


async def test_the_credentials_are_stored_encrypted(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await register(client)
    created = await create(client, owner.headers)

    async with app.state.sessionmaker() as session:
        stored = await session.scalar(select(Integration.credentials_encrypted))

    assert created.status_code == 201
    assert stored is not None
    assert SECRET not in stored


@pytest.mark.parametrize("role", ["editor", "viewer"])
async def test_members_below_admin_may_not_manage_integrations(client: httpx.AsyncClient, role: str) -> None:
    owner, [member] = await org_with(client, role)
    created = await create(client, owner.headers)

    error_of(await create(client, member.in_org(owner.org_id), name="Mine"), 403, "FORBIDDEN")
    error_of(await client.get(INTEGRATIONS, headers=member.in_org(owner.org_id)), 403, "FORBIDDEN")
    sync = await client.post(f"{INTEGRATIONS}/{created.json()['id']}/sync", headers=member.in_org(owner.org_id))
    error_of(sync, 403, "FORBIDDEN")


async def test_another_organizations_integration_is_not_found(client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client), await register(client)
    integration_id = (await create(client, owner.headers)).json()["id"]

    for method, path in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/test"),
        ("POST", "/sync"),
        ("GET", "/syncs"),
    ]:
        response = await client.request(
            method,
            f"{INTEGRATIONS}/{integration_id}{path}",
            headers=stranger.headers,
            json={} if method == "PATCH" else None,
        )
        error_of(response, 404, "INTEGRATION_NOT_FOUND")
    still = await client.get(f"{INTEGRATIONS}/{integration_id}", headers=owner.headers)
    assert still.status_code == 200


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"credentials": {}}, "credentials"),
        ({"credentials": {"token": SECRET, "ntn_pasted_as_a_key": "x"}}, "credentials.<unknown key>"),
        ({"config": {"database_ids": ["not-an-id"]}}, "config.database_ids.0"),
        ({"config": {"unknown": 1}}, "config.unknown"),
        ({"sync_interval_minutes": 1}, "sync_interval_minutes"),
    ],
)
async def test_a_configuration_that_does_not_fit_its_kind_is_refused_by_field(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str
) -> None:
    owner = await register(client)

    error = error_of(await create(client, owner.headers, **fields), 422, "INTEGRATION_CONFIG_INVALID")

    assert field in [each["field"] for each in error["details"]["errors"]]
    assert SECRET not in str(error)
    assert "ntn_pasted_as_a_key" not in str(error)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "a\x00b"},
        {"name": "x" * 201},
        {"kind": "dropbox"},
        {"sync_interval_minutes": 10_081},
    ],
)
async def test_malformed_requests_are_validation_errors(client: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    owner = await register(client)

    error_of(await create(client, owner.headers, **fields), 422, "VALIDATION_ERROR")


async def test_names_are_unique_in_an_organization(client: httpx.AsyncClient) -> None:
    owner, other = await register(client), await register(client)
    assert (await create(client, owner.headers)).status_code == 201

    error_of(await create(client, owner.headers), 409, "INTEGRATION_NAME_TAKEN")
    assert (await create(client, other.headers)).status_code == 201


async def test_an_organization_has_at_most_the_servers_number_of_integrations(
    app_factory: Any,
) -> None:
    async with app_factory(integrations={"max_per_org": 2}) as client:
        owner = await register(client)
        for number in range(2):
            assert (await create(client, owner.headers, name=f"n{number}")).status_code == 201

        error = error_of(await create(client, owner.headers, name="third"), 409, "TOO_MANY_INTEGRATIONS")

    assert error["details"]["max"] == 2


async def test_the_plans_integrations_are_enforced_and_counted(app_factory: Any) -> None:
    plans = {"enforce": True, "default": "free", "limits": {"free": {"integrations": 1}}}
    async with app_factory(plans=plans) as client:
        owner = await register(client)
        assert (await create(client, owner.headers)).status_code == 201

        error = error_of(await create(client, owner.headers, name="second"), 402, "PLAN_LIMIT_REACHED")
        plan = await client.get("/api/v1/plan", headers=owner.headers)

    assert error["details"]["limit"] == "integrations"
    assert error["details"]["allowed"] == 1
    assert plan.json()["integrations"]["used"] == 1


async def test_new_credentials_make_a_needs_reauth_integration_active(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await register(client)
    integration_id = (await create(client, owner.headers)).json()["id"]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Integration).values(status=IntegrationStatus.NEEDS_REAUTH, status_message="refused")
        )

    refused = await client.post(f"{INTEGRATIONS}/{integration_id}/sync", headers=owner.headers)
    changed = await client.patch(
        f"{INTEGRATIONS}/{integration_id}", json={"credentials": {"token": "ntn_new"}}, headers=owner.headers
    )

    error_of(refused, 409, "INTEGRATION_NEEDS_REAUTH")
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "active"
    assert changed.json()["status_message"] is None


async def test_a_second_sync_while_one_is_queued_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await register(client)
    integration_id = (await create(client, owner.headers, enabled=True)).json()["id"]
    async with app.state.sessionmaker() as session, session.begin():
        session.add(Job(org_id=owner.org_id, kind=SYNC_INTEGRATION, subject_id=integration_id, max_attempts=1))

    error = error_of(
        await client.post(f"{INTEGRATIONS}/{integration_id}/sync", headers=owner.headers),
        409,
        "INTEGRATION_SYNC_IN_PROGRESS",
    )

    assert error["details"]["job_id"]


async def test_the_scheduler_starts_due_syncs_once_and_moves_them_on(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await register(client)
    due = (await create(client, owner.headers, name="due", sync_interval_minutes=60)).json()["id"]
    await create(client, owner.headers, name="manual")
    await create(client, owner.headers, name="off", sync_interval_minutes=60, enabled=False)
    settings = app.state.settings
    limits = Limits(settings.integrations, settings.plans, 1)
    # A sessionmaker without the app's job queue: the jobs are stored, not run.
    async with create_sessionmaker(app.state.engine)() as session, session.begin():
        later = await session.scalar(select(Integration.next_sync_at).where(Integration.name == "due"))
        assert later is not None
        started = await schedule_due(session, limits=limits, moment=later)
        again = await schedule_due(session, limits=limits, moment=later)
        jobs = (await session.scalars(select(Job).where(Job.kind == SYNC_INTEGRATION))).all()
        moved = await session.scalar(select(Integration.next_sync_at).where(Integration.name == "due"))

    assert (started, again) == (1, 0)
    assert [str(job.subject_id) for job in jobs] == [due]
    assert moved is not None
    assert (moved - later).total_seconds() == 3600


async def test_removing_an_integration_keeps_nothing_of_it_but_its_documents(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    integration_id = (await create(client, owner.headers)).json()["id"]

    deleted = await client.delete(f"{INTEGRATIONS}/{integration_id}", headers=owner.headers)

    assert deleted.status_code == 204
    error_of(await client.get(f"{INTEGRATIONS}/{integration_id}", headers=owner.headers), 404, "INTEGRATION_NOT_FOUND")
    error_of(await client.get(f"{INTEGRATIONS}/{uuid4()}", headers=owner.headers), 404, "INTEGRATION_NOT_FOUND")
