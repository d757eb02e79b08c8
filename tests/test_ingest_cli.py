"""`folio ingest` against a real server: uvicorn in a background thread, its own event loop, the test database.

The command runs in a worker thread (`asyncio.to_thread`) so the session's event loop keeps going meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from io import StringIO
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from typer.testing import CliRunner

import folio.cli
import folio.events.sse
import folio.ingest_client.follow
from folio.ingest_client import ingest, ingest_command
from folio.ingest_client.files import collect_files
from folio.main import create_app
from tests.cli_process import folio_env, run_folio
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.ingest_client.recorder import DOCUMENTS, EVENTS, JOBS, Recorder
from tests.live_server import serve_in_thread

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(200)
needs_stream = pytest.mark.skipif(
    EVENTS not in [getattr(route, "path", None) for route in folio.events.sse.router.routes],
    reason="the server offers no event stream (GET /api/v1/events) yet",
)
_numbers = count()


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(create_app(make_settings(database_url)))
    with serve_in_thread(recorder) as url:
        yield url, recorder


@pytest.fixture
def server_url(served: tuple[str, Recorder]) -> str:
    return served[0]


@pytest.fixture
def recorder(served: tuple[str, Recorder]) -> Iterator[Recorder]:
    """What the server saw; each test starts with no requests recorded and the server as it is."""
    served[1].reset()
    yield served[1]
    served[1].reset()


@pytest.fixture
async def api(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the live server, authenticated with a new account's API key (documents:read and write)."""
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        email = f"ingest{next(_numbers)}@example.com"
        registered = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Ingest"}
        )
        assert registered.status_code == 201, registered.text
        key = await client.post(
            "/api/v1/api-keys",
            json={"name": "ingest", "scopes": ["documents:read", "documents:write"]},
            headers={"Authorization": f"Bearer {registered.json()['access_token']}"},
        )
        assert key.status_code == 201, key.text
        client.headers["X-API-Key"] = key.json()["secret"]
        yield client


@dataclass
class Run:
    code: int
    output: str

    def rows(self) -> dict[str, list[str]]:
        """The summary table: file name -> [status, pages, chunks, error]."""
        table: dict[str, list[str]] = {}
        for line in self.output.splitlines():
            cells = [cell.strip() for cell in line.split("│")]
            if len(cells) == 7 and cells[1] not in ("", "File"):
                table[Path(cells[1]).name] = cells[2:6]
        return table


async def run_ingest(*paths: Path, api: httpx.AsyncClient | None, **options: Any) -> Run:
    buffer = StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    code = await asyncio.to_thread(
        ingest,
        list(paths),
        recursive=options.get("recursive", False),
        tags=options.get("tags", []),
        server=options.get("server") or str(api.base_url if api else "http://127.0.0.1:8000"),
        api_key=api.headers["X-API-Key"] if api else options.get("api_key", ""),
        console=console,
    )
    return Run(code, buffer.getvalue())


async def documents(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/documents")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A Markdown, a text and an HTML file, and one of a type Folio does not take."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "guide.md").write_text("# Guide\n\nInstall Folio, then ingest your files.\n")
    (folder / "notes.txt").write_text("Meeting notes: ship the ingest command on Friday.\n")
    (folder / "page.html").write_text("<!DOCTYPE html><html><head><title>Page</title></head><body><p>Hi.</p></body>")
    (folder / "data.xyz").write_bytes(b"\x00\x01 not a document")
    return folder


async def test_a_folder_is_ingested_and_unsupported_files_are_skipped(folder: Path, api: httpx.AsyncClient) -> None:
    run = await run_ingest(folder, api=api)

    assert run.code == 0, run.output
    assert "Skipped 1 file(s)" in run.output
    rows = run.rows()
    assert set(rows) == {"guide.md", "notes.txt", "page.html"}
    stored = {document["filename"]: document for document in await documents(api)}
    for name, (status, pages, chunks, error) in rows.items():
        assert status == "ready", run.output
        assert int(chunks) == stored[name]["chunk_count"] >= 1
        assert int(pages) == stored[name]["page_count"]
        assert error == ""
    assert "3 ready, 0 duplicate, 0 failed." in run.output


async def test_subfolders_are_ingested_only_with_recursive(tmp_path: Path, api: httpx.AsyncClient) -> None:
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "top.md").write_text("Top level.\n")
    (tmp_path / "nested" / "deeper" / "deep.txt").write_text("Two folders down.\n")

    flat = await run_ingest(tmp_path, api=api)
    assert flat.code == 0, flat.output
    assert set(flat.rows()) == {"top.md"}
    assert "Did not look into 1 subfolder(s)" in flat.output

    recursive = await run_ingest(tmp_path, api=api, recursive=True)
    assert recursive.code == 0, recursive.output
    assert {name: row[0] for name, row in recursive.rows().items()} == {"top.md": "duplicate", "deep.txt": "ready"}


async def test_tags_given_on_the_command_line_are_stored(folder: Path, api: httpx.AsyncClient) -> None:
    app = typer.Typer()
    app.command()(ingest_command)
    env = {"FOLIO_SERVER": str(api.base_url), "FOLIO_API_KEY": api.headers["X-API-Key"]}

    result = await asyncio.to_thread(
        CliRunner().invoke, app, [str(folder / "notes.txt"), "--tags", " contracts, 2026 ,"], env=env
    )

    assert result.exit_code == 0, result.output
    [document] = await documents(api)
    fetched = await api.get(f"/api/v1/documents/{document['id']}")
    assert fetched.json()["tags"] == ["contracts", "2026"]


async def test_a_file_whose_content_contradicts_its_type_fails_with_its_code(
    tmp_path: Path, api: httpx.AsyncClient
) -> None:
    (tmp_path / "invoice.pdf").write_bytes(ELF)
    (tmp_path / "fine.txt").write_text("This one is fine.\n")

    run = await run_ingest(tmp_path, api=api)

    assert run.code == 1, run.output
    rows = run.rows()
    assert rows["invoice.pdf"][0] == "failed"
    assert rows["invoice.pdf"][3].startswith("UNSUPPORTED_FILE_TYPE: ")
    assert rows["fine.txt"][0] == "ready"


@needs_stream
async def test_a_job_that_fails_is_reported_with_its_code_from_the_stream(
    tmp_path: Path, api: httpx.AsyncClient, recorder: Recorder
) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00 not the rest of a PDF \xff" * 40)
    (tmp_path / "fine.txt").write_text("This one is fine.\n")
    recorder.requests.clear()

    run = await run_ingest(tmp_path, api=api)

    assert run.code == 1, run.output
    rows = run.rows()
    assert rows["broken.pdf"][0] == "failed"
    assert rows["broken.pdf"][3].startswith("CORRUPT_FILE: ")
    assert "failed: CORRUPT_FILE" in run.output
    assert rows["fine.txt"][0] == "ready"
    assert len(recorder.made("GET", EVENTS)) == 1
    assert len(recorder.made("GET", JOBS)) == 1
    assert recorder.made_under(f"{JOBS}/") == []


async def test_ingesting_the_same_folder_again_reports_duplicates(folder: Path, api: httpx.AsyncClient) -> None:
    first = await run_ingest(folder, api=api)
    assert first.code == 0, first.output

    second = await run_ingest(folder, api=api)

    assert second.code == 0, second.output
    assert {row[0] for row in second.rows().values()} == {"duplicate"}
    assert "already ingested" in second.output
    assert len(await documents(api)) == 3


async def test_without_an_api_key_it_stops_with_a_usage_error(folder: Path, server_url: str) -> None:
    app = typer.Typer()
    app.command()(ingest_command)

    result = CliRunner().invoke(app, [str(folder)], env={"FOLIO_API_KEY": None, "FOLIO_SERVER": server_url})

    assert result.exit_code == 2
    assert "No API key" in result.output


async def test_an_unreachable_server_is_a_usage_error_with_a_clear_message(folder: Path) -> None:
    server = f"http://127.0.0.1:{free_port()}"

    run = await run_ingest(folder, api=None, server=server, api_key="folio_test_key")

    assert run.code == 2
    assert f"Cannot reach the Folio server at {server}" in run.output
    assert "Traceback" not in run.output


async def test_a_refused_api_key_stops_the_run_with_a_usage_error(folder: Path, server_url: str) -> None:
    run = await run_ingest(folder, api=None, server=server_url, api_key="folio_not_a_real_key")

    assert run.code == 2
    assert "The server refused the API key (AUTH_" in run.output
    assert "Ingestion summary" not in run.output


async def test_nothing_to_ingest_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "data.xyz").write_text("nothing Folio reads")

    empty = await run_ingest(tmp_path, api=None, api_key="folio_test_key")
    missing = await run_ingest(tmp_path / "absent", api=None, api_key="folio_test_key")

    assert empty.code == 2
    assert "No files to ingest" in empty.output
    assert missing.code == 2
    assert "No such file or folder" in missing.output


def test_collecting_leaves_out_hidden_files_and_names_each_file_once(folder: Path) -> None:
    (folder / ".draft.md").write_text("hidden")
    (folder / ".git").mkdir()
    (folder / ".git" / "notes.md").write_text("hidden too")

    collected = collect_files([folder, folder / "notes.txt"], recursive=True)

    assert [path.name for path in collected.files] == ["guide.md", "notes.txt", "page.html"]
    assert collected.skipped == 1
    assert not collected.missing


@pytest.mark.skipif(
    "ingest" not in [command.name for command in folio.cli.app.registered_commands],
    reason="`folio ingest` is not registered in folio.cli yet",
)
async def test_folio_ingest_runs_as_a_command(folder: Path, api: httpx.AsyncClient, tmp_path: Path) -> None:
    env = folio_env(FOLIO_SERVER=str(api.base_url), FOLIO_API_KEY=api.headers["X-API-Key"])

    done = await run_folio("ingest", str(folder), "--tags", "cli", env=env, cwd=tmp_path)

    assert done.code == 0, done.stdout + done.stderr
    assert "3 ready, 0 duplicate, 0 failed." in done.stdout
    assert {tuple(document["tags"]) for document in await documents(api)} == {("cli",)}


@dataclass
class Shown:
    bar: TaskID
    note: str
    batch_reads_before: int


def notes_shown(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> list[Shown]:
    """Every note the job bars show, with how many batch reads of jobs the server had answered by then."""
    shown: list[Shown] = []
    update = Progress.update

    def recording(self: Progress, task_id: TaskID, **fields: Any) -> None:
        if "note" in fields:
            shown.append(Shown(task_id, str(fields["note"]), len(recorder.made("GET", JOBS))))
        update(self, task_id, **fields)

    monkeypatch.setattr(Progress, "update", recording)
    return shown


def notes_folder(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for number in range(count):
        (folder / f"note{number}.md").write_text(f"# Note {number}\n\nNote number {number} on following ingestion.\n")
    return folder


async def job_ids(api: httpx.AsyncClient) -> set[str]:
    response = await api.get(JOBS, params={"limit": 100})
    return {job["id"] for job in response.json()["items"]}


@needs_stream
async def test_a_folder_is_followed_over_one_event_stream_without_polling(
    tmp_path: Path, api: httpx.AsyncClient, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = notes_folder(tmp_path, 6)
    shown = notes_shown(monkeypatch, recorder)
    recorder.requests.clear()

    run = await run_ingest(folder, api=api)

    assert run.code == 0, run.output
    assert [row[0] for row in run.rows().values()] == ["ready"] * 6, run.output
    [stream] = recorder.made("GET", EVENTS)
    assert set(stream.query["types"][0].split(",")) >= {"job.succeeded", "job.failed", "job.cancelled", "job.progress"}
    # Listening before the first upload, so that no job can end unheard.
    assert recorder.requests.index(stream) < recorder.requests.index(recorder.made("POST", DOCUMENTS)[0])
    assert recorder.made_under(f"{JOBS}/") == []
    # One batch read settles every job once the stream said they ended.
    [reconciliation] = recorder.made("GET", JOBS)
    assert set(reconciliation.ids) == await job_ids(api)
    # Each bar showed how its job ended as soon as the stream told it, before anything was read.
    assert len({note.bar for note in shown if "succeeded" in note.note and not note.batch_reads_before}) == 6
    assert run.output.count("100% ready: 1 chunk(s)") == 6, run.output
    assert "following the jobs by polling" not in run.output


async def test_without_an_event_stream_the_jobs_are_polled_in_batches(
    tmp_path: Path, api: httpx.AsyncClient, recorder: Recorder
) -> None:
    recorder.without_stream = True
    folder = notes_folder(tmp_path, 6)
    recorder.requests.clear()

    run = await run_ingest(folder, api=api)

    assert run.code == 0, run.output
    assert [row[0] for row in run.rows().values()] == ["ready"] * 6, run.output
    assert "No live events from the server (it answers 404 Not Found); following the jobs by polling." in run.output
    assert len(recorder.made("GET", EVENTS)) == 1
    assert recorder.made_under(f"{JOBS}/") == []
    reads = recorder.made("GET", JOBS)
    # Each read asks for every job still running: one request per interval, whatever the number of jobs.
    assert set(reads[0].ids) == await job_ids(api)
    for earlier, later in itertools.pairwise(reads):
        assert set(later.ids) <= set(earlier.ids)


async def test_more_jobs_than_a_batch_read_takes_are_read_in_several(
    tmp_path: Path, api: httpx.AsyncClient, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folio.ingest_client.follow, "BATCH", 2)
    recorder.without_stream = True
    folder = notes_folder(tmp_path, 3)
    recorder.requests.clear()

    run = await run_ingest(folder, api=api)

    assert run.code == 0, run.output
    reads = recorder.made("GET", JOBS)
    assert all(1 <= len(read.ids) <= 2 for read in reads)
    assert set(reads[0].ids) | set(reads[1].ids) == await job_ids(api)


async def test_a_server_without_batch_reads_is_polled_job_by_job(
    folder: Path, tmp_path: Path, api: httpx.AsyncClient, recorder: Recorder
) -> None:
    (tmp_path / "earlier.md").write_text("An earlier job, which a listing shows too.\n")
    assert (await run_ingest(tmp_path / "earlier.md", api=api)).code == 0
    earlier = await job_ids(api)
    recorder.without_stream = recorder.without_batch_reads = True
    recorder.requests.clear()

    run = await run_ingest(folder, api=api)

    assert run.code == 0, run.output
    assert {row[0] for row in run.rows().values()} == {"ready"}
    polled = {seen.path.rsplit("/", 1)[1] for seen in recorder.made_under(f"{JOBS}/")}
    assert polled == await job_ids(api) - earlier


@needs_stream
async def test_a_dropped_stream_is_resumed_once_after_its_last_event(
    tmp_path: Path, api: httpx.AsyncClient, recorder: Recorder
) -> None:
    recorder.streams_to_cut = 1
    folder = notes_folder(tmp_path, 3)
    recorder.requests.clear()

    run = await run_ingest(folder, api=api)

    assert run.code == 0, run.output
    assert [row[0] for row in run.rows().values()] == ["ready"] * 3, run.output
    first, resumed = recorder.made("GET", EVENTS)
    assert "last-event-id" not in first.headers
    assert resumed.headers["last-event-id"] == recorder.cut_after[0] != ""
    assert recorder.made_under(f"{JOBS}/") == []
    assert len(recorder.made("GET", JOBS)) == 1
    assert "following the jobs by polling" not in run.output


@needs_stream
async def test_a_stream_that_drops_again_gives_way_to_polling(
    tmp_path: Path, api: httpx.AsyncClient, recorder: Recorder
) -> None:
    recorder.streams_to_cut = 2
    folder = notes_folder(tmp_path, 3)
    recorder.requests.clear()

    run = await run_ingest(folder, api=api)

    assert run.code == 0, run.output
    assert [row[0] for row in run.rows().values()] == ["ready"] * 3, run.output
    assert len(recorder.made("GET", EVENTS)) == 2
    assert "The event stream ended (" in run.output
    assert recorder.made_under(f"{JOBS}/") == []
    assert recorder.made("GET", JOBS)


@needs_stream
async def test_jobs_whose_outcome_the_stream_never_tells_are_read_when_it_falls_quiet(
    tmp_path: Path, api: httpx.AsyncClient, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folio.ingest_client.follow, "QUIET_CHECK", 0.5)
    recorder.lost_types = frozenset({"job.succeeded", "job.failed", "job.cancelled"})
    folder = notes_folder(tmp_path, 3)
    recorder.requests.clear()

    run = await run_ingest(folder, api=api)

    assert run.code == 0, run.output
    assert [row[0] for row in run.rows().values()] == ["ready"] * 3, run.output
    assert len(recorder.made("GET", EVENTS)) == 1
    assert recorder.made_under(f"{JOBS}/") == []
    assert set(recorder.made("GET", JOBS)[0].ids) == await job_ids(api)
