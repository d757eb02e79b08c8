"""`folio documents`, `folio jobs` and `folio summarize` against the live server: text and JSON, jobs followed
live, and the exit codes of what succeeds, fails, is missing or malformed, and of an interruption."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from folio_client import Folio
from typer.testing import Result

from tests.cli.conftest import CORPUS, Account, RunFolio, Served, folio_command, new_account, until
from tests.cli_process import folio_env
from tests.recorder import EVENTS

BROKEN_PDF = b"%PDF-1.7\n" + b"\x00 not the rest of a PDF \xff" * 40


def documents_of(account: Account, served: Served) -> dict[str, UUID]:
    with Folio(served.url, api_key=account.api_key) as client:
        return {document.filename: document.id for document in client.documents.list(limit=100)}


@pytest.fixture
def account(served: Served) -> Account:
    """An organization of the test's own (the corpus's stays as it is)."""
    return new_account(served.url)


def upload(served: Served, account: Account, name: str, content: bytes) -> tuple[UUID, UUID]:
    """The document and job ids of an upload."""
    with Folio(served.url, api_key=account.api_key) as client:
        uploaded = client.documents.upload(content, filename=name)
    assert uploaded.job_id is not None
    return uploaded.document.id, uploaded.job_id


def test_documents_list_prints_a_line_per_document(corpus: Account, folio: RunFolio) -> None:
    done = folio("documents", "list", key=corpus.api_key)

    assert done.exit_code == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "PAGES", "CHUNKS", "CREATED", "TITLE"]
    assert sorted(row.split(maxsplit=6)[6] for row in rows) == ["Expenses", "Leave policy", "security.txt"]
    assert {row.split()[1] for row in rows} == {"ready"}


def test_documents_list_json_takes_status_and_limit(corpus: Account, folio: RunFolio) -> None:
    ready = folio("documents", "list", "--status", "ready", "--limit", "2", "--json", key=corpus.api_key)
    failed = folio("documents", "list", "--status", "failed", "--json", key=corpus.api_key)
    unknown = folio("documents", "list", "--status", "lost", key=corpus.api_key)

    assert ready.exit_code == failed.exit_code == 0
    assert [document["status"] for document in json.loads(ready.stdout)["items"]] == ["ready", "ready"]
    assert json.loads(failed.stdout) == {"items": []}
    assert unknown.exit_code == 2


def test_documents_get_prints_one_document_or_fails(corpus: Account, served: Served, folio: RunFolio) -> None:
    leave = documents_of(corpus, served)["leave.md"]

    text = folio("documents", "get", str(leave), key=corpus.api_key)
    as_json = folio("documents", "get", str(leave), "--json", key=corpus.api_key)
    missing = folio("documents", "get", str(uuid4()), key=corpus.api_key)
    malformed = folio("documents", "get", "not-an-id", key=corpus.api_key)

    assert text.exit_code == as_json.exit_code == 0
    assert f"id         {leave}" in text.stdout.splitlines()
    assert "status     ready" in text.stdout.splitlines()
    document = json.loads(as_json.stdout)
    assert (document["id"], document["title"], document["chunk_count"]) == (str(leave), "Leave policy", 1)
    assert missing.exit_code == 1
    assert missing.stdout == ""
    assert missing.stderr.startswith("DOCUMENT_NOT_FOUND: ")
    assert malformed.exit_code == 2


def test_documents_delete_removes_it(account: Account, served: Served, folio: RunFolio) -> None:
    document_id, _ = upload(served, account, "gone.txt", b"Soon gone.\n")

    deleted = folio("documents", "delete", str(document_id), key=account.api_key)
    again = folio("documents", "delete", str(document_id), key=account.api_key)

    assert deleted.exit_code == again.exit_code == 0
    assert deleted.stdout == ""
    assert f"Deleted document {document_id}." in deleted.stderr
    assert folio("documents", "get", str(document_id), key=account.api_key).exit_code == 1


def test_jobs_list_and_get(corpus: Account, folio: RunFolio) -> None:
    listed = folio("jobs", "list", "--kind", "ingest_document", "--status", "succeeded", "--json", key=corpus.api_key)
    assert listed.exit_code == 0, listed.stderr
    jobs = json.loads(listed.stdout)["items"]
    assert len(jobs) == len(CORPUS)
    job_id = jobs[0]["id"]

    text = folio("jobs", "list", key=corpus.api_key)
    one = folio("jobs", "get", job_id, "--json", key=corpus.api_key)

    assert text.stdout.splitlines()[0].split() == ["ID", "KIND", "STATUS", "PROGRESS", "CREATED", "ERROR"]
    assert f"{job_id}  ingest_document  succeeded  100%" in text.stdout
    assert json.loads(one.stdout)["status"] == "succeeded"


def test_jobs_watch_exits_by_how_the_job_ended(account: Account, served: Served, folio: RunFolio) -> None:
    _, fine = upload(served, account, "fine.txt", b"This one is fine.\n")
    _, broken = upload(served, account, "broken.pdf", BROKEN_PDF)

    succeeded = folio("jobs", "watch", str(fine), key=account.api_key)
    failed = folio("jobs", "watch", str(broken), key=account.api_key)
    missing = folio("jobs", "watch", str(uuid4()), key=account.api_key)

    assert (succeeded.exit_code, succeeded.stdout) == (0, f"{fine} succeeded\n")
    assert (failed.exit_code, failed.stdout) == (1, f"{broken} failed\n")
    assert "CORRUPT_FILE: " in failed.stderr
    assert missing.exit_code == 1
    assert "JOB_NOT_FOUND: Job not found." in missing.stderr


def test_jobs_watch_follows_a_running_job_live(
    account: Account, served: Served, folio: RunFolio, gate: threading.Event
) -> None:
    _, job_id = upload(served, account, "slow.md", b"# Slow\n\nIt waits for the test.\n")
    watched: list[Result] = []
    served.recorder.requests.clear()

    watching = threading.Thread(
        target=lambda: watched.append(folio("jobs", "watch", str(job_id), "--json", key=account.api_key))
    )
    watching.start()
    until(lambda: served.recorder.made("GET", EVENTS))
    gate.set()
    watching.join(timeout=60)

    [done] = watched
    assert done.exit_code == 0, done.stderr
    states = [json.loads(line) for line in done.stdout.splitlines()]
    assert {state["job_id"] for state in states} == {str(job_id)}
    assert states[0]["status"] in ("queued", "running")
    assert (states[-1]["status"], states[-1]["progress"]) == ("succeeded", 100)
    assert {"chunking", "embedding"} <= {state["stage"] for state in states}


def test_summarize_starts_a_summary_and_waits_for_its_text(corpus: Account, served: Served, folio: RunFolio) -> None:
    leave = str(documents_of(corpus, served)["leave.md"])

    started = folio("summarize", leave, key=corpus.api_key)
    waited = folio("summarize", leave, "--wait", "--length", "short", key=corpus.api_key)
    as_json = folio("summarize", leave, "--wait", "--format", "bullets", "--json", key=corpus.api_key)
    missing = folio("summarize", str(uuid4()), key=corpus.api_key)

    assert started.exit_code == 0, started.stderr
    assert UUID(started.stdout.strip())
    assert "folio jobs watch " in started.stderr
    assert (waited.exit_code, waited.stdout) == (0, "Employees get twenty-five days of paid annual leave every year.\n")
    summary = json.loads(as_json.stdout)
    assert (summary["status"], summary["format"], summary["document_id"]) == ("ready", "bullets", leave)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("DOCUMENT_NOT_FOUND: ")


async def test_an_interrupted_watch_exits_130_and_the_job_goes_on(
    account: Account, served: Served, gate: threading.Event, tmp_path: Path
) -> None:
    _, job_id = upload(served, account, "held.md", b"# Held\n\nUntil the watch is interrupted.\n")
    served.recorder.requests.clear()
    process = await asyncio.create_subprocess_exec(
        *folio_command("jobs", "watch", str(job_id)),
        env=folio_env(FOLIO_SERVER=served.url, FOLIO_API_KEY=account.api_key, XDG_CONFIG_HOME=str(tmp_path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.to_thread(until, lambda: served.recorder.made("GET", EVENTS), seconds=60)
    process.send_signal(signal.SIGINT)
    async with asyncio.timeout(30):
        stdout, stderr = await process.communicate()

    assert process.returncode == 130, stderr
    assert stdout == b""
    assert b"Stopped watching; the job goes on." in stderr
    assert b"Traceback" not in stderr
    gate.set()
    with Folio(served.url, api_key=account.api_key) as client:
        assert client.jobs.wait(job_id, timeout=60).status == "succeeded"
