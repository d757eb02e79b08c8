"""`folio ingest` against the live server: files and folders uploaded through the SDK, their jobs followed (over the
event stream, else by polling), the summary on stdout, progress and notices on stderr, and its exit codes. How the
SDK follows a dropped stream or a server without batch reads is tested with it (tests/client)."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from folio_client import Folio, Job

from folio.cli._ingest import plan
from tests.cli.conftest import Account, RunFolio, Served, folio_command, new_account, until, write_folder
from tests.cli_process import folio_env, run_folio
from tests.processes import free_port
from tests.recorder import DOCUMENTS, EVENTS, JOBS

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(200)
BROKEN_PDF = b"%PDF-1.7\n" + b"\x00 not the rest of a PDF \xff" * 40


@dataclass
class Ingested:
    code: int
    files: dict[str, dict[str, Any]]  # file name -> its outcome
    stderr: str


@pytest.fixture
def account(served: Served) -> Account:
    return new_account(served.url)


class Ingest(Protocol):
    def __call__(self, *args: str | Path, key: str | None = ..., server: str | None = None) -> Ingested:
        """`folio ingest *args --json`, with the account's key unless `key` says otherwise."""


@pytest.fixture
def ingest(folio: RunFolio, account: Account) -> Ingest:

    def run(*args: str | Path, key: str | None = account.api_key, server: str | None = None) -> Ingested:
        done = folio("ingest", *map(str, args), "--json", key=key, server=server)
        files = {Path(each["path"]).name: each for each in json.loads(done.stdout)["files"]} if done.stdout else {}
        return Ingested(done.exit_code, files, done.stderr)

    return run


def documents(served: Served, account: Account) -> dict[str, Any]:
    with Folio(served.url, api_key=account.api_key) as client:
        return {document.filename: document for document in client.documents.list(limit=100)}


def jobs(served: Served, account: Account) -> list[Job]:
    with Folio(served.url, api_key=account.api_key) as client:
        return list(client.jobs.list(limit=100))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A Markdown, a text and an HTML file, and one of a type Folio does not take."""
    folder = write_folder(
        tmp_path / "docs",
        {
            "guide.md": "# Guide\n\nInstall Folio, then ingest your files.\n",
            "notes.txt": "Meeting notes: ship the ingest command on Friday.\n",
            "page.html": "<!DOCTYPE html><html><head><title>Page</title></head><body><p>Hi.</p></body>",
        },
    )
    (folder / "data.xyz").write_bytes(b"\x00\x01 not a document")
    return folder


def test_a_folder_is_ingested_and_summarised_on_stdout(
    folder: Path, folio: RunFolio, account: Account, served: Served
) -> None:
    done = folio("ingest", str(folder), key=account.api_key)

    assert done.exit_code == 0, done.stderr
    header, *rows, counts = done.stdout.splitlines()
    assert header.split() == ["FILE", "STATUS", "PAGES", "CHUNKS", "ERROR"]
    stored = documents(served, account)
    assert sorted(row.split() for row in rows) == sorted(
        [str(folder / name), "ready", str(stored[name].page_count), str(stored[name].chunk_count)]
        for name in ("guide.md", "notes.txt", "page.html")
    )
    assert counts == "3 ready, 0 duplicate, 0 failed."
    assert "Skipped 1 file(s) of unsupported types or hidden." in done.stderr
    assert done.stderr.count("ready: 1 chunk(s)") == 3


def test_the_json_summary_has_every_file_with_its_document_and_job(
    folder: Path, ingest: Ingest, account: Account, served: Served
) -> None:
    run = ingest(folder)

    assert run.code == 0, run.stderr
    stored = documents(served, account)
    assert set(run.files) == {"guide.md", "notes.txt", "page.html"}
    for name, outcome in run.files.items():
        assert outcome["status"] == "ready"
        assert outcome["document_id"] == str(stored[name].id)
        assert (outcome["pages"], outcome["chunks"]) == (stored[name].page_count, stored[name].chunk_count)
        assert (outcome["error_code"], outcome["resumed"]) == (None, False)
    assert {outcome["job_id"] for outcome in run.files.values()} == {str(job.id) for job in jobs(served, account)}


def test_subfolders_are_ingested_only_with_recursive(tmp_path: Path, ingest: Ingest) -> None:
    folder = write_folder(tmp_path / "top", {"top.md": "Top level.\n", "nested/deeper/deep.txt": "Two folders down.\n"})

    flat = ingest(folder)
    recursive = ingest(folder, "--recursive")

    assert flat.code == 0, flat.stderr
    assert set(flat.files) == {"top.md"}
    assert "Did not look into 1 subfolder(s); --recursive does." in flat.stderr
    assert recursive.code == 0, recursive.stderr
    assert {name: file["status"] for name, file in recursive.files.items()} == {
        "top.md": "duplicate",
        "deep.txt": "ready",
    }


def test_tags_given_on_the_command_line_are_stored(
    folder: Path, ingest: Ingest, account: Account, served: Served
) -> None:
    run = ingest(folder / "notes.txt", "--tags", " contracts, 2026 ,")

    assert run.code == 0, run.stderr
    assert documents(served, account)["notes.txt"].tags == ["contracts", "2026"]


def test_a_file_whose_content_contradicts_its_type_fails_with_its_code(tmp_path: Path, ingest: Ingest) -> None:
    write_folder(tmp_path, {"fine.txt": "This one is fine.\n"})
    (tmp_path / "invoice.pdf").write_bytes(ELF)

    run = ingest(tmp_path)

    assert run.code == 1
    assert run.files["invoice.pdf"]["status"] == "failed"
    assert run.files["invoice.pdf"]["error_code"] == "UNSUPPORTED_FILE_TYPE"
    assert f"Refused {tmp_path / 'invoice.pdf'}: UNSUPPORTED_FILE_TYPE: " in run.stderr
    assert run.files["fine.txt"]["status"] == "ready"


def test_a_job_that_fails_is_reported_with_its_code_from_the_stream(
    tmp_path: Path, ingest: Ingest, server: Served
) -> None:
    write_folder(tmp_path, {"fine.txt": "This one is fine.\n"})
    (tmp_path / "broken.pdf").write_bytes(BROKEN_PDF)

    run = ingest(tmp_path)

    assert run.code == 1
    assert (run.files["broken.pdf"]["status"], run.files["broken.pdf"]["error_code"]) == ("failed", "CORRUPT_FILE")
    assert run.files["broken.pdf"]["error_message"]
    assert "failed: CORRUPT_FILE" in run.stderr
    assert run.files["fine.txt"]["status"] == "ready"
    # Followed over one event stream: no job read one by one.
    assert len(server.recorder.made("GET", EVENTS)) == 1
    assert server.recorder.made_under(f"{JOBS}/") == []


def test_ingesting_the_same_folder_again_reports_duplicates(
    folder: Path, ingest: Ingest, folio: RunFolio, account: Account, served: Served
) -> None:
    assert ingest(folder).code == 0

    again = folio("ingest", str(folder), key=account.api_key)

    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "0 ready, 3 duplicate, 0 failed."
    assert again.stderr.count("already ingested") == 3
    assert len(documents(served, account)) == 3


def test_a_checkpoint_resumes_a_folder_without_sending_its_files_again(
    folder: Path, ingest: Ingest, server: Served, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "upload.jsonl"
    first = ingest(folder, "--checkpoint", checkpoint)
    server.recorder.requests.clear()

    resumed = ingest(folder, "--checkpoint", checkpoint)
    (tmp_path / "other.md").write_text("Another file.\n")
    two_paths = ingest(folder, tmp_path / "other.md", "--checkpoint", checkpoint)

    assert first.code == resumed.code == 0, resumed.stderr
    assert {file["status"] for file in resumed.files.values()} == {"ready"}
    assert {file["resumed"] for file in resumed.files.values()} == {True}
    assert {name: file["document_id"] for name, file in resumed.files.items()} == {
        name: file["document_id"] for name, file in first.files.items()
    }
    assert server.recorder.made("POST", DOCUMENTS) == []
    assert two_paths.code == 2
    assert "--checkpoint works with one folder" in two_paths.stderr


def test_without_an_event_stream_the_jobs_are_polled_in_batches(
    tmp_path: Path, ingest: Ingest, account: Account, server: Served
) -> None:
    server.recorder.without_stream = True
    folder = write_folder(
        tmp_path, {f"note{number}.md": f"# Note {number}\n\nNumber {number}.\n" for number in range(4)}
    )

    run = ingest(folder)

    assert run.code == 0, run.stderr
    assert {file["status"] for file in run.files.values()} == {"ready"}
    assert server.recorder.made_under(f"{JOBS}/") == []
    reads = server.recorder.made("GET", JOBS)
    assert set(reads[0].ids) == {str(job.id) for job in jobs(server, account)}
    assert all(set(later.ids) <= set(earlier.ids) for earlier, later in zip(reads, reads[1:], strict=False))


def test_usage_errors_exit_2_with_a_clear_message(folder: Path, tmp_path: Path, ingest: Ingest, served: Served) -> None:
    (tmp_path / "only.xyz").write_text("nothing Folio reads")
    unreachable = f"http://127.0.0.1:{free_port()}"

    no_key = ingest(folder, key=None)
    refused = ingest(folder, key="folio_not_a_real_key")
    gone = ingest(folder, server=unreachable)
    empty = ingest(tmp_path / "only.xyz")
    missing = ingest(tmp_path / "absent")

    for run in (no_key, refused, gone, empty, missing):
        assert run.code == 2, run.stderr
        assert run.files == {}
        assert "Traceback" not in run.stderr
    assert "No API key" in no_key.stderr
    assert "The server refused the API key (AUTH_INVALID: " in refused.stderr
    assert f"Cannot reach the Folio server at {unreachable}" in gone.stderr
    assert "No files to ingest. Supported: " in empty.stderr
    assert f"No such file or folder: {tmp_path / 'absent'}" in missing.stderr


def test_the_plan_names_each_file_once_and_leaves_out_hidden_and_unsupported_ones(folder: Path) -> None:
    (folder / ".draft.md").write_text("hidden")
    (folder / ".git").mkdir()
    (folder / ".git" / "notes.md").write_text("hidden too")
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.md").write_text("inner")

    planned = plan(
        [folder / "notes.txt", folder, folder, folder / "sub" / "inner.md", folder / ".draft.md"], recursive=False
    )

    assert planned.folders == [(folder, "*")]
    assert [path.name for path in planned.sizes] == ["guide.md", "notes.txt", "page.html", "inner.md"]
    assert planned.files == [folder / "sub" / "inner.md"]
    assert (len(planned.skipped), planned.unsearched_folders, planned.missing) == (2, 1, [])


async def test_folio_ingest_runs_as_a_command(folder: Path, account: Account, served: Served, tmp_path: Path) -> None:
    env = folio_env(FOLIO_SERVER=served.url, FOLIO_API_KEY=account.api_key, XDG_CONFIG_HOME=str(tmp_path))

    done = await run_folio("ingest", str(folder), "--tags", "cli", env=env, cwd=tmp_path)

    assert done.code == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "3 ready, 0 duplicate, 0 failed."
    assert {tuple(document.tags) for document in documents(served, account).values()} == {("cli",)}


async def test_an_interrupted_ingest_exits_130_and_the_server_goes_on(
    folder: Path, account: Account, server: Served, gate: threading.Event, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        *folio_command("ingest", str(folder)),
        env=folio_env(FOLIO_SERVER=server.url, FOLIO_API_KEY=account.api_key, XDG_CONFIG_HOME=str(tmp_path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.to_thread(until, lambda: server.recorder.made("GET", EVENTS), seconds=60)
    process.send_signal(signal.SIGINT)
    async with asyncio.timeout(30):
        stdout, stderr = await process.communicate()

    assert process.returncode == 130, stderr
    assert stdout == b""
    assert b"Stopped; the server goes on ingesting what it received" in stderr
    gate.set()
    with Folio(server.url, api_key=account.api_key) as client:
        finished = client.jobs.wait_all([job.id for job in client.jobs.list()], timeout=60)
    assert [job.status for job in finished] == ["succeeded"] * 3
