"""When an organization's default enrichment schema changes, a job takes its cases' labels again from the new
default's enrichments (clearing those it has not enriched), a batch per transaction, not the request itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from folio.auth.principal import Principal
from folio.enrichment import service, tasks
from folio.models import Enrichment, EnrichmentStatus, Job, Record, Role
from tests.analytics.conftest import Case, insert_cases
from tests.enrichment.conftest import SCHEMAS, create_schema
from tests.exports.conftest import enrich
from tests.factories import Account, register

MOOD: dict[str, Any] = {
    "type": "object",
    "required": ["sentiment", "category"],
    "properties": {
        "sentiment": {"type": "string", "enum": ["positive", "negative"]},
        "category": {"type": "string", "enum": ["praise", "complaint"]},
    },
}


async def labels(app: FastAPI, ids: list[UUID]) -> list[tuple[str | None, str | None]]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(Record.document_id, Record.sentiment, Record.category).where(Record.document_id.in_(ids))
        )
        found = {row.document_id: (row.sentiment, row.category) for row in rows}
    return [found[case_id] for case_id in ids]


async def relabelled(client: httpx.AsyncClient, account: Account, count: int) -> None:
    """Wait until the organization has `count` relabelling jobs, all succeeded."""
    async with asyncio.timeout(30):
        while True:
            response = await client.get(
                "/api/v1/jobs", params={"kind": "enrichment.relabel_cases"}, headers=account.headers
            )
            jobs = response.json()["items"]
            if len(jobs) == count and all(job["status"] in {"succeeded", "failed"} for job in jobs):
                assert all(job["status"] == "succeeded" for job in jobs), jobs
                return
            await asyncio.sleep(0.05)


async def test_a_new_default_schema_relabels_every_case_in_batches(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "RELABEL_BATCH", 2)
    account, other = await register(client), await register(client)
    now = datetime.now(UTC)
    ids = await insert_cases(app, account.org_id, [Case(now, sentiment="negative", category="billing")] * 3)
    [theirs] = await insert_cases(app, other.org_id, [Case(now, sentiment="negative", category="billing")])
    for case_id in ids:
        await enrich(app, account.org_id, str(case_id))

    mood = await create_schema(client, account, MOOD, "Mood", is_default=True)
    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            Enrichment(
                org_id=account.org_id,
                document_id=ids[0],
                schema_id=UUID(mood["id"]),
                status=EnrichmentStatus.ENRICHED,
                data={"sentiment": "positive", "category": "praise"},
                confidence=0.9,
                model="folio-offline",
            )
        )
    await relabelled(client, account, 1)
    # Cases the new default has not enriched have no labels until it does.
    assert await labels(app, ids) == [("positive", "praise"), (None, None), (None, None)]

    cleared = await client.patch(f"{SCHEMAS}/{mood['id']}", json={"is_default": False}, headers=account.headers)
    assert cleared.status_code == 200, cleared.text
    await relabelled(client, account, 2)
    # Back to the built-in triage schema's labels.
    assert await labels(app, ids) == [("negative", "billing")] * 3
    # Another organization's cases are not touched.
    assert await labels(app, [theirs]) == [("negative", "billing")]


async def test_changes_in_a_row_queue_one_relabelling(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    principal = Principal.for_member(org_id=account.org_id, user_id=account.user_id, role=Role.OWNER)
    async with app.state.sessionmaker() as session, session.begin():
        mood = await service.create_schema(
            session, principal=principal, name="Mood", description="", json_schema=MOOD, is_default=True, max_attempts=1
        )
        for is_default in (False, True, False):
            await service.update_schema(
                session, principal=principal, schema_id=mood.id, changes={"is_default": is_default}, max_attempts=1
            )
        kinds = list(await session.scalars(select(Job.kind).where(Job.org_id == account.org_id)))
    assert kinds.count("enrichment.relabel_cases") == 1
