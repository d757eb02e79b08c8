"""Publishing a summary back to the page its document was synced from: written once, recorded with its link, and
never twice (asked again, or retried after the write reached the source but its record did not)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import delete

from folio.models import SummaryPublication
from tests.factories import Account, add_member, error_of, register, wait_until_finished
from tests.integrations.conftest import INTEGRATIONS, connect_notion, documents_when_ready
from tests.integrations.fakes.notion import FakeNotion, paragraph

TEXT = "Invoices are paid within thirty days. Late invoices accrue interest. Disputes go to the finance team first."


async def summary_of(api: httpx.AsyncClient, owner: Account, document_id: str) -> dict[str, Any]:
    created = await api.post(f"/api/v1/documents/{document_id}/summaries", json={}, headers=owner.headers)
    assert created.status_code == 202, created.text
    await wait_until_finished(api, owner, UUID(created.json()["job_id"]), seconds=60)
    summary: dict[str, Any] = (await api.get(f"/api/v1/summaries/{created.json()['id']}", headers=owner.headers)).json()
    assert summary["status"] == "ready", summary
    return summary


async def publish(
    api: httpx.AsyncClient, account: Account, integration_id: str, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return await api.post(f"{INTEGRATIONS}/{integration_id}/publish", json=body, headers=headers or account.headers)


async def published(api: httpx.AsyncClient, owner: Account, integration_id: str, **body: Any) -> dict[str, Any]:
    started = await publish(api, owner, integration_id, **body)
    assert started.status_code == 202, started.text
    job = await wait_until_finished(api, owner, UUID(started.json()["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    return job


def appends(notion: FakeNotion) -> int:
    return sum(1 for call in notion.calls() if call.method == "PATCH")


async def synced_summary(api: httpx.AsyncClient, notion: FakeNotion, owner: Account) -> tuple[str, str, dict[str, Any]]:
    page = notion.add_page("Payment terms", blocks=[paragraph(TEXT)])
    integration = await connect_notion(api, owner)
    [document] = await documents_when_ready(api, owner, 1)
    return integration["id"], page, await summary_of(api, owner, document["id"])


async def test_a_summary_is_written_to_its_page_once_and_linked(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    integration_id, page, summary = await synced_summary(api, notion, owner)

    await published(api, owner, integration_id, summary_id=summary["id"])
    await published(api, owner, integration_id, summary_id=summary["id"])
    listed = await api.get(
        f"{INTEGRATIONS}/{integration_id}/publications", params={"summary_id": summary["id"]}, headers=owner.headers
    )

    assert appends(notion) == 1
    [publication] = listed.json()
    assert publication["target_id"] == page
    assert publication["url"].startswith("https://www.notion.so/")
    written = [notion.blocks[child] for child in notion.children[page]]
    assert any(summary["id"] in str(block) for block in written)


async def test_a_retried_publication_finds_what_it_wrote(
    api: httpx.AsyncClient, synced_app: tuple[FastAPI, httpx.AsyncClient], notion: FakeNotion, owner: Account
) -> None:
    integration_id, _, summary = await synced_summary(api, notion, owner)
    await published(api, owner, integration_id, summary_id=summary["id"])
    # As if the write had reached Notion and the attempt died before recording it.
    async with synced_app[0].state.sessionmaker() as session, session.begin():
        await session.execute(delete(SummaryPublication))

    await published(api, owner, integration_id, summary_id=summary["id"])

    assert appends(notion) == 1
    listed = await api.get(f"{INTEGRATIONS}/{integration_id}/publications", headers=owner.headers)
    assert len(listed.json()) == 1


async def test_what_cannot_be_published_is_refused(api: httpx.AsyncClient, notion: FakeNotion, owner: Account) -> None:
    integration_id, _, summary = await synced_summary(api, notion, owner)
    upload = await api.post(
        "/api/v1/documents", files={"files": ("notes.txt", TEXT.encode(), "text/plain")}, headers=owner.headers
    )
    await wait_until_finished(api, owner, UUID(upload.json()["items"][0]["job_id"]), seconds=60)
    other = await summary_of(api, owner, upload.json()["items"][0]["document"]["id"])
    viewer = await register(api)
    await add_member(api, owner, viewer, "viewer")
    stranger = await register(api)

    no_target = await publish(api, owner, integration_id, summary_id=other["id"])
    forbidden = await publish(
        api, viewer, integration_id, headers=viewer.in_org(owner.org_id), summary_id=summary["id"]
    )
    foreign = await publish(api, stranger, integration_id, summary_id=summary["id"])

    assert error_of(no_target, 409, "INTEGRATION_CANNOT_PUBLISH")["details"]["reason"] == "no_target"
    error_of(forbidden, 403, "FORBIDDEN")
    error_of(foreign, 404, "SUMMARY_NOT_FOUND")
    assert appends(notion) == 0
