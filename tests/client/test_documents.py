"""The blocking client against the live server: folders uploaded and their jobs followed (over the stream, by
polling, across a dropped stream), checkpoints, pages, search, cited answers, and errors with their codes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from folio_client import (
    SUPPORTED_EXTENSIONS,
    AuthenticationError,
    DeltaEvent,
    DoneEvent,
    Folio,
    InvalidRequestError,
    JobUpdate,
    NotFoundError,
    SourcesEvent,
    UnsupportedMediaTypeError,
    WaitTimeout,
)

from tests.client.conftest import CORPUS, Account, Served, new_account, write_folder
from tests.recorder import DOCUMENTS, EVENTS, JOBS

QUESTION = "How many days of paid annual leave do employees get?"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(64)


def opening(gate: threading.Event, heard: list[JobUpdate]) -> Callable[[JobUpdate], None]:
    """An `on_update` that records what it hears and lets the gated jobs go on once the wait has read them."""

    def listen(update: JobUpdate) -> None:
        heard.append(update)
        gate.set()

    return listen


def stages_of(heard: list[JobUpdate]) -> dict[str, set[str | None]]:
    stages: dict[str, set[str | None]] = {}
    for update in heard:
        stages.setdefault(str(update.job_id), set()).add(update.stage)
    return stages


def test_a_folder_is_uploaded_and_its_jobs_followed_over_the_live_stream(
    corpus: Account, server: Served, gate: threading.Event, tmp_path: Path
) -> None:
    """(`corpus` first: the server's first ingestion starts its extraction process, which takes seconds.)"""
    account = new_account(server.url)
    folder = write_folder(tmp_path / "docs", {"a.md": "# A\n\nAlpha.\n", "b.txt": "Beta.\n", "sub/c.md": "Gamma.\n"})
    (folder / "program.md").write_bytes(ELF)
    (folder / "data.xyz").write_text("not a document")
    (folder / ".hidden.md").write_text("hidden")
    heard: list[JobUpdate] = []

    with Folio(server.url, api_key=account.api_key) as folio:
        uploaded = folio.documents.upload_folder(folder, tags=["sdk"])
        jobs = folio.jobs.wait_all(uploaded.job_ids, on_update=opening(gate, heard))
        documents = [folio.documents.get(document_id) for document_id in uploaded.document_ids]

    assert sorted(path.name for path in uploaded.skipped) == [".hidden.md", "data.xyz"]
    [refused] = uploaded.failed
    assert refused.path.name == "program.md"
    assert refused.error is not None
    assert refused.error.code == "UNSUPPORTED_FILE_TYPE"
    assert [job.status for job in jobs] == ["succeeded"] * 3
    assert {document.status for document in documents} == {"ready"}
    assert {tuple(document.tags) for document in documents} == {("sdk",)}
    # Every stage of every job was heard: only the live stream tells them all (a read sees one moment).
    assert all({"chunking", "embedding"} <= stages for stages in stages_of(heard).values())
    # One stream; the jobs read once when the wait began and once when their events said they had all ended.
    assert len(server.recorder.made("GET", EVENTS)) == 1
    assert len(server.recorder.made("GET", JOBS)) == 2


def test_without_a_stream_from_the_server_the_jobs_are_polled(
    server: Served, gate: threading.Event, tmp_path: Path
) -> None:
    account = new_account(server.url)
    server.recorder.without_stream = True
    folder = write_folder(tmp_path, {"one.md": "First file.\n", "two.md": "Second file.\n"})
    heard: list[JobUpdate] = []

    with Folio(server.url, api_key=account.api_key) as folio:
        uploaded = folio.documents.upload_folder(folder)
        jobs = folio.jobs.wait_all(uploaded.job_ids, on_update=opening(gate, heard))

    assert [job.status for job in jobs] == ["succeeded", "succeeded"]
    assert len(server.recorder.made("GET", EVENTS)) == 1  # asked, and answered 404
    reads = server.recorder.made("GET", JOBS)
    assert len(reads) >= 2
    assert all(sorted(seen.ids) == sorted(map(str, uploaded.job_ids)) for seen in reads[:1])


def test_a_server_that_ignores_the_batch_read_lists_other_jobs_and_the_wait_takes_only_its_own(
    server: Served, gate: threading.Event, tmp_path: Path
) -> None:
    """An older server answers `GET /jobs?ids=…` with the organization's latest jobs: one finished earlier is
    among them, and the wait neither settles it nor waits for it."""
    account = new_account(server.url)
    with Folio(server.url, api_key=account.api_key) as folio:
        earlier = folio.documents.upload_folder(write_folder(tmp_path / "earlier", {"old.md": "Earlier file.\n"}))
        gate.set()
        folio.jobs.wait_all(earlier.job_ids)
        server.recorder.without_stream = server.recorder.without_batch_reads = True
        later = folio.documents.upload_folder(write_folder(tmp_path / "later", {"new.md": "Later file.\n"}))
        jobs = folio.jobs.wait_all(later.job_ids, on_update=lambda update: gate.set())

    assert [(job.id, job.status) for job in jobs] == [(later.job_ids[0], "succeeded")]


def test_a_stream_that_drops_is_opened_again_after_its_last_event(
    server: Served, gate: threading.Event, tmp_path: Path
) -> None:
    account = new_account(server.url)
    server.recorder.streams_to_cut = 1
    folder = write_folder(tmp_path, {"one.md": "One file.\n", "two.md": "Another file.\n"})

    with Folio(server.url, api_key=account.api_key) as folio:
        uploaded = folio.documents.upload_folder(folder)
        jobs = folio.jobs.wait_all(uploaded.job_ids, on_update=lambda update: gate.set())

    assert [job.status for job in jobs] == ["succeeded", "succeeded"]
    first, second = server.recorder.made("GET", EVENTS)
    assert "last-event-id" not in first.headers
    assert second.headers["last-event-id"] == server.recorder.cut_after[0] != ""


def test_waiting_for_one_job_follows_only_its_events(server: Served, gate: threading.Event, tmp_path: Path) -> None:
    account = new_account(server.url)
    folder = write_folder(tmp_path, {"only.md": "The only file.\n"})

    with Folio(server.url, api_key=account.api_key) as folio:
        uploaded = folio.documents.upload_folder(folder)
        job = folio.jobs.wait(uploaded.job_ids[0], on_update=lambda update: gate.set())

    assert job.status == "succeeded"
    [stream] = server.recorder.made("GET", EVENTS)
    assert stream.query["subject"] == [str(job.id)]


def test_a_wait_ends_at_its_timeout_with_the_jobs_still_running(server: Served, gate: threading.Event) -> None:
    account = new_account(server.url)

    with Folio(server.url, api_key=account.api_key) as folio:
        sent = folio.documents.upload(b"Still being read.\n", filename="slow.md")
        assert sent.job_id is not None
        with pytest.raises(WaitTimeout) as late:
            folio.jobs.wait(sent.job_id, timeout=0.5)

    assert late.value.code == "WAIT_TIMEOUT"
    assert [(job.id, job.finished) for job in late.value.jobs] == [(sent.job_id, False)]


def test_a_second_run_with_a_checkpoint_sends_only_the_files_that_changed(server: Served, tmp_path: Path) -> None:
    account = new_account(server.url)
    folder = write_folder(tmp_path / "docs", {"kept.md": "Kept as it was.\n", "edited.md": "First draft.\n"})
    checkpoint = tmp_path / "upload.checkpoint"

    with Folio(server.url, api_key=account.api_key) as folio:
        first = folio.documents.upload_folder(folder, checkpoint=checkpoint)
        folio.jobs.wait_all(first.job_ids)
        (folder / "edited.md").write_text("Second draft, longer than the first.\n")
        server.recorder.reset()
        second = folio.documents.upload_folder(folder, checkpoint=checkpoint)
        folio.jobs.wait_all(second.job_ids)

    by_name = {each.path.name: each for each in second.files}
    assert by_name["kept.md"].resumed
    assert by_name["kept.md"].document_id == {each.path.name: each for each in first.files}["kept.md"].document_id
    assert not by_name["edited.md"].resumed
    assert by_name["edited.md"].job_id is not None
    assert len(server.recorder.made("POST", DOCUMENTS)) == 1


def test_content_the_organization_has_comes_back_deduplicated(corpus: Account, server: Served) -> None:
    with Folio(server.url, api_key=corpus.api_key) as folio:
        again = folio.documents.upload(CORPUS["leave.md"].encode(), filename="copy.md")

    assert again.deduplicated
    assert again.job_id is None
    assert again.document.title == "Leave policy"


def test_a_list_is_read_page_by_page_as_it_is_iterated(corpus: Account, server: Served) -> None:
    with Folio(server.url, api_key=corpus.api_key) as folio:
        page = folio.documents.list(limit=2)
        first_requests = len(server.recorder.made("GET", DOCUMENTS))
        everything = list(page)

    assert first_requests == 1
    assert len(page.items) == 2
    assert page.has_next_page()
    assert len(everything) == len({document.id for document in everything}) == len(CORPUS)
    requests = server.recorder.made("GET", DOCUMENTS)
    assert len(requests) == 3
    assert "cursor" not in requests[0].query
    assert requests[1].query["cursor"] == [page.next_cursor]


def test_a_list_goes_on_from_a_kept_cursor(corpus: Account, server: Served) -> None:
    with Folio(server.url, api_key=corpus.api_key) as folio:
        first = folio.documents.list(limit=2)
        assert first.next_cursor is not None
        resumed = folio.documents.list(limit=2, cursor=first.next_cursor)
        rest = list(resumed)
        everything = list(folio.documents.list(limit=2))

    assert [document.id for document in resumed.items] == [document.id for document in rest[:2]]
    assert first.items + rest == everything
    assert server.recorder.made("GET", DOCUMENTS)[1].query["cursor"] == [first.next_cursor]


def test_search_finds_the_passage_and_pages_through_the_hits(corpus: Account, server: Served) -> None:
    with Folio(server.url, api_key=corpus.api_key) as folio:
        results = folio.search("paid annual leave", top_k=1)
        hits = list(folio.search("office", top_k=1, filters={"file_types": ["text"]}))

    assert results.mode == "hybrid"
    assert results.items[0].document_title == "Leave policy"
    assert "<mark>" in results.items[0].snippet
    assert len(hits) >= 2
    assert {hit.file_type for hit in hits} == {"text"}
    assert len(server.recorder.made("POST", "/api/v1/search")) >= 1 + len(hits)


def test_a_cited_answer_whole_and_streamed(corpus: Account, server: Served) -> None:
    with Folio(server.url, api_key=corpus.api_key) as folio:
        answer = folio.answers.create(QUESTION)
        with folio.answers.stream(QUESTION) as stream:
            events = list(stream)
        assembled = folio.answers.stream(QUESTION).until_done()

    assert answer.answered
    [citation] = answer.citations
    assert citation.document_title == "Leave policy"
    assert "twenty-five days" in citation.quote
    assert str(answer).endswith(f'[1] Leave policy: "{citation.quote}"')
    assert isinstance(events[0], SourcesEvent)
    assert isinstance(events[-1], DoneEvent)
    assert all(isinstance(event, DeltaEvent) for event in events[1:-1])
    assert len(events) > 2
    assert "".join(event.text for event in events if isinstance(event, DeltaEvent)) == answer.answer
    assert assembled == answer


def test_errors_carry_the_servers_code_status_and_request_id(corpus: Account, server: Served) -> None:
    with Folio(server.url, api_key=corpus.api_key) as folio:
        with pytest.raises(NotFoundError) as missing:
            folio.documents.get("0197a3c2-5b1e-7cc4-9d2a-3f6e1b8a9c01")
        with pytest.raises(NotFoundError):
            folio.documents.get("../jobs")  # one path segment, not a way to another route
        with pytest.raises(UnsupportedMediaTypeError) as refused:
            folio.documents.upload(b"\x00\x01", filename="data.xyz")
        with pytest.raises(InvalidRequestError) as invalid:
            folio.search("leave", top_k=0)
    with Folio(server.url, api_key="folio_not-a-key") as stranger, pytest.raises(AuthenticationError) as unknown:
        stranger.documents.get("0197a3c2-5b1e-7cc4-9d2a-3f6e1b8a9c01")

    assert (missing.value.status, missing.value.code) == (404, "DOCUMENT_NOT_FOUND")
    assert missing.value.request_id
    assert refused.value.code == "UNSUPPORTED_FILE_TYPE"
    assert refused.value.details["supported_extensions"] == sorted(ext[1:] for ext in SUPPORTED_EXTENSIONS)
    assert invalid.value.code == "VALIDATION_ERROR"
    assert "top_k" in str(invalid.value.details)
    assert (unknown.value.status, unknown.value.code) == (401, "AUTH_INVALID")
    assert [seen.path for seen in server.recorder.made_under("/api/v1/jobs")] == []
