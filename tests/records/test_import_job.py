"""The import job when things go wrong: an attempt that fails part-way, and two batches of one organization at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

import httpx
import pytest

from folio.records import tasks
from folio.records.importer import Written, write_block
from tests.apps import serve
from tests.factories import Account, register, wait_until_finished
from tests.records.conftest import BATCHES, all_records, csv_bytes, texts_by_id

MAPPING = {"text": "text", "external_id": "id"}


@pytest.fixture
async def client(own_database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Two rows a transaction, so that a small file is many blocks; quick retries."""
    async with serve(own_database_url, records={"import_rows": 2}) as (_, client):
        yield client


async def upload(client: httpx.AsyncClient, account: Account, content: bytes) -> dict[str, Any]:
    response = await client.post(
        BATCHES,
        files={"file": ("cases.csv", content, "text/csv")},
        data={"mapping": json.dumps(MAPPING), "enrich": "false"},
        headers=account.headers,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def finished(client: httpx.AsyncClient, account: Account, batch: dict[str, Any]) -> dict[str, Any]:
    job = await wait_until_finished(client, account, UUID(batch["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    detail = await client.get(f"{BATCHES}/{batch['id']}", params={"errors_limit": 100}, headers=account.headers)
    body: dict[str, Any] = {**detail.json(), "attempts": job["attempts"]}
    return body


async def test_a_retried_import_resumes_after_the_rows_it_had_written(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    async def fails_once_on_the_third_block(*args: Any, **kwargs: Any) -> Written:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the database went away")
        return await write_block(*args, **kwargs)

    monkeypatch.setattr(tasks, "write_block", fails_once_on_the_third_block)
    account = await register(client)
    # Rows without an external id would be added twice by a retry that read the file from the start.
    rows = [",First", ",Second", "k3,", ",Fourth", "k5,Fifth", ",Sixth", ",Seventh"]
    batch = await finished(client, account, await upload(client, account, csv_bytes("id,text", *rows)))

    assert batch["attempts"] == 2
    counts = [batch[name] for name in ("rows_read", "rows_created", "rows_failed")]
    assert counts == [7, 6, 1]
    assert [(error["line"], error["code"]) for error in batch["errors"]["items"]] == [(4, "MISSING_TEXT")]
    records = await all_records(client, account.headers)
    assert sorted(record["text"] for record in records) == sorted(
        ["First", "Second", "Fourth", "Fifth", "Sixth", "Seventh"]
    )


async def test_two_batches_with_the_same_external_ids_at_once_make_one_record_each(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    ids = [f"c{number}" for number in range(12)]

    def version(label: str) -> bytes:
        return csv_bytes("id,text", *(f"{key},{label} message {key}" for key in ids))

    uploads: Sequence[dict[str, Any]] = await asyncio.gather(
        upload(client, account, version("Early")), upload(client, account, version("Late"))
    )
    batches = [await finished(client, account, batch) for batch in uploads]

    assert sum(batch["rows_created"] for batch in batches) == len(ids)
    assert sum(batch["rows_created"] + batch["rows_updated"] for batch in batches) == 2 * len(ids)
    texts = texts_by_id(await all_records(client, account.headers))
    assert set(texts) == set(ids)
    assert all(text in {f"Early message {key}", f"Late message {key}"} for key, text in texts.items())
    searched = await client.post(
        "/api/v1/search", json={"query": "message", "mode": "keyword", "top_k": 50}, headers=account.headers
    )
    assert searched.status_code == 200, searched.text
    # Every record is searchable once, with its stored text.
    hits = {(item["document_id"], item["text"]) for item in searched.json()["items"]}
    assert len(hits) == len(ids)
