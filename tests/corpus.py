"""A corpus ingested once for a whole test module: the real pipeline (extraction, chunking, the real embedding
model) is too slow to repeat per test, so such modules keep their tables until the module ends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx

from tests.factories import Account, wait_until_finished


@dataclass(frozen=True)
class Doc:
    filename: str
    text: str
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


async def ingest(
    client: httpx.AsyncClient, account: Account, documents: Mapping[str, Doc]
) -> tuple[dict[str, UUID], dict[str, datetime]]:
    """Upload each document and wait until it is ready: its id and the time just before its upload, by name."""
    ids: dict[str, UUID] = {}
    uploaded_at: dict[str, datetime] = {}
    for name, document in documents.items():
        uploaded_at[name] = datetime.now(UTC)
        response = await client.post(
            "/api/v1/documents",
            files=[("files", (document.filename, document.text.encode(), "text/plain"))],
            data={"tags": json.dumps(document.tags), "metadata": json.dumps(document.metadata)},
            headers=account.headers,
        )
        assert response.status_code == 202, response.text
        item = response.json()["items"][0]
        ids[name] = UUID(item["document"]["id"])
        job = await wait_until_finished(client, account, UUID(item["job_id"]), seconds=90)
        assert job["status"] == "succeeded", job
    return ids, uploaded_at
