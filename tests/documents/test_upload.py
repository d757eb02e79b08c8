"""POST /api/v1/documents: streamed multipart uploads, type checks, limits, names, dedup, roles and tenancy.

Each test runs its own app on a temporary data directory, so what storage holds can be listed. Ingestion is a
no-op here (tests/ingestion/test_tasks.py runs the real one): documents stay as they were uploaded.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from taskiq import InMemoryBroker

from folio.jobs.kinds import INGEST_DOCUMENT
from folio.jobs.runner import JobContext
from folio.main import create_app
from folio.models import Document, Job
from tests.conftest import make_settings
from tests.factories import Account, add_member, create_api_key, error_of, register
from tests.ingestion.fixtures import docx_bytes, write_pdf

DOCS = "/api/v1/documents"
MIB = 1024 * 1024
BOUNDARY = "folio-upload-test-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
STORAGE_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")
NOTES = b"Meeting notes: ship the upload endpoint on Friday.\n"
HTML = b"<!DOCTYPE html><html><head><title>Page</title></head><body><p>Hello.</p></body></html>"
_directories = itertools.count()

FilePart = tuple[str, tuple[str, bytes, str]]


async def _no_ingestion(context: JobContext) -> None:
    """Stands in for the ingestion job: these tests are about what the upload itself stores."""


@dataclass
class Server:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def files_dir(self) -> Path:
        files_dir: Path = self.app.state.settings.files_dir
        return files_dir

    def stored(self) -> list[Path]:
        """Every file under the storage root, partial uploads (tmp/) included."""
        return sorted(path for path in self.files_dir.rglob("*") if path.is_file())

    async def count(self, model: type[Document] | type[Job], org_id: UUID) -> int:
        async with self.app.state.sessionmaker() as session:
            total: int = await session.scalar(select(func.count()).select_from(model).where(model.org_id == org_id))
        return total

    async def document_row(self, document_id: str) -> Document:
        async with self.app.state.sessionmaker() as session:
            document: Document | None = await session.get(Document, UUID(document_id))
        assert document is not None
        return document


ServerFactory = Callable[..., AbstractAsyncContextManager[Server]]


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> ServerFactory:
    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[Server]:
        settings = make_settings(database_url, data_dir=tmp_path / f"data{next(_directories)}", **overrides)
        application = create_app(settings, job_handlers={INGEST_DOCUMENT: _no_ingestion})
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
        ):
            yield Server(application, http)
            await finish_running_jobs(application)

    return factory


async def finish_running_jobs(application: FastAPI) -> None:
    """Let the jobs this app runs in-process end before it stops: stopping does not wait for them, and a job
    still running would open database connections from an engine already disposed."""
    broker = application.state.job_queue.broker
    assert isinstance(broker, InMemoryBroker)
    async with asyncio.timeout(30):
        while broker._running_tasks:
            await asyncio.gather(*broker._running_tasks, return_exceptions=True)


@pytest.fixture
async def server(server_factory: ServerFactory) -> AsyncIterator[Server]:
    async with server_factory() as running:
        yield running


def text_file(name: str = "notes.txt", content: bytes = NOTES) -> FilePart:
    return ("files", (name, content, "text/plain"))


def part(name: str, value: bytes, *, filename: bytes | None = None) -> bytes:
    """One multipart part, written by hand so file names can carry any bytes."""
    disposition = b'form-data; name="' + name.encode() + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    headers = b"Content-Disposition: " + disposition + b"\r\n"
    if filename is not None:
        headers += b"Content-Type: application/octet-stream\r\n"
    return b"--" + BOUNDARY.encode() + b"\r\n" + headers + b"\r\n" + value + b"\r\n"


def closing() -> bytes:
    return b"--" + BOUNDARY.encode() + b"--\r\n"


async def upload(
    server: Server,
    account: Account,
    files: list[FilePart],
    data: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    return await server.client.post(DOCS, files=files, data=data or {}, params=params or {}, headers=account.headers)


def accepted(response: httpx.Response, count: int = 1) -> list[dict[str, Any]]:
    assert response.status_code == 202, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert len(items) == count
    return items


async def assert_nothing_kept(server: Server, account: Account) -> None:
    assert server.stored() == []
    assert await server.count(Document, account.org_id) == 0
    assert await server.count(Job, account.org_id) == 0


async def test_one_file_is_stored_and_queued(server: Server) -> None:
    account = await register(server.client)

    [item] = accepted(await upload(server, account, [text_file()]))

    document = item["document"]
    assert item["deduplicated"] is False
    assert document["status"] in {"pending", "processing", "ready"}
    assert document["kind"] == "text"
    assert document["filename"] == document["title"] == "notes.txt"
    assert document["size_bytes"] == len(NOTES)
    assert document["sha256"] == hashlib.sha256(NOTES).hexdigest()
    assert document["tags"] == []
    assert document["metadata"] == {}
    assert document["version"] == 0
    assert document["error_code"] is None
    [stored] = server.stored()
    assert stored.read_bytes() == NOTES
    row = await server.document_row(document["id"])
    assert row.storage_key is not None
    assert server.files_dir / row.storage_key == stored
    assert row.org_id == account.org_id
    assert row.created_by == account.user_id

    fetched = await server.client.get(f"{DOCS}/{document['id']}", headers=account.headers)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["sha256"] == document["sha256"]
    assert fetched.json()["filename"] == "notes.txt"
    job = await server.client.get(f"/api/v1/jobs/{item['job_id']}", headers=account.headers)
    assert job.status_code == 200, job.text
    assert job.json()["kind"] == INGEST_DOCUMENT
    assert job.json()["subject_id"] == document["id"]


async def test_several_files_get_a_document_and_a_job_each(server: Server, tmp_path: Path) -> None:
    account = await register(server.client)
    pdf = write_pdf(tmp_path / "report.pdf", [["Quarterly figures"], ["More figures"]]).read_bytes()
    files: list[FilePart] = [
        ("files", ("report.pdf", pdf, "application/pdf")),
        ("files", ("guide.docx", docx_bytes(["A short guide."]), "application/octet-stream")),
        ("files", ("page.html", HTML, "text/html")),
        ("files", ("readme.md", b"# Readme\n\nSome words.\n", "text/markdown")),
        text_file(),
    ]

    items = accepted(await upload(server, account, files, {"title": "Only for one file", "tags": "batch"}), 5)

    documents = [item["document"] for item in items]
    assert [document["kind"] for document in documents] == ["pdf", "docx", "html", "markdown", "text"]
    assert [document["filename"] for document in documents] == [name for _, (name, _, _) in files]
    assert [document["title"] for document in documents] == [name for _, (name, _, _) in files]
    assert [document["sha256"] for document in documents] == [
        hashlib.sha256(content).hexdigest() for _, (_, content, _) in files
    ]
    assert all(document["tags"] == ["batch"] for document in documents)
    assert len({document["id"] for document in documents}) == 5
    assert len({item["job_id"] for item in items}) == 5
    assert None not in {item["job_id"] for item in items}
    assert not any(item["deduplicated"] for item in items)
    assert len(server.stored()) == 5
    assert await server.count(Document, account.org_id) == 5
    assert await server.count(Job, account.org_id) == 5


@pytest.mark.parametrize("tags", ["contracts, 2026 ,,contracts", '["contracts", "2026", "contracts"]'])
async def test_title_tags_and_metadata_are_stored(server: Server, tags: str) -> None:
    account = await register(server.client)
    metadata = {"client": "Acme", "year": 2026, "nested": {"ok": True, "list": [1, "two"]}}
    fields = {"title": "  Master services agreement  ", "tags": tags, "metadata": json.dumps(metadata)}

    [item] = accepted(await upload(server, account, [text_file("msa.txt")], fields))

    for document in (
        item["document"],
        (await server.client.get(f"{DOCS}/{item['document']['id']}", headers=account.headers)).json(),
    ):
        assert document["title"] == "Master services agreement"
        assert document["filename"] == "msa.txt"
        assert document["tags"] == ["contracts", "2026"]
        assert document["metadata"] == metadata


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tags": '["contracts", 2026'}, "tags"),
        ({"tags": '["contracts", 2026]'}, "tags"),
        ({"metadata": "[1, 2]"}, "metadata"),
        ({"metadata": '"just a string"'}, "metadata"),
        ({"metadata": "{not json"}, "metadata"),
        ({"metadata": json.dumps({"notes": "x" * (16 * 1024)})}, "metadata"),
        ({"title": "t" * 501}, "title"),
    ],
    ids=[
        "tags-bad-json",
        "tags-not-strings",
        "metadata-array",
        "metadata-string",
        "metadata-bad-json",
        "metadata-over-16k",
        "title-too-long",
    ],
)
async def test_invalid_fields_are_refused_and_nothing_kept(server: Server, fields: dict[str, str], field: str) -> None:
    account = await register(server.client)

    response = await upload(server, account, [text_file()], fields)

    assert error_of(response, 422, "VALIDATION_ERROR")["details"] == {"field": field}
    await assert_nothing_kept(server, account)


async def test_metadata_of_exactly_16_kib_is_accepted(server: Server) -> None:
    account = await register(server.client)
    envelope = json.dumps({"notes": ""})
    metadata = json.dumps({"notes": "x" * (16 * 1024 - len(envelope))})
    assert len(metadata.encode()) == 16 * 1024

    [item] = accepted(await upload(server, account, [text_file()], {"metadata": metadata}))

    assert item["document"]["metadata"] == json.loads(metadata)


async def test_a_request_without_a_file_is_refused(server: Server) -> None:
    account = await register(server.client)
    headers = {**account.headers, **MULTIPART}

    fields_only = await server.client.post(DOCS, content=part("title", b"No file here") + closing(), headers=headers)
    assert "at least one file" in error_of(fields_only, 422, "VALIDATION_ERROR")["message"]

    empty = await server.client.post(DOCS, content=closing(), headers=headers)
    error_of(empty, 422, "VALIDATION_ERROR")

    as_json = await server.client.post(DOCS, json={"files": ["notes.txt"]}, headers=account.headers)
    assert "multipart/form-data" in error_of(as_json, 422, "VALIDATION_ERROR")["message"]

    no_boundary = await server.client.post(
        DOCS, content=b"x", headers={**account.headers, "Content-Type": "multipart/form-data"}
    )
    error_of(no_boundary, 422, "VALIDATION_ERROR")

    misnamed = await server.client.post(
        DOCS, content=part("attachment", NOTES, filename=b"notes.txt") + closing(), headers=headers
    )
    assert "'attachment'" in error_of(misnamed, 422, "VALIDATION_ERROR")["message"]

    after_a_good_file = await server.client.post(
        DOCS,
        content=part("files", NOTES, filename=b"notes.txt") + part("other", NOTES, filename=b"x.txt") + closing(),
        headers=headers,
    )
    error_of(after_a_good_file, 422, "VALIDATION_ERROR")
    await assert_nothing_kept(server, account)


async def test_the_singular_file_part_name_is_accepted(server: Server) -> None:
    account = await register(server.client)

    response = await server.client.post(
        DOCS, content=part("file", NOTES, filename=b"notes.txt") + closing(), headers={**account.headers, **MULTIPART}
    )

    [item] = accepted(response)
    assert item["document"]["filename"] == "notes.txt"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", b"\x7fELF\x02\x01\x01\x00" + bytes(200)),
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)),
        ("notes.pdf", b"Just some text pretending to be a PDF.\n"),
        ("notes.txt", b"\x7fELF\x02\x01\x01\x00" + bytes(200)),
        ("guide.docx", b"PK\x03\x04" + bytes(200)),
        ("page.html", b"no markup at all, only words\n"),
        ("README", b"A file without an extension.\n"),
    ],
    ids=["elf-named-pdf", "exe", "text-named-pdf", "elf-named-txt", "zip-named-docx", "text-named-html", "no-ext"],
)
async def test_unsupported_files_are_refused_and_removed(server: Server, name: str, content: bytes) -> None:
    account = await register(server.client)

    response = await upload(server, account, [("files", (name, content, "application/octet-stream"))])

    error_of(response, 415, "UNSUPPORTED_FILE_TYPE")
    await assert_nothing_kept(server, account)


async def test_one_unsupported_file_refuses_the_whole_upload(server: Server) -> None:
    account = await register(server.client)
    files = [text_file(), ("files", ("tool.exe", b"MZ" + bytes(100), "application/octet-stream"))]

    error_of(await upload(server, account, files), 415, "UNSUPPORTED_FILE_TYPE")

    await assert_nothing_kept(server, account)


async def test_an_oversized_file_is_refused_before_the_body_is_read(server_factory: ServerFactory) -> None:
    chunk_size, chunks = 64 * 1024, 48  # 3 MiB of file data
    consumed = 0

    async def body() -> AsyncGenerator[bytes, None]:
        nonlocal consumed
        yield b"--" + BOUNDARY.encode() + b"\r\n"
        yield b'Content-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
        for _ in range(chunks):
            consumed += 1
            yield b"a" * chunk_size
        yield b"\r\n" + closing()

    # The general body limit is raised so that the refusal comes from the upload limit.
    async with server_factory(max_upload_mb=1, http={"max_body_kb": 64 * 1024}) as server:
        account = await register(server.client)
        stream = body()
        try:
            response = await server.client.post(DOCS, content=stream, headers={**account.headers, **MULTIPART})
        finally:
            await stream.aclose()

        assert error_of(response, 413, "PAYLOAD_TOO_LARGE")["details"] == {"max_bytes": MIB}
        assert 0 < consumed < chunks
        await assert_nothing_kept(server, account)

        too_large = await upload(server, account, [text_file("big.txt", b"b" * (3 * MIB))])
        error_of(too_large, 413, "PAYLOAD_TOO_LARGE")
        await assert_nothing_kept(server, account)

        [item] = accepted(await upload(server, account, [text_file("exact.txt", b"c" * MIB)]))
        assert item["document"]["size_bytes"] == MIB
        assert len(server.stored()) == 1


async def test_uploads_are_limited_by_max_upload_mb_not_by_the_json_body_limit(server: Server) -> None:
    """FOLIO_MAX_UPLOAD_MB (100 by default) governs uploads; FOLIO_HTTP__MAX_BODY_KB (1 MiB) is for other bodies."""
    account = await register(server.client)
    settings = server.app.state.settings
    content = b"d" * (2 * MIB)
    assert settings.http.max_body_kb * 1024 < len(content) < settings.max_upload_mb * MIB

    [item] = accepted(await upload(server, account, [text_file("two-mib.txt", content)]))

    assert item["document"]["size_bytes"] == len(content)
    assert [path.read_bytes() for path in server.stored()] == [content]


@pytest.mark.parametrize(
    ("client_name", "display"),
    [
        (b"../../etc/passwd.txt", "passwd.txt"),
        (b"/var/www/../../tmp/evil.txt", "evil.txt"),
        ("q1\x07 re\x1bport\u202e\u200b.txt".encode(), "q1 report.txt"),
    ],
    ids=["traversal", "absolute", "control-characters"],
)
async def test_client_file_names_are_display_names_only(server: Server, client_name: bytes, display: str) -> None:
    account = await register(server.client)
    content = NOTES + client_name

    response = await server.client.post(
        DOCS, content=part("files", content, filename=client_name) + closing(), headers={**account.headers, **MULTIPART}
    )

    [item] = accepted(response)
    assert item["document"]["filename"] == display
    assert item["document"]["title"] == display
    row = await server.document_row(item["document"]["id"])
    assert row.storage_key is not None
    assert STORAGE_KEY.fullmatch(row.storage_key), row.storage_key
    assert display.rsplit(".", 1)[0] not in row.storage_key
    [stored] = server.stored()
    assert stored == server.files_dir / row.storage_key
    assert stored.read_bytes() == content
    data_dir = server.files_dir.parent
    assert [path for path in data_dir.rglob("*") if path.is_file()] == [stored]


async def test_the_same_content_is_deduplicated_unless_allowed(server: Server) -> None:
    account = await register(server.client)
    [first] = accepted(await upload(server, account, [text_file("first.txt")]))

    [again] = accepted(await upload(server, account, [text_file("renamed.txt")]))

    assert again["deduplicated"] is True
    assert again["job_id"] is None
    assert again["document"]["id"] == first["document"]["id"]
    assert again["document"]["filename"] == "first.txt"
    assert len(server.stored()) == 1
    assert await server.count(Document, account.org_id) == 1
    assert await server.count(Job, account.org_id) == 1

    [duplicate] = accepted(await upload(server, account, [text_file("copy.txt")], params={"allow_duplicate": "true"}))

    assert duplicate["deduplicated"] is False
    assert duplicate["job_id"] is not None
    assert duplicate["document"]["id"] != first["document"]["id"]
    assert duplicate["document"]["sha256"] == first["document"]["sha256"]
    assert duplicate["document"]["filename"] == "copy.txt"
    assert len(server.stored()) == 2
    assert await server.count(Document, account.org_id) == 2
    assert await server.count(Job, account.org_id) == 2


async def test_deduplication_stays_inside_the_organization(server: Server) -> None:
    owner_a = await register(server.client)
    owner_b = await register(server.client)
    [mine] = accepted(await upload(server, owner_a, [text_file()]))

    [theirs] = accepted(await upload(server, owner_b, [text_file()]))

    assert theirs["deduplicated"] is False
    assert theirs["job_id"] is not None
    assert theirs["document"]["id"] != mine["document"]["id"]
    assert len(server.stored()) == 2


async def test_uploading_needs_the_documents_write_scope(server: Server) -> None:
    owner = await register(server.client)
    viewer = await register(server.client)
    await add_member(server.client, owner, viewer, "viewer")

    as_viewer = await server.client.post(DOCS, files=[text_file()], headers=viewer.in_org(owner.org_id))
    assert error_of(as_viewer, 403, "FORBIDDEN")["details"] == {"missing_scopes": ["documents:write"]}

    read_key = await create_api_key(server.client, owner, scopes=["documents:read"])
    with_read_key = await server.client.post(DOCS, files=[text_file()], headers={"X-API-Key": read_key["secret"]})
    assert error_of(with_read_key, 403, "FORBIDDEN")["details"] == {"missing_scopes": ["documents:write"]}

    error_of(await server.client.post(DOCS, files=[text_file()]), 401, "AUTH_REQUIRED")
    await assert_nothing_kept(server, owner)

    editor = await register(server.client)
    await add_member(server.client, owner, editor, "editor")
    [by_editor] = accepted(await server.client.post(DOCS, files=[text_file()], headers=editor.in_org(owner.org_id)))
    write_key = await create_api_key(server.client, owner, scopes=["documents:read", "documents:write"])
    [by_key] = accepted(
        await server.client.post(
            DOCS, files=[text_file("other.txt", b"other")], headers={"X-API-Key": write_key["secret"]}
        )
    )
    assert await server.count(Document, owner.org_id) == 2

    document_id = by_editor["document"]["id"]
    for headers in (viewer.in_org(owner.org_id), {"X-API-Key": read_key["secret"]}):
        seen = await server.client.get(f"{DOCS}/{document_id}", headers=headers)
        assert seen.status_code == 200, seen.text
        assert seen.json()["id"] == document_id
    assert by_key["document"]["filename"] == "other.txt"


async def test_another_organizations_document_is_not_found(server: Server) -> None:
    owner_a = await register(server.client)
    owner_b = await register(server.client)
    [item] = accepted(await upload(server, owner_a, [text_file()]))
    document_id = item["document"]["id"]
    key_b = await create_api_key(server.client, owner_b, scopes=["documents:read"])

    for headers in (owner_b.headers, {"X-API-Key": key_b["secret"]}):
        error_of(await server.client.get(f"{DOCS}/{document_id}", headers=headers), 404, "DOCUMENT_NOT_FOUND")
    error_of(await server.client.get(f"{DOCS}/{uuid4()}", headers=owner_a.headers), 404, "DOCUMENT_NOT_FOUND")
    error_of(await server.client.get(f"{DOCS}/{document_id}"), 401, "AUTH_REQUIRED")
    mine = await server.client.get(f"{DOCS}/{document_id}", headers=owner_a.headers)
    assert mine.status_code == 200, mine.text


async def test_concurrent_uploads_all_succeed(server: Server) -> None:
    account = await register(server.client)
    contents = [f"Concurrent upload number {number}.\n".encode() for number in range(10)]

    responses = await asyncio.gather(
        *(upload(server, account, [text_file(f"file{number}.txt", content)]) for number, content in enumerate(contents))
    )

    items = [accepted(response)[0] for response in responses]
    assert [item["document"]["sha256"] for item in items] == [hashlib.sha256(c).hexdigest() for c in contents]
    assert len({item["document"]["id"] for item in items}) == 10
    assert len({item["job_id"] for item in items}) == 10
    assert await server.count(Document, account.org_id) == 10
    assert await server.count(Job, account.org_id) == 10
    assert sorted(path.read_bytes() for path in server.stored()) == sorted(contents)
