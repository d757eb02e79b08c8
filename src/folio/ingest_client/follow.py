"""Following the run's ingestion jobs to their end: live over the event stream, else by polling batch reads.

Live: the stream's events move the progress bars and say when every job has ended; one batch read
(`GET /jobs?ids=…`) then settles them all, as the job rows are the truth (and it catches a job that ended before
the stream began, or an event lost). A stream that stays silent for `QUIET_CHECK` seconds is checked the same way.
A stream that drops is reopened once, resuming after the last event seen (`Last-Event-ID`); after that, or when the
server offers no stream (an older server answers 404), the pending jobs are polled: one batch read per interval,
the interval growing while nothing changes. A server too old for batch reads (it ignores `ids`) is polled one job at
a time, as `folio ingest` used to.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from folio.ingest_client.events import FINAL, JobEvents
from folio.ingest_client.http import (
    DOCUMENTS,
    JOBS,
    POLL_INTERVAL,
    Abort,
    Outcome,
    Status,
    Transient,
    error_of,
    get,
)

BATCH = 100  # ids per batch read: the server's cap
POLL_MAX_INTERVAL = 5.0
POLL_BACKOFF = 1.5
QUIET_CHECK = 20.0
# Half the default per-key rate limit (1200/minute), for a server that can only be asked one job at a time.
MAX_POLLS_PER_SECOND = 10
# How long reads may keep failing (connection errors, 5xx) before the run gives up.
GIVE_UP_AFTER = 30.0
# Jobs wait this long for a worker before the bar suggests that none is running.
WORKER_HINT_AFTER = 30.0


def follow_jobs(client: httpx.Client, outcomes: list[Outcome], console: Console, events: JobEvents) -> None:
    shown = [outcome for outcome in outcomes if outcome.status in (Status.PROCESSING, Status.DUPLICATE)]
    if not shown:
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=console) as progress:
        bars: dict[str, TaskID] = {}
        for outcome in shown:
            done = outcome.status is Status.DUPLICATE
            bar = progress.add_task(
                escape(str(outcome.path)),
                total=100,
                completed=100 if done else 0,
                note="already ingested" if done else "queued",
            )
            if outcome.job_id is not None and not done:
                bars[outcome.job_id] = bar
        Follower(client, outcomes, progress, bars, events).run()


class Follower:
    def __init__(
        self,
        client: httpx.Client,
        outcomes: list[Outcome],
        progress: Progress,
        bars: dict[str, TaskID],
        events: JobEvents,
    ) -> None:
        self.client = client
        self.progress = progress
        self.bars = bars
        self.events = events
        self.jobs = {outcome.job_id: outcome for outcome in outcomes if outcome.job_id in bars}
        self.unsettled = dict.fromkeys(self.jobs)  # in upload order
        self.ended_by_event: set[str] = set()
        self.seen: dict[str, tuple[Any, ...]] = {}
        self.reopened = False
        self.batch_reads = True
        self.started = time.monotonic()
        self.failing_since: float | None = None

    def run(self) -> None:
        if not self.unsettled:
            return
        if self.events.connections == 0:
            self._say(f"No live events from the server ({self.events.failure}); following the jobs by polling.")
        else:
            while self.unsettled and self._stream_open():
                self._listen()
                if not self._waiting():
                    self._read_or_wait(list(self.unsettled))
        self._poll()

    def _waiting(self) -> list[str]:
        return [job_id for job_id in self.unsettled if job_id not in self.ended_by_event]

    def _stream_open(self) -> bool:
        """Whether the stream is open: a stream that ended is reopened once, resuming after its last event."""
        if self.events.failure is None:
            return True
        reason = self.events.failure
        if not self.reopened:
            self.reopened = True
            if self.events.open():
                return True
        self._say(f"The event stream ended ({reason}); following the jobs by polling.")
        self.events.close()
        return False

    def _listen(self) -> None:
        """Until the stream said every job ended, or the stream ended."""
        quiet_since = time.monotonic()
        while self._waiting():
            latest = self.events.take(timeout=max(0.0, quiet_since + QUIET_CHECK - time.monotonic()))
            mine = {job_id: data for job_id, data in latest.items() if job_id in self.unsettled}
            for job_id, data in mine.items():
                self._show(job_id, data)
                if data.get("status") in FINAL:
                    self.ended_by_event.add(job_id)
            if mine:
                quiet_since = time.monotonic()
            if self.events.failure is not None:
                return
            if time.monotonic() - quiet_since >= QUIET_CHECK:
                self._read_or_wait(self._waiting())
                quiet_since = time.monotonic()

    def _poll(self) -> None:
        interval = POLL_INTERVAL
        while self.unsettled:
            changed = self._read_or_wait(list(self.unsettled))
            if not self.unsettled:
                return
            pause = interval if self.batch_reads else max(interval, len(self.unsettled) / MAX_POLLS_PER_SECOND)
            time.sleep(pause)
            interval = POLL_INTERVAL if changed else min(interval * POLL_BACKOFF, POLL_MAX_INTERVAL)

    def _read_or_wait(self, job_ids: list[str]) -> bool:
        """Read the jobs, show them and settle those that ended; whether any changed. While the server is not
        answering, waits a moment instead, and gives up after `GIVE_UP_AFTER` seconds of that."""
        try:
            changed = self._apply(job_ids, self._read(job_ids))
        except Transient as exc:
            self.failing_since = self.failing_since or time.monotonic()
            if time.monotonic() - self.failing_since > GIVE_UP_AFTER:
                raise _lost(self.client, str(exc)) from exc
            time.sleep(POLL_INTERVAL)
            return False
        self.failing_since = None
        # The rows are the truth: a job the stream said had ended but that runs again (retried) is waited for again.
        self.ended_by_event.difference_update(job_ids)
        return changed

    def _apply(self, job_ids: list[str], jobs: dict[str, dict[str, Any]]) -> bool:
        changed = False
        for job_id in job_ids:
            job = jobs.get(job_id)
            if job is None:
                changed = True
                self._settle(job_id, None)
                continue
            state = (job["status"], job["progress"], job.get("message"), job.get("error_code"))
            changed = changed or self.seen.get(job_id) != state
            self.seen[job_id] = state
            self._show(job_id, job)
            if job["status"] in FINAL:
                self._settle(job_id, job)
        return changed

    def _read(self, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The jobs among `job_ids` that exist, by id: in batches of `BATCH`, or one by one from an older server."""
        jobs: dict[str, dict[str, Any]] = {}
        if self.batch_reads:
            for start in range(0, len(job_ids), BATCH):
                asked = job_ids[start : start + BATCH]
                response = get(self.client, JOBS, params={"ids": ",".join(asked)})
                if response.status_code != 200:
                    raise Transient(" ".join(error_of(response)))
                page = response.json()
                answered = {job["id"]: job for job in page["items"]}
                if page.get("next_cursor") is not None or not answered.keys() <= set(asked):
                    # The server ignored `ids` and listed the organization's jobs: it cannot read a batch.
                    self.batch_reads = False
                    return self._read(job_ids)
                jobs.update(answered)
            return jobs
        for job_id in job_ids:
            response = get(self.client, f"{JOBS}/{job_id}")
            if response.status_code == 200:
                jobs[job_id] = response.json()
            elif response.status_code != 404:
                raise Transient(" ".join(error_of(response)))
        return jobs

    def _show(self, job_id: str, job: dict[str, Any]) -> None:
        bar = self.bars[job_id]
        if job["status"] in FINAL:
            colour = "green" if job["status"] == "succeeded" else "red"
            code = f": {job['error_code']}" if job.get("error_code") and job["status"] != "succeeded" else ""
            self.progress.update(bar, completed=job["progress"], note=f"[{colour}]{job['status']}[/]{escape(code)}")
        else:
            self.progress.update(bar, completed=job["progress"], note=escape(self._note(job)))

    def _note(self, job: dict[str, Any]) -> str:
        if job["status"] == "queued" and job.get("error_code"):
            return f"retrying after {job['error_code']}"
        if job["status"] == "queued" and time.monotonic() - self.started > WORKER_HINT_AFTER:
            return "queued (is a worker running?)"
        return str(job.get("message") or job.get("stage") or job["status"])

    def _settle(self, job_id: str, job: dict[str, Any] | None) -> None:
        """Record how the job ended (None: it no longer exists), as the job row says."""
        outcome = self.jobs[job_id]
        if job is None:
            outcome.fail("JOB_NOT_FOUND", "The ingestion job no longer exists.")
        elif job["status"] == "failed":
            outcome.fail(job.get("error_code"), job.get("error_message"))
        elif job["status"] == "cancelled":
            outcome.fail(job.get("error_code") or "CANCELLED", "The ingestion job was cancelled.")
        else:
            self._take_document(outcome, job["subject_id"])
        del self.unsettled[job_id]
        bar = self.bars[job_id]
        if outcome.status is Status.READY:
            self.progress.update(bar, completed=100, note=f"[green]ready[/green]: {outcome.chunks} chunk(s)")
        else:
            self.progress.update(bar, note=f"[red]failed[/red]: {escape(outcome.error_code or '')}")

    def _take_document(self, outcome: Outcome, document_id: str) -> None:
        response = get(self.client, f"{DOCUMENTS}/{document_id}")
        if response.status_code != 200:
            outcome.fail(*error_of(response))
            return
        document = response.json()
        outcome.take_counts(document)
        if document["status"] == "ready":
            outcome.status = Status.READY
        else:
            outcome.fail(document.get("error_code"), document.get("error_message"))

    def _say(self, message: str) -> None:
        self.progress.console.print(f"[yellow]{escape(message)}[/yellow]")


def _lost(client: httpx.Client, reason: str) -> Abort:
    return Abort(
        f"Lost contact with the Folio server at {client.base_url} ({reason}). Ingestion goes on there; run the same "
        "command again later to see the results (files already sent show as duplicates)."
    )
