"""Summaries without a language model: a job picks the document's most central sentences; the API around it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from folio.models import Document, DocumentStatus, Summary, SummaryStatus
from tests.conftest import empty_tables
from tests.corpus import Doc, ingest
from tests.factories import Account, add_member, error_of, register, wait_until_finished

SUMMARIES = "/api/v1/summaries"
# Two asides first, then a document about one thing: a summary of its most central sentences leaves the asides out
# (taking the first sentences would not).
SOLAR = Doc(
    "solar.txt",
    "The bakery on the corner sells a chocolate cake with raspberries on Sundays. "
    "Last night the football match ended in a draw after extra time.\n\n"
    "Solar panels turn sunlight into electricity through the photovoltaic effect in silicon cells. "
    "The efficiency of commercial solar panels has risen from about 15 percent to more than 22 percent. "
    "Rooftop solar installations let households produce part of the electricity they use. "
    "Inverters convert the direct current from solar panels into alternating current for the grid. "
    "Battery storage keeps solar electricity for the evening, when panels produce nothing. "
    "The cost of solar electricity has fallen by almost 90 percent over the last decade. "
    "Utility-scale solar farms now deliver power more cheaply than new coal plants in many countries. "
    "Dust and shade on solar panels reduce the electricity they generate. "
    "Net metering credits households for the surplus solar electricity they feed into the grid.",
)
OTHER = Doc("notes.txt", "Meeting notes. The team agreed to move the launch to March and to hire two engineers.")


@dataclass
class Setup:
    client: httpx.AsyncClient
    account: Account
    ids: dict[str, UUID]
    app: FastAPI


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's documents live until the module ends (see `setup`)."""


@pytest.fixture(scope="module")
async def setup(app: FastAPI) -> AsyncIterator[Setup]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        account = await register(client)
        ids, _ = await ingest(client, account, {"solar": SOLAR, "other": OTHER})
        yield Setup(client, account, ids, app)
    await empty_tables(app)


async def summarise(setup: Setup, document: str = "solar", **body: Any) -> dict[str, Any]:
    """Ask for a summary and wait for its job; the summary as the API shows it then."""
    response = await setup.client.post(
        f"/api/v1/documents/{setup.ids[document]}/summaries", json=body, headers=setup.account.headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    job = await wait_until_finished(setup.client, setup.account, UUID(response.json()["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    assert (job["stage"], job["progress"]) == ("done", 100)
    summary = await setup.client.get(f"{SUMMARIES}/{response.json()['id']}", headers=setup.account.headers)
    body = summary.json()
    assert body["status"] == "ready", body
    return dict(body)


def words(text: str) -> str:
    return " ".join(text.split())


async def test_an_offline_summary_is_the_documents_most_central_sentences_in_order(setup: Setup) -> None:
    summary = await summarise(setup, length="short", format="bullets")
    assert summary["extractive"] is True
    assert summary["model"] == "folio-extractive"
    assert summary["document_version"] == 1
    assert summary["template_name"] == "Executive summary"
    assert (summary["prompt_tokens"], summary["completion_tokens"], summary["sections"]) == (0, 0, 0)
    lines = summary["text"].splitlines()
    assert len(lines) == 3
    assert all(line.startswith("- ") for line in lines)
    sentences = [line.removeprefix("- ") for line in lines]
    document = words(SOLAR.text)
    assert all(sentence in document for sentence in sentences)
    assert [document.index(sentence) for sentence in sentences] == sorted(document.index(s) for s in sentences)
    assert all("solar" in sentence.lower() for sentence in sentences), sentences


async def test_length_and_format_shape_an_offline_summary(setup: Setup) -> None:
    medium = await summarise(setup, length="medium", format="paragraph")
    assert len(re.findall(r"[.!?](?:\s|$)", medium["text"])) == 7
    assert "\n" not in medium["text"]
    markdown = await summarise(setup, length="short", format="markdown")
    assert markdown["text"].startswith("## solar.txt\n\n- ")


async def test_summaries_are_listed_read_regenerated_and_deleted(setup: Setup) -> None:
    client, headers = setup.client, setup.account.headers
    solar = await summarise(setup, length="short")
    other = await summarise(setup, document="other", length="short")
    by_document = await client.get(SUMMARIES, params={"document_id": str(setup.ids["other"])}, headers=headers)
    assert [item["id"] for item in by_document.json()["items"]] == [other["id"]]
    ready = await client.get(SUMMARIES, params={"status": "ready", "limit": 100}, headers=headers)
    assert {solar["id"], other["id"]} <= {item["id"] for item in ready.json()["items"]}

    regenerated = await client.post(f"{SUMMARIES}/{solar['id']}/regenerate", headers=headers)
    assert regenerated.status_code == 202, regenerated.text
    assert regenerated.json()["status"] == "pending"
    assert regenerated.json()["text"] == solar["text"]  # the previous text stays until the new one is in
    assert regenerated.json()["job_id"] != solar["job_id"]
    job = await wait_until_finished(client, setup.account, UUID(regenerated.json()["job_id"]), seconds=60)
    assert job["status"] == "succeeded"

    url = f"{SUMMARIES}/{solar['id']}"
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.delete(url, headers=headers)).status_code == 204
    error_of(await client.get(url, headers=headers), 404, "SUMMARY_NOT_FOUND")


async def test_a_summary_being_written_cannot_be_regenerated(setup: Setup) -> None:
    summary = await summarise(setup, length="short")
    async with setup.app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Summary).where(Summary.id == UUID(summary["id"])).values(status=SummaryStatus.PROCESSING)
        )
    again = await setup.client.post(f"{SUMMARIES}/{summary['id']}/regenerate", headers=setup.account.headers)
    error_of(again, 409, "SUMMARY_IN_PROGRESS")


async def test_requests_that_cannot_be_summarised_get_clear_errors(setup: Setup) -> None:
    client, headers = setup.client, setup.account.headers
    url = f"/api/v1/documents/{setup.ids['other']}/summaries"
    error_of(await client.post(url, json={"format": "haiku"}, headers=headers), 422, "VALIDATION_ERROR")
    error_of(await client.post(url, json={"tone": "happy"}, headers=headers), 422, "VALIDATION_ERROR")
    missing = {"template_id": "00000000-0000-7000-8000-000000000000"}
    error_of(await client.post(url, json=missing, headers=headers), 404, "TEMPLATE_NOT_FOUND")
    enrichment = await client.post(
        "/api/v1/templates",
        json={"name": "Triage", "kind": "enrichment", "prompt": "Fill {schema} from {content}"},
        headers=headers,
    )
    wrong = {"template_id": enrichment.json()["id"]}
    error_of(await client.post(url, json=wrong, headers=headers), 422, "TEMPLATE_WRONG_KIND")
    unknown = "/api/v1/documents/00000000-0000-7000-8000-000000000000/summaries"
    error_of(await client.post(unknown, json={}, headers=headers), 404, "DOCUMENT_NOT_FOUND")

    async with setup.app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Document).where(Document.id == setup.ids["other"]).values(status=DocumentStatus.PROCESSING)
        )
    try:
        error_of(await client.post(url, json={}, headers=headers), 409, "DOCUMENT_NOT_READY")
    finally:
        async with setup.app.state.sessionmaker() as session, session.begin():
            await session.execute(
                update(Document).where(Document.id == setup.ids["other"]).values(status=DocumentStatus.READY)
            )


async def test_summaries_are_private_to_the_organization_and_viewers_only_read(setup: Setup) -> None:
    client = setup.client
    summary = await summarise(setup, length="short")
    intruder = await register(client)
    error_of(await client.get(f"{SUMMARIES}/{summary['id']}", headers=intruder.headers), 404, "SUMMARY_NOT_FOUND")
    assert (await client.get(SUMMARIES, headers=intruder.headers)).json()["items"] == []
    error_of(
        await client.post(f"{SUMMARIES}/{summary['id']}/regenerate", headers=intruder.headers), 404, "SUMMARY_NOT_FOUND"
    )
    assert (await client.delete(f"{SUMMARIES}/{summary['id']}", headers=intruder.headers)).status_code == 204
    theirs = f"/api/v1/documents/{setup.ids['solar']}/summaries"
    error_of(await client.post(theirs, json={}, headers=intruder.headers), 404, "DOCUMENT_NOT_FOUND")
    # A template of another organization is not found either.
    own = await client.post("/api/v1/templates", json={"name": "Mine", "prompt": "{content}"}, headers=intruder.headers)
    stolen = {"template_id": own.json()["id"]}
    error_of(await client.post(theirs, json=stolen, headers=setup.account.headers), 404, "TEMPLATE_NOT_FOUND")

    viewer = await register(client)
    await add_member(client, setup.account, viewer, "viewer")
    as_viewer = viewer.in_org(setup.account.org_id)
    assert (await client.get(f"{SUMMARIES}/{summary['id']}", headers=as_viewer)).status_code == 200
    error_of(await client.post(theirs, json={}, headers=as_viewer), 403, "FORBIDDEN")
    error_of(await client.delete(f"{SUMMARIES}/{summary['id']}", headers=as_viewer), 403, "FORBIDDEN")
