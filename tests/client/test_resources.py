"""The rest of the resources against the live server: a document read, changed, reindexed, summarised and deleted;
jobs listed; API keys listed and revoked; a folder upload stopped by credentials that may not write."""

from __future__ import annotations

from pathlib import Path

import pytest
from folio_client import AuthenticationError, FileUpload, Folio, NotFoundError, PermissionDeniedError

from tests.client.conftest import Served, new_account, write_folder

NOTICE = b"# Notice\n\nEither party may end the agreement with ninety days of written notice.\n"


def test_a_document_is_read_changed_reindexed_summarised_and_deleted(server: Served) -> None:
    account = new_account(server.url)

    with Folio(server.url, api_key=account.api_key) as folio:
        sent = folio.documents.upload(NOTICE, filename="notice.md", tags=["legal"], metadata={"client": "Acme"})
        assert sent.job_id is not None
        folio.jobs.wait(sent.job_id)
        document_id = sent.document.id
        content = folio.documents.content(document_id)
        chunks = list(folio.documents.chunks(document_id))
        changed = folio.documents.update(document_id, title="Notice period", tags=["legal", "2026"])
        tagged = list(folio.documents.list(tags=["2026"], status="ready"))
        reindexed = folio.jobs.wait(folio.documents.reindex(document_id).id)
        after = folio.documents.get(document_id)
        summary = folio.summaries.create(document_id, length="short", format="bullets")
        assert summary.job_id is not None
        folio.jobs.wait(summary.job_id)
        written = folio.summaries.get(summary.id)
        summaries = list(folio.summaries.list(document_id=document_id))
        jobs = list(folio.jobs.list(subject_id=document_id, kind="ingest_document"))
        folio.documents.delete(document_id)
        folio.documents.delete(document_id)
        with pytest.raises(NotFoundError) as gone:
            folio.documents.get(document_id)

    assert "ninety days" in content.text
    assert chunks
    assert "ninety days" in chunks[0].text
    assert (changed.title, changed.tags, changed.metadata) == ("Notice period", ["legal", "2026"], {"client": "Acme"})
    assert [document.id for document in tagged] == [document_id]
    assert reindexed.status == "succeeded"
    assert after.version == 2
    assert written.status == "ready"
    assert written.text
    assert [each.id for each in summaries] == [summary.id]
    assert len(jobs) == 2
    assert gone.value.code == "DOCUMENT_NOT_FOUND"


def test_api_keys_are_listed_and_revoked(server: Served) -> None:
    account = new_account(server.url)

    with Folio(server.url, access_token=account.access_token, refresh_token=account.refresh_token) as owner:
        key = owner.api_keys.create("read only", ["documents:read"])
        listed = list(owner.api_keys.list())
        owner.api_keys.revoke(key.id)
    with Folio(server.url, api_key=key.secret) as revoked, pytest.raises(AuthenticationError) as refused:
        revoked.documents.list()

    assert {each.name for each in listed} == {"sdk tests", "read only"}
    assert refused.value.code == "AUTH_INVALID"


def test_credentials_that_may_not_write_stop_a_folder_upload(server: Served, tmp_path: Path) -> None:
    account = new_account(server.url)
    folder = write_folder(tmp_path, {f"file{number:02}.md": f"File {number}.\n" for number in range(20)})

    with Folio(server.url, access_token=account.access_token, refresh_token=account.refresh_token) as owner:
        reader = owner.api_keys.create("reader", ["documents:read"])
    with Folio(server.url, api_key=reader.secret) as folio, pytest.raises(PermissionDeniedError) as denied:
        folio.documents.upload_folder(folder, concurrency=2)

    assert denied.value.code == "FORBIDDEN"
    # Stopped at the first refusal: the files not started by then are not sent.
    assert len(server.recorder.made("POST", "/api/v1/documents")) < 20


def test_a_file_that_cannot_be_read_is_that_files_failure(server: Served, tmp_path: Path) -> None:
    account = new_account(server.url)
    folder = write_folder(tmp_path, {"a.md": "First.\n", "b.md": "Second.\n", "c.md": "Third.\n"})

    def remove_the_next(outcome: FileUpload) -> None:
        if outcome.path.name == "a.md":
            (folder / "b.md").unlink()

    with Folio(server.url, api_key=account.api_key) as folio:
        uploaded = folio.documents.upload_folder(folder, concurrency=1, on_file=remove_the_next)

    [unread] = uploaded.failed
    assert unread.path.name == "b.md"
    assert unread.error is not None
    assert (unread.error.code, unread.error.status) == ("FILE_UNREADABLE", None)
    assert len(uploaded.job_ids) == 2
