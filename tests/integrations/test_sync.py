"""A sync against the fake Notion over real HTTP: the first full sync, a resync that only lists, an edit, a deletion,
an item leaving the scope, rate limits waited out, and refused credentials."""

from __future__ import annotations

import logging
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from folio.integrations.http import REQUEST_SECONDS
from folio.integrations.sources import Sources
from folio.integrations.tasks import SyncIntegration
from folio.jobs.kinds import SYNC_INTEGRATION
from folio.jobs.runner import JobContext
from folio.models import IntegrationSync, Job
from tests.factories import Account, error_of
from tests.integrations.conftest import (
    INTEGRATIONS,
    connect_notion,
    documents_when_ready,
    last_sync,
    sync,
)
from tests.integrations.fakes.notion import TOKEN, FakeNotion, paragraph


def listing_calls(notion: FakeNotion) -> int:
    return sum(1 for call in notion.calls() if call.path in {"/v1/search"} or call.path.endswith("/query"))


def body_calls(notion: FakeNotion) -> int:
    return sum(1 for call in notion.calls() if call.path.startswith("/v1/blocks/"))


async def test_a_first_sync_makes_a_document_of_each_page_linked_to_it(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    ids = notion.seed(3)
    notion.add_page("Ünïcode 你好 🚀", blocks=[paragraph("Grüße aus 東京 — שלום")])

    integration = await connect_notion(api, owner)
    documents = await documents_when_ready(api, owner, 4)
    history = await last_sync(api, owner, integration["id"])

    assert integration["sync_job"]["status"] == "succeeded"
    assert history["status"] == "succeeded"
    assert (history["listed"], history["created"], history["updated"], history["deleted"]) == (4, 4, 0, 0)
    # The listing's page objects are the properties: each page's blocks are the only call per page.
    assert [call.path for call in notion.calls() if call.path.startswith("/v1/pages/")] == []
    assert history["requests"] == 1 + 4
    assert {document["status"] for document in documents} == {"ready"}
    first = next(document for document in documents if document["external_id"] == ids[0])
    assert first["source_type"] == "notion"
    assert first["integration_id"] == integration["id"]
    assert first["title"] == "Page 0"
    assert first["source_url"]
    content = await api.get(f"/api/v1/documents/{first['id']}/content", headers=owner.headers)
    assert "Body of page 0." in content.json()["text"]
    unicode = next(document for document in documents if document["title"].startswith("Ünïcode"))
    text = (await api.get(f"/api/v1/documents/{unicode['id']}/content", headers=owner.headers)).json()["text"]
    assert "Grüße aus 東京 — שלום" in text


def timed_calls() -> float:
    """Calls to Notion that `folio_integration_request_seconds` counted, whatever their outcome."""
    return sum(
        sample.value
        for metric in REQUEST_SECONDS.collect()
        for sample in metric.samples
        if sample.name.endswith("_count") and sample.labels["kind"] == "notion"
    )


async def test_a_resync_with_nothing_changed_only_lists(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    # One page of the listing (the connector's tests page through longer ones, 100 pages a request).
    notion.seed(3)
    integration = await connect_notion(api, owner)
    notion.requests.clear()
    timed = timed_calls()

    history = await sync(api, owner, integration["id"])

    assert (history["created"], history["updated"], history["deleted"], history["failed"]) == (0, 0, 0, 0)
    assert body_calls(notion) == 0
    assert listing_calls(notion) == 1
    assert history["requests"] == 1
    assert timed_calls() - timed == 1


async def test_an_edited_page_is_fetched_and_indexed_again(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    [edited, kept] = notion.seed(2)
    integration = await connect_notion(api, owner)
    before = {document["external_id"]: document for document in await documents_when_ready(api, owner, 2)}
    notion.edit_page(edited, title="Renamed", blocks=[paragraph("The new text of the page.")])
    notion.requests.clear()

    history = await sync(api, owner, integration["id"])
    after = {document["external_id"]: document for document in await documents_when_ready(api, owner, 2)}

    assert (history["created"], history["updated"], history["deleted"]) == (0, 1, 0)
    assert body_calls(notion) >= 1
    assert after[edited]["id"] == before[edited]["id"]
    assert after[edited]["title"] == "Renamed"
    assert after[edited]["version"] == before[edited]["version"] + 1
    assert after[kept]["version"] == before[kept]["version"]
    text = (await api.get(f"/api/v1/documents/{after[edited]['id']}/content", headers=owner.headers)).json()["text"]
    assert "The new text of the page." in text
    found = await api.post("/api/v1/search", json={"query": "new text of the page"}, headers=owner.headers)
    assert found.json()["items"][0]["document_id"] == after[edited]["id"]
    assert found.json()["items"][0]["source_url"] == after[edited]["source_url"]
    answer = await api.post(
        "/api/v1/answers", json={"question": "What is the new text of the page?"}, headers=owner.headers
    )
    citation = answer.json()["citations"][0]
    assert (citation["document_id"], citation["source_url"]) == (after[edited]["id"], after[edited]["source_url"])


async def test_a_page_deleted_at_the_source_is_deleted_here(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    [deleted, kept] = notion.seed(2)
    integration = await connect_notion(api, owner)
    await documents_when_ready(api, owner, 2)
    notion.delete_page(deleted)

    history = await sync(api, owner, integration["id"])
    remaining = await documents_when_ready(api, owner, 1)

    assert (history["created"], history["updated"], history["deleted"]) == (0, 0, 1)
    assert [document["external_id"] for document in remaining] == [kept]


async def test_a_page_moved_out_of_the_scope_is_deleted_here(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    root = notion.add_page("Handbook")
    inside = notion.add_page("Inside", parent=root, blocks=[paragraph("Stays.")])
    leaving = notion.add_page("Leaving", parent=root, blocks=[paragraph("Goes.")])
    notion.add_page("Elsewhere", blocks=[paragraph("Never in scope.")])
    integration = await connect_notion(api, owner, config={"page_ids": [root]})
    synced = {document["external_id"] for document in await documents_when_ready(api, owner, 3)}
    notion.move_page(leaving)

    history = await sync(api, owner, integration["id"])
    remaining = {document["external_id"] for document in await documents_when_ready(api, owner, 2)}

    assert synced == {root, inside, leaving}
    assert history["deleted"] == 1
    assert remaining == {root, inside}


async def test_rate_limits_are_waited_out(api: httpx.AsyncClient, notion: FakeNotion, owner: Account) -> None:
    notion.seed(3)
    notion.rate_limit_next(2, retry_after=1)

    integration = await connect_notion(api, owner)
    history = await last_sync(api, owner, integration["id"])

    assert integration["sync_job"]["status"] == "succeeded"
    assert history["created"] == 3
    assert [call.path for call in notion.calls()][:3] == ["/v1/search"] * 3


async def test_a_retry_after_longer_than_the_server_waits_fails_the_sync_and_keeps_everything(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account
) -> None:
    notion.seed(2)
    integration = await connect_notion(api, owner)
    await documents_when_ready(api, owner, 2)
    notion.rate_limit_next(1000, retry_after=3600)

    history = await sync(api, owner, integration["id"])
    listed = await api.get(f"{INTEGRATIONS}/{integration['id']}", headers=owner.headers)

    assert history["status"] == "failed"
    assert history["error_code"] == "INTEGRATION_SOURCE_UNAVAILABLE"
    assert listed.json()["status"] == "failing"
    assert len(await documents_when_ready(api, owner, 2)) == 2


async def test_refused_credentials_stop_the_integration_and_tell_its_admins(
    api: httpx.AsyncClient, notion: FakeNotion, owner: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    notion.seed(2)
    with capture_logs() as logs:
        integration = await connect_notion(api, owner)
        await documents_when_ready(api, owner, 2)
        notion.revoke()
        history = await sync(api, owner, integration["id"])
        answers: list[httpx.Response] = [
            await api.get(f"{INTEGRATIONS}/{integration['id']}", headers=owner.headers),
            await api.post(f"{INTEGRATIONS}/{integration['id']}/sync", headers=owner.headers),
            await api.post(f"{INTEGRATIONS}/{integration['id']}/test", headers=owner.headers),
            await api.get(f"{INTEGRATIONS}/{integration['id']}/syncs", headers=owner.headers),
            await api.get("/api/v1/inbox", headers=owner.headers),
            await api.get("/api/v1/feed", headers=owner.headers),
        ]

    assert history["status"] == "failed"
    assert history["error_code"] == "INTEGRATION_CREDENTIALS_REJECTED"
    assert answers[0].json()["status"] == "needs_reauth"
    error_of(answers[1], 409, "INTEGRATION_NEEDS_REAUTH")
    assert answers[2].json() == {
        "ok": False,
        "reached": None,
        "code": "INTEGRATION_CREDENTIALS_REJECTED",
        "message": answers[2].json()["message"],
    }
    titles = [item["title"] for item in answers[4].json()["items"]]
    assert "The integration Notion needs new credentials" in titles
    lines = [item["line"] for item in answers[5].json()["items"]]
    assert any(line.startswith("Notion needs new credentials") for line in lines)
    assert len(await documents_when_ready(api, owner, 2)) == 2
    for text in [*(answer.text for answer in answers), *(str(event) for event in logs), caplog.text]:
        assert TOKEN not in text


async def test_a_sync_whose_workers_kept_dying_is_recorded_as_failed(
    api: httpx.AsyncClient, synced_app: tuple[FastAPI, httpx.AsyncClient], owner: Account
) -> None:
    created = await api.post(
        INTEGRATIONS,
        json={"kind": "notion", "name": "Notion", "credentials": {"token": TOKEN}, "sync_now": False},
        headers=owner.headers,
    )
    integration_id = UUID(created.json()["id"])
    app = synced_app[0]
    async with app.state.sessionmaker() as session, session.begin():
        job = Job(org_id=owner.org_id, kind=SYNC_INTEGRATION, subject_id=integration_id, max_attempts=1)
        session.add(job)
        await session.flush()
        session.add(IntegrationSync(org_id=owner.org_id, integration_id=integration_id, job_id=job.id))

    handler = SyncIntegration(Sources(app.state.settings), app.state.storage, app.state.settings)
    await handler.on_lost(JobContext(job, app.state.sessionmaker))

    history = await last_sync(api, owner, str(integration_id))
    integration = (await api.get(f"{INTEGRATIONS}/{integration_id}", headers=owner.headers)).json()
    assert (history["status"], history["error_code"]) == ("failed", "WORKER_LOST")
    assert integration["status"] == "failing"
