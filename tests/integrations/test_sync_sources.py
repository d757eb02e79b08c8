"""Syncs of Confluence (an API token on a site of its own), Guru and a web site, through the API and the job runner,
against their stand-ins over real HTTP: the first sync, a resync with nothing changed, an edit, a deletion, a
Confluence attachment, and a crawl that keeps to robots.txt and its own host."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from reportlab.pdfgen import canvas

from tests.apps import serve
from tests.factories import Account, wait_until_finished
from tests.integrations.conftest import INTEGRATIONS, documents_when_ready, last_sync, sync
from tests.integrations.fakes.confluence import API_TOKEN, EMAIL, FakeConfluence, FakePage
from tests.integrations.fakes.guru import USER_EMAIL, USER_TOKEN, FakeGuru
from tests.integrations.web.site import FakeSite, Page, html, lm
from tests.live_server import serve_in_thread

# The site's off-site link is the same server named `localhost`: reachable, so only the crawl's scope keeps it out.
OUTBOUND = {"allow_private": True, "allow_hosts": ["127.0.0.1", "localhost"]}
CONFLUENCE_LISTINGS = frozenset({"/wiki/api/v2/spaces", "/wiki/api/v2/pages", "/wiki/api/v2/attachments"})


@pytest.fixture(scope="module")
def guru_server() -> Iterator[tuple[FakeGuru, str]]:
    fake = FakeGuru()
    fake.reset()
    with serve_in_thread(fake.app(), lifespan="off") as url:
        yield fake, url


@pytest.fixture
def guru(guru_server: tuple[FakeGuru, str]) -> FakeGuru:
    guru_server[0].reset()
    return guru_server[0]


@pytest.fixture(scope="module")
def site_server() -> Iterator[FakeSite]:
    site = FakeSite()
    with serve_in_thread(site.app(), lifespan="off") as url:
        site.base_url = url
        yield site


@pytest.fixture
def site(site_server: FakeSite) -> FakeSite:
    """A handbook of four pages, a private page robots.txt keeps FolioBot from, and a link off the site."""
    site_server.reset()
    site_server.pages = {
        "/": Page(html("Handbook", "/policies", "/rota.txt", "/gone-soon", "/private/salaries", site_server.offsite)),
        "/policies": Page(html("Policies", text="Expenses are filed every month."), etag='"policies-1"'),
        "/rota.txt": Page(b"Rota: Ada on Mondays, Grace on Tuesdays.", "text/plain", last_modified=lm(1)),
        "/gone-soon": Page(html("Gone soon", text="This page is about to go."), etag='"gone-1"'),
        "/private/salaries": Page(html("Salaries", text="Nobody outside may read this."), etag='"private"'),
        "/offsite": Page(html("Another site"), etag='"offsite"'),
    }
    return site_server


@pytest.fixture(scope="module")
async def sources_app(
    separate_database_url: str, confluence_server: FakeConfluence, guru_server: tuple[FakeGuru, str]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with serve(
        separate_database_url,
        outbound=OUTBOUND,
        integrations={
            "atlassian_api_url": confluence_server.base_url,
            "guru_api_url": guru_server[1],
            "max_retry_after_seconds": 5,
        },
    ) as served:
        yield served


@pytest.fixture
def api(sources_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return sources_app[1]


def pdf(*lines: str) -> bytes:
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    for number, line in enumerate(lines):
        document.drawString(72, 720 - 20 * number, line)
    document.showPage()
    document.save()
    return buffer.getvalue()


async def connect(api: httpx.AsyncClient, owner: Account, kind: str, **fields: Any) -> dict[str, Any]:
    """An integration whose first sync has finished; its body and its first sync's history entry."""
    response = await api.post(INTEGRATIONS, json={"kind": kind, "name": kind, **fields}, headers=owner.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    job = await wait_until_finished(api, owner, UUID(body["sync_job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    body["first_sync"] = await last_sync(api, owner, body["id"])
    return body


async def text_of(api: httpx.AsyncClient, owner: Account, document: dict[str, Any]) -> str:
    response = await api.get(f"/api/v1/documents/{document['id']}/content", headers=owner.headers)
    assert response.status_code == 200, response.text
    text: str = response.json()["text"]
    return text


async def best_match(api: httpx.AsyncClient, owner: Account, query: str) -> str:
    found = await api.post("/api/v1/search", json={"query": query}, headers=owner.headers)
    assert found.status_code == 200, found.text
    document_id: str = found.json()["items"][0]["document_id"]
    return document_id


def by_external_id(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {document["external_id"]: document for document in documents}


def counts(history: dict[str, Any]) -> tuple[int, int, int, int]:
    return history["created"], history["updated"], history["deleted"], history["failed"]


# Confluence ---------------------------------------------------------------------------------------------------------


async def connect_confluence(api: httpx.AsyncClient, owner: Account, fake: FakeConfluence) -> dict[str, Any]:
    return await connect(
        api,
        owner,
        "confluence",
        config={"site_url": fake.base_url, "space_keys": ["ENG"]},
        credentials={"email": EMAIL, "api_token": API_TOKEN},
    )


def engineering(fake: FakeConfluence) -> tuple[FakePage, FakePage]:
    """Two pages of ENG (the first with a PDF attachment) and a page of another space, out of scope."""
    space = fake.add_space("ENG")
    runbook = fake.add_page(space, "Runbook", "<p>Restart the billing service with care.</p>")
    onboarding = fake.add_page(space, "Onboarding", "<p>New engineers pair for a week.</p>")
    fake.add_attachment(
        runbook, "figures.pdf", pdf("Quarterly figures: the lighthouse budget grew."), "application/pdf"
    )
    fake.add_page(fake.add_space("OPS"), "Elsewhere", "<p>Not synced.</p>")
    return runbook, onboarding


async def test_confluence_first_sync_makes_documents_of_pages_and_attachments(
    api: httpx.AsyncClient, confluence_fake: FakeConfluence, owner: Account
) -> None:
    runbook, onboarding = engineering(confluence_fake)

    integration = await connect_confluence(api, owner, confluence_fake)
    documents = by_external_id(await documents_when_ready(api, owner, 3))

    assert counts(integration["first_sync"]) == (3, 0, 0, 0)
    attachment_id = next(iter(confluence_fake.attachments))
    assert set(documents) == {runbook.id, onboarding.id, f"attachment:{attachment_id}"}
    assert {document["status"] for document in documents.values()} == {"ready"}
    assert {document["source_type"] for document in documents.values()} == {"confluence"}
    assert {document["integration_id"] for document in documents.values()} == {integration["id"]}
    page = documents[runbook.id]
    assert page["title"] == "Runbook"
    assert page["source_url"] == f"{confluence_fake.base_url}/wiki/spaces/ENG/pages/{runbook.id}/Runbook"
    assert "Restart the billing service with care." in await text_of(api, owner, page)
    attachment = documents[f"attachment:{attachment_id}"]
    assert attachment["kind"] == "pdf"
    assert attachment["source_url"].startswith(f"{confluence_fake.base_url}/wiki/pages/viewpageattachments.action")
    assert "the lighthouse budget grew" in await text_of(api, owner, attachment)
    assert await best_match(api, owner, "lighthouse budget") == attachment["id"]


async def test_confluence_resync_with_nothing_changed_only_lists(
    api: httpx.AsyncClient, confluence_fake: FakeConfluence, owner: Account
) -> None:
    engineering(confluence_fake)
    integration = await connect_confluence(api, owner, confluence_fake)
    confluence_fake.calls.clear()

    history = await sync(api, owner, integration["id"])

    assert history["status"] == "succeeded"
    assert counts(history) == (0, 0, 0, 0)
    assert history["listed"] == 3
    assert {call.path for call in confluence_fake.calls} <= CONFLUENCE_LISTINGS
    assert history["requests"] == len(confluence_fake.calls)


async def test_confluence_an_edited_page_is_indexed_again(
    api: httpx.AsyncClient, confluence_fake: FakeConfluence, owner: Account
) -> None:
    runbook, onboarding = engineering(confluence_fake)
    integration = await connect_confluence(api, owner, confluence_fake)
    before = by_external_id(await documents_when_ready(api, owner, 3))
    confluence_fake.edit_page(runbook.id, storage="<p>Page the quokka on call before any restart.</p>")

    history = await sync(api, owner, integration["id"])
    after = by_external_id(await documents_when_ready(api, owner, 3))

    assert counts(history) == (0, 1, 0, 0)
    assert after[runbook.id]["id"] == before[runbook.id]["id"]
    assert after[runbook.id]["version"] == before[runbook.id]["version"] + 1
    assert after[onboarding.id]["version"] == before[onboarding.id]["version"]
    assert "quokka on call" in await text_of(api, owner, after[runbook.id])
    assert await best_match(api, owner, "quokka on call before a restart") == after[runbook.id]["id"]


async def test_confluence_a_page_gone_from_the_site_is_deleted_here(
    api: httpx.AsyncClient, confluence_fake: FakeConfluence, owner: Account
) -> None:
    runbook, onboarding = engineering(confluence_fake)
    integration = await connect_confluence(api, owner, confluence_fake)
    await documents_when_ready(api, owner, 3)
    onboarding.status = "trashed"

    history = await sync(api, owner, integration["id"])
    remaining = by_external_id(await documents_when_ready(api, owner, 2))

    assert counts(history) == (0, 0, 1, 0)
    assert onboarding.id not in remaining
    assert runbook.id in remaining


# Guru ---------------------------------------------------------------------------------------------------------------


async def connect_guru(api: httpx.AsyncClient, owner: Account) -> dict[str, Any]:
    return await connect(api, owner, "guru", credentials={"username": USER_EMAIL, "token": USER_TOKEN})


async def test_guru_first_sync_makes_a_document_of_each_card(
    api: httpx.AsyncClient, guru: FakeGuru, owner: Account
) -> None:
    card_ids = guru.seed(3)

    integration = await connect_guru(api, owner)
    documents = by_external_id(await documents_when_ready(api, owner, 3))

    assert counts(integration["first_sync"]) == (3, 0, 0, 0)
    assert set(documents) == set(card_ids)
    assert {document["source_type"] for document in documents.values()} == {"guru"}
    assert {document["integration_id"] for document in documents.values()} == {integration["id"]}
    first = documents[card_ids[0]]
    assert first["title"] == "Card 1"
    assert first["source_url"] == f"https://app.getguru.com/card/{card_ids[0][-8:]}/Card-1"
    assert first["metadata"]["collection"] == "General"
    assert "Generated card number 1." in await text_of(api, owner, first)


async def test_guru_resync_with_nothing_changed_only_lists(
    api: httpx.AsyncClient, guru: FakeGuru, owner: Account
) -> None:
    # Two pages of the card manager's search (Guru's are 50 cards; the fake's, here, 2).
    guru.page_size = 2
    guru.seed(3)
    integration = await connect_guru(api, owner)
    guru.requests.clear()

    history = await sync(api, owner, integration["id"])

    assert counts(history) == (0, 0, 0, 0)
    assert history["listed"] == 3
    assert [call.path for call in guru.requests] == ["/api/v1/search/cardmgr"] * 2
    assert history["requests"] == 2


async def test_guru_an_edited_card_is_indexed_again(api: httpx.AsyncClient, guru: FakeGuru, owner: Account) -> None:
    edited, kept = guru.seed(2)
    integration = await connect_guru(api, owner)
    before = by_external_id(await documents_when_ready(api, owner, 2))
    guru.edit(edited, content="<p>Refunds above fifty euros need a second approver.</p>", by_verifier=True)

    history = await sync(api, owner, integration["id"])
    after = by_external_id(await documents_when_ready(api, owner, 2))

    assert counts(history) == (0, 1, 0, 0)
    assert after[edited]["version"] == before[edited]["version"] + 1
    assert after[kept]["version"] == before[kept]["version"]
    assert "second approver" in await text_of(api, owner, after[edited])
    assert await best_match(api, owner, "refunds need a second approver") == after[edited]["id"]


async def test_guru_a_deleted_card_is_deleted_here(api: httpx.AsyncClient, guru: FakeGuru, owner: Account) -> None:
    deleted, kept = guru.seed(2)
    integration = await connect_guru(api, owner)
    await documents_when_ready(api, owner, 2)
    guru.delete(deleted)

    history = await sync(api, owner, integration["id"])
    remaining = await documents_when_ready(api, owner, 1)

    assert counts(history) == (0, 0, 1, 0)
    assert [document["external_id"] for document in remaining] == [kept]


# The web ------------------------------------------------------------------------------------------------------------


async def connect_web(api: httpx.AsyncClient, owner: Account, site: FakeSite) -> dict[str, Any]:
    return await connect(api, owner, "web", config={"start_url": f"{site.base_url}/"})


async def test_web_first_sync_makes_a_document_of_each_page_it_may_read(
    api: httpx.AsyncClient, site: FakeSite, owner: Account
) -> None:
    integration = await connect_web(api, owner, site)
    documents = by_external_id(await documents_when_ready(api, owner, 4))

    assert counts(integration["first_sync"]) == (4, 0, 0, 0)
    base = site.base_url
    assert set(documents) == {f"{base}/", f"{base}/policies", f"{base}/rota.txt", f"{base}/gone-soon"}
    assert {document["source_type"] for document in documents.values()} == {"web"}
    assert {document["integration_id"] for document in documents.values()} == {integration["id"]}
    assert all(document["source_url"] == external_id for external_id, document in documents.items())
    assert documents[f"{base}/policies"]["title"] == "Policies"
    assert "Grace on Tuesdays" in await text_of(api, owner, documents[f"{base}/rota.txt"])


async def test_web_crawl_keeps_to_robots_txt_and_its_own_host(
    api: httpx.AsyncClient, site: FakeSite, owner: Account
) -> None:
    await connect_web(api, owner, site)
    await documents_when_ready(api, owner, 4)

    assert "/private/salaries" not in site.requested()
    assert "/robots.txt" in site.requested()
    assert {hit.host for hit in site.log} == {site.base_url.removeprefix("http://")}


async def test_web_resync_with_nothing_changed_creates_and_updates_nothing(
    api: httpx.AsyncClient, site: FakeSite, owner: Account
) -> None:
    integration = await connect_web(api, owner, site)
    before = by_external_id(await documents_when_ready(api, owner, 4))

    history = await sync(api, owner, integration["id"])
    after = by_external_id(await documents_when_ready(api, owner, 4))

    assert counts(history) == (0, 0, 0, 0)
    assert history["listed"] == 4
    assert {key: document["version"] for key, document in after.items()} == {
        key: document["version"] for key, document in before.items()
    }


async def test_web_an_edited_page_is_indexed_again(api: httpx.AsyncClient, site: FakeSite, owner: Account) -> None:
    integration = await connect_web(api, owner, site)
    before = by_external_id(await documents_when_ready(api, owner, 4))
    site.pages["/policies"] = Page(html("Policies", text="Expenses are now filed weekly by quokkas."), etag='"p-2"')

    history = await sync(api, owner, integration["id"])
    after = by_external_id(await documents_when_ready(api, owner, 4))

    edited = f"{site.base_url}/policies"
    assert counts(history) == (0, 1, 0, 0)
    assert after[edited]["version"] == before[edited]["version"] + 1
    assert "filed weekly by quokkas" in await text_of(api, owner, after[edited])
    assert await best_match(api, owner, "expenses filed weekly by quokkas") == after[edited]["id"]


async def test_web_a_page_gone_from_the_site_is_deleted_here(
    api: httpx.AsyncClient, site: FakeSite, owner: Account
) -> None:
    integration = await connect_web(api, owner, site)
    await documents_when_ready(api, owner, 4)
    del site.pages["/gone-soon"]

    history = await sync(api, owner, integration["id"])
    remaining = by_external_id(await documents_when_ready(api, owner, 3))

    assert counts(history) == (0, 0, 1, 0)
    assert f"{site.base_url}/gone-soon" not in remaining
