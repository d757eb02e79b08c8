"""One organization with a document, a summary, a chat and a case, made once for the package (the real ingestion
pipeline is too slow to repeat per test); each test starts without shares or links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from folio.models import Notification, Share, ShareLink
from tests.conftest import empty_tables
from tests.corpus import Doc, ingest
from tests.factories import Account, add_member, register, wait_until_finished
from tests.records.conftest import csv_bytes, import_batch

SHARES = "/api/v1/shares"
LINKS = "/api/v1/shares/links"
PUBLIC = "/api/v1/public/links"

REPORT = Doc(
    "report.txt",
    "The quarterly report covers the solar farm in Almeria. The solar farm produced 42 gigawatt hours of "
    "electricity this quarter. Maintenance of the inverters took two weeks in February. The team expects the "
    "output to grow when the second array opens in the autumn.",
)
NOTES = Doc("notes.txt", "Meeting notes. The team agreed to move the launch to March and to hire two engineers.")


@dataclass
class Member(Account):
    """A member of the world's organization, acting in it (their own organization is the default)."""

    acting_in: UUID | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "X-Org-Id": str(self.acting_in)}


async def member(client: httpx.AsyncClient, owner: Account, role: str, name: str) -> Member:
    account = await register(client, name=name)
    await add_member(client, owner, account, role)
    return Member(**vars(account), acting_in=owner.org_id)


@dataclass
class World:
    client: httpx.AsyncClient
    app: FastAPI
    owner: Account
    viewer: Member
    editor: Member
    outsider: Account
    document_id: UUID
    notes_id: UUID
    summary_id: UUID
    chat_id: UUID
    case_id: UUID
    outsider_document_id: UUID


@pytest.fixture(autouse=True)
async def _empty_tables(app: FastAPI) -> AsyncIterator[None]:
    """The world lives until the package ends; each test's shares, links and notifications go after it."""
    yield
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(Share))
        await session.execute(delete(ShareLink))
        await session.execute(delete(Notification))


@pytest.fixture(scope="package")
async def world(app: FastAPI) -> AsyncIterator[World]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        owner = await register(client, name="Ann Owner")
        viewer = await member(client, owner, "viewer", "Vic Viewer")
        editor = await member(client, owner, "editor", "Eve Editor")
        outsider = await register(client, name="Oscar Outsider")
        ids, _ = await ingest(client, owner, {"report": REPORT, "notes": NOTES})
        outsider_ids, _ = await ingest(client, outsider, {"theirs": NOTES})
        yield World(
            client=client,
            app=app,
            owner=owner,
            viewer=viewer,
            editor=editor,
            outsider=outsider,
            document_id=ids["report"],
            notes_id=ids["notes"],
            summary_id=await _summary(client, owner, ids["report"]),
            chat_id=await _chat(client, owner),
            case_id=await _case(client, owner),
            outsider_document_id=outsider_ids["theirs"],
        )
    await empty_tables(app)


async def _summary(client: httpx.AsyncClient, owner: Account, document_id: UUID) -> UUID:
    response = await client.post(f"/api/v1/documents/{document_id}/summaries", json={}, headers=owner.headers)
    assert response.status_code == 202, response.text
    job = await wait_until_finished(client, owner, UUID(response.json()["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    return UUID(response.json()["id"])


async def _chat(client: httpx.AsyncClient, owner: Account) -> UUID:
    """A chat of the owner's whose answer cites the report."""
    chat = await client.post("/api/v1/chats", json={"title": "Solar output"}, headers=owner.headers)
    assert chat.status_code == 201, chat.text
    chat_id = UUID(chat.json()["id"])
    asked = await client.post(
        f"/api/v1/chats/{chat_id}/messages",
        json={"content": "How much electricity did the solar farm produce?"},
        headers=owner.headers,
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["answer"]["citations"], asked.json()
    return chat_id


async def _case(client: httpx.AsyncClient, owner: Account) -> UUID:
    mapping = {"external_id": "id", "text": "message", "title": "subject"}
    content = csv_bytes("id,message,subject", 'c1,"I was charged twice for the same invoice.",Double charge')
    await import_batch(client, owner, content, mapping)
    records = await client.get("/api/v1/cases", headers=owner.headers)
    assert records.status_code == 200, records.text
    [record] = records.json()["items"]
    return UUID(record["id"])
