"""What the enrichment API tests share: an app with quick job retries on a database of the module's own (so that
the session app's reaper never runs these jobs' retries with its settings: `tests.apps.serve`), records made by a
batch upload, and enrichment requests followed to the end of their job."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import httpx

from tests.factories import Account, wait_until_finished

SCHEMAS = "/api/v1/enrichment/schemas"
RECORDS = "/api/v1/cases"
TRIAGE_ID = UUID("00000000-0000-0000-0000-000000000101")
JOB_SECONDS = 60


def csv_of(rows: Sequence[Mapping[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def upload_records(
    client: httpx.AsyncClient,
    account: Account,
    rows: Sequence[Mapping[str, str]],
    *,
    enrich: bool,
    schema_id: UUID | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Upload `rows` (columns `ticket`, `message`, `channel`) and wait for the batch: the batch and its records,
    by ticket."""
    fields = {
        "mapping": json.dumps({"external_id": "ticket", "text": "message", "channel": "channel"}),
        "enrich": "true" if enrich else "false",
    }
    if schema_id is not None:
        fields["schema_id"] = str(schema_id)
    response = await client.post(
        f"{RECORDS}/batches",
        files={"file": ("cases.csv", csv_of(rows), "text/csv")},
        data=fields,
        headers=account.headers,
    )
    assert response.status_code == 202, response.text
    batch = response.json()
    job = await wait_until_finished(client, account, UUID(batch["job_id"]), seconds=JOB_SECONDS)
    assert job["status"] == "succeeded", job
    detail = await client.get(f"{RECORDS}/batches/{batch['id']}", headers=account.headers)
    listed = await client.get(RECORDS, params={"batch_id": batch["id"]}, headers=account.headers)
    assert listed.status_code == 200, listed.text
    records = {record["external_id"]: record for record in listed.json()["items"]}
    assert len(records) == len(rows)
    return detail.json(), records


async def request_enrichment(
    client: httpx.AsyncClient, account: Account, document_id: UUID | str, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"/api/v1/documents/{document_id}/enrich", json=body, headers=account.headers)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def enrichments_of(client: httpx.AsyncClient, account: Account, document_id: UUID | str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/documents/{document_id}/enrichments", headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def enrichment_of(
    client: httpx.AsyncClient, account: Account, document_id: UUID | str, schema_id: UUID | str = TRIAGE_ID
) -> dict[str, Any]:
    [enrichment] = [
        item for item in await enrichments_of(client, account, document_id) if item["schema_id"] == str(schema_id)
    ]
    return enrichment


async def enrich(
    client: httpx.AsyncClient, account: Account, document_id: UUID | str, **body: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Request an enrichment and wait for its job: the job, and the enrichment as it is then."""
    requested = await request_enrichment(client, account, document_id, **body)
    job = await wait_until_finished(client, account, UUID(requested["job_id"]), seconds=JOB_SECONDS)
    return job, await enrichment_of(client, account, document_id, requested["schema_id"])


async def create_schema(
    client: httpx.AsyncClient, account: Account, json_schema: dict[str, Any], name: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        SCHEMAS, json={"name": name, "json_schema": json_schema, **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def schema_of(client: httpx.AsyncClient, account: Account, schema_id: UUID | str) -> dict[str, Any]:
    response = await client.get(f"{SCHEMAS}/{schema_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    json_schema: dict[str, Any] = response.json()["json_schema"]
    return json_schema
