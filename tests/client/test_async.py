"""`AsyncFolio` on the main paths against the live server: the same flows as the blocking client, run by asyncio."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from folio_client import AsyncFolio, DeltaEvent, DoneEvent, JobUpdate, NotFoundError, SourcesEvent

from tests.client.conftest import CORPUS, Account, Served, new_account, write_folder
from tests.client.test_auth import expired
from tests.recorder import DOCUMENTS, EVENTS, JOBS

QUESTION = "When are travel expenses reimbursed?"


async def test_a_folder_is_uploaded_and_followed_over_the_stream(
    corpus: Account, server: Served, gate: threading.Event, tmp_path: Path
) -> None:
    account = new_account(server.url)
    folder = write_folder(tmp_path, {"a.md": "# A\n\nAlpha.\n", "b.md": "# B\n\nBeta.\n"})
    heard: list[JobUpdate] = []

    def listen(update: JobUpdate) -> None:
        heard.append(update)
        gate.set()

    async with AsyncFolio(server.url, api_key=account.api_key) as folio:
        uploaded = await folio.documents.upload_folder(folder, concurrency=2)
        jobs = await folio.jobs.wait_all(uploaded.job_ids, on_update=listen)

    assert [job.status for job in jobs] == ["succeeded", "succeeded"]
    stages = {str(job.id): {update.stage for update in heard if update.job_id == job.id} for job in jobs}
    assert all({"chunking", "embedding"} <= each for each in stages.values())
    assert len(server.recorder.made("GET", EVENTS)) == 1
    assert len(server.recorder.made("GET", JOBS)) == 2


async def test_with_the_stream_turned_off_the_job_is_polled(
    server: Served, gate: threading.Event, tmp_path: Path
) -> None:
    account = new_account(server.url)

    file = tmp_path / "polled.md"
    file.write_text("# Polled\n\nWaited for by polling.\n")
    progress: list[int] = []

    async with AsyncFolio(server.url, api_key=account.api_key) as folio:
        sent = await folio.documents.upload(file, title="Polled", on_progress=progress.append)
        assert sent.job_id is not None
        job = await folio.jobs.wait(sent.job_id, stream=False, on_update=lambda update: gate.set())

    assert sent.document.title == "Polled"
    assert progress[-1] == file.stat().st_size
    assert job.status == "succeeded"
    assert server.recorder.made("GET", EVENTS) == []
    assert len(server.recorder.made("GET", JOBS)) >= 2


async def test_pages_search_answers_and_errors(corpus: Account, server: Served) -> None:
    async with AsyncFolio(server.url, api_key=corpus.api_key) as folio:
        first = await folio.documents.list(limit=2)
        everything = [document async for document in folio.documents.list(limit=2)]
        assert first.next_cursor is not None
        rest = [document async for document in folio.documents.list(limit=2, cursor=first.next_cursor)]
        results = await folio.search("travel expenses reimbursed", top_k=1)
        answer = await folio.answers.create(QUESTION)
        stream = await folio.answers.stream(QUESTION)
        async with stream:
            events = [event async for event in stream]
        with pytest.raises(NotFoundError) as missing:
            await folio.jobs.wait("0197a3c2-5b1e-7cc4-9d2a-3f6e1b8a9c01")

    assert len(first.items) == 2
    assert first.has_next_page()
    assert first.items + rest == everything
    assert len({document.id for document in everything}) == len(CORPUS)
    assert len(server.recorder.made("GET", DOCUMENTS)) == 1 + 3 + 2  # the first page; all three; the two after it
    assert results.items[0].document_title == "Expenses"
    assert answer.answered
    assert answer.citations[0].document_title == "Expenses"
    assert isinstance(events[0], SourcesEvent)
    assert isinstance(events[-1], DoneEvent)
    assert "".join(event.text for event in events if isinstance(event, DeltaEvent)) == answer.answer
    assert missing.value.code == "JOB_NOT_FOUND"


async def test_tasks_that_find_the_token_expired_together_refresh_it_once(server: Served) -> None:
    account = new_account(server.url)

    async with AsyncFolio(
        server.url, access_token=expired(account.access_token), refresh_token=account.refresh_token
    ) as folio:
        answers = await asyncio.gather(*(folio.auth.me() for _ in range(5)))

    assert {me.principal for me in answers} == {"user"}
    assert len(server.recorder.made("POST", "/api/v1/auth/refresh")) == 1
