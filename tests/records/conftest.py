"""Helpers for the record-batch API tests: upload a file with a mapping, wait for its import, read records back."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import httpx

from tests.factories import Account, wait_until_finished

BATCHES = "/api/v1/cases/batches"
RECORDS = "/api/v1/cases"


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    mapping: dict[str, str] | None,
    *,
    name: str = "batch.csv",
    **fields: str,
) -> httpx.Response:
    """POST one file with its form fields; `mapping=None` leaves the field out."""
    data = dict(fields)
    if mapping is not None:
        data["mapping"] = json.dumps(mapping)
    return await client.post(BATCHES, files={"file": (name, content, "text/csv")}, data=data, headers=headers)


async def import_batch(
    client: httpx.AsyncClient,
    account: Account,
    content: bytes,
    mapping: dict[str, str],
    *,
    name: str = "batch.csv",
    headers: dict[str, str] | None = None,
    **fields: str,
) -> dict[str, Any]:
    """Upload, wait for the import job to succeed, and return the batch as GET shows it (with its first errors)."""
    response = await upload(client, headers or account.headers, content, mapping, name=name, **fields)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "pending", accepted
    job = await wait_until_finished(client, account, UUID(accepted["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    batch = await client.get(f"{BATCHES}/{accepted['id']}", params={"errors_limit": 100}, headers=account.headers)
    assert batch.status_code == 200, batch.text
    body: dict[str, Any] = batch.json()
    assert body["status"] == "succeeded", body
    return body


async def all_records(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every record the filters match, following `next_cursor` (pages of the default size unless `limit` is given)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_params = params | ({"cursor": cursor} if cursor else {})
        response = await client.get(RECORDS, params=page_params, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def texts_by_id(records: list[dict[str, Any]]) -> dict[str | None, str]:
    return {record["external_id"]: record["text"] for record in records}


def errors_of(batch: dict[str, Any]) -> list[tuple[int, str]]:
    """(line, code) of each row error on the batch's first page of errors."""
    return [(error["line"], error["code"]) for error in batch["errors"]["items"]]


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()
