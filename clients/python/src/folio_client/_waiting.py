"""Waiting for jobs: live over the organization's event stream, else by polling batch reads.

The stream is opened first and the jobs read next, so that a job ending in between is seen either way. Events
say when jobs end; the job rows, read once all of them have, are the truth (a job whose attempt failed may be
queued again). A stream silent for `QUIET_CHECK` seconds is checked by a read; a stream that ends is reopened once
(resuming after its last event), after which, or when the server offers no stream, the jobs are polled: one batch
read per interval, the interval growing while nothing changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import httpx
from pydantic import ValidationError

from folio_client._core import Call, Close, Core, Flow, Listen, ReadBody, Sleep, StreamEnded, events_of, path
from folio_client._sse import ServerSentEvent
from folio_client.errors import APIConnectionError, APIStatusError, AuthenticationError, WaitTimeout
from folio_client.models import FINISHED_JOB_STATUSES, Job, JobEvent, JobStatus
from folio_client.pagination import PageData

JOB_EVENT_TYPES = ("job.queued", "job.started", "job.progress", "job.succeeded", "job.failed", "job.cancelled")
POLL_INTERVAL = 0.5
POLL_MAX_INTERVAL = 5.0
POLL_BACKOFF = 1.5
QUIET_CHECK = 20.0
# Four of the server's default heartbeats (15 s): a stream silent for longer is dead, and is reopened.
STREAM_READ_TIMEOUT = 60.0
BATCH = 100  # ids per batch read: the server's cap


@dataclass(frozen=True)
class JobUpdate:
    """A job's progress, as an event or a read reported it."""

    job_id: UUID
    status: JobStatus
    progress: int
    stage: str | None
    message: str | None
    error_code: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES


OnUpdate = Callable[[JobUpdate], None]


class _Jobs:
    """The jobs waited for: the latest state of each, those finished, and those the stream said had ended."""

    def __init__(self, core: Core, ids: list[str], deadline: float | None, on_update: OnUpdate | None) -> None:
        self.core = core
        self.deadline = deadline
        self.on_update = on_update
        self.pending: dict[str, Job | None] = dict.fromkeys(ids)
        self.finished: dict[str, Job] = {}
        self.ended_by_event: set[str] = set()
        self._shown: dict[str, JobUpdate] = {}

    def remaining(self) -> float:
        """Seconds left to wait; raises WaitTimeout once there are none."""
        if self.deadline is None:
            return float("inf")
        left = self.deadline - time.monotonic()
        if left <= 0:
            running = [job for job in self.pending.values() if job is not None]
            raise WaitTimeout(f"{len(self.pending)} job(s) did not finish in time.", jobs=running)
        return left

    def read(self) -> Flow[bool]:
        """Read the pending jobs (batch reads of `BATCH`); settle those finished; whether any changed."""
        ids = list(self.pending)
        found: dict[str, Job] = {}
        for start in range(0, len(ids), BATCH):
            asked = ids[start : start + BATCH]
            call = Call("GET", path("/jobs"), params={"ids": ",".join(asked)})
            page = yield from self.core.fetch(call, PageData[Job])
            # A server that ignores `ids` (older than batch reads) answers with the latest jobs: only those asked.
            found.update((str(job.id), job) for job in page.items if str(job.id) in asked)
        for job_id in ids:
            if job_id not in found:
                # Absent from a batch read: ask for it alone, for the server's own 404 (JOB_NOT_FOUND).
                found[job_id] = yield from self.core.fetch(Call("GET", path("/jobs/{}", job_id)), Job)
        changed = False
        for job_id, job in found.items():
            changed = self._show(_update_of(job)) or changed
            if job.finished:
                del self.pending[job_id]
                self.finished[job_id] = job
            else:
                self.pending[job_id] = job
        # The rows are the truth: a job an event said had ended but that runs again is waited for again.
        self.ended_by_event.clear()
        return changed

    def hear(self, event: ServerSentEvent) -> bool:
        """Take an event of the stream; whether it was about a pending job."""
        try:
            job_event = JobEvent.model_validate_json(event.data)
        except ValidationError:
            return False
        job_id = str(job_event.subject.id)
        if job_id not in self.pending or job_id in self.ended_by_event:
            return False  # a late progress event never hides the outcome heard before it
        data = job_event.data
        update = JobUpdate(UUID(job_id), data.status, data.progress, data.stage, data.message, data.error_code)
        self._show(update)
        if update.finished:
            self.ended_by_event.add(job_id)
        return True

    def all_ended_by_event(self) -> bool:
        return self.pending.keys() <= self.ended_by_event

    def _show(self, update: JobUpdate) -> bool:
        key = str(update.job_id)
        if self._shown.get(key) == update:
            return False
        self._shown[key] = update
        if self.on_update is not None:
            self.on_update(update)
        return True


def _update_of(job: Job) -> JobUpdate:
    return JobUpdate(job.id, job.status, job.progress, job.stage, job.message, job.error_code)


def _open_stream(core: Core, ids: Sequence[str], last_event_id: str | None) -> Flow[object | None]:
    """A listened stream of the jobs' events; None when the server offers none (an older server's 404, too many
    streams, a refusal, no connection): then the jobs are polled."""
    params = {"types": ",".join(JOB_EVENT_TYPES)}
    if len(ids) == 1:
        params["subject"] = ids[0]
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    timeout = httpx.Timeout(core.timeout.connect, read=STREAM_READ_TIMEOUT)
    call = Call("GET", path("/events"), params=params, headers=headers, stream=True, max_retries=0, timeout=timeout)
    try:
        response = yield from core.send(call)
    except AuthenticationError:
        raise
    except (APIStatusError, APIConnectionError):
        return None
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        yield ReadBody(response)
        return None
    handle = yield Listen(response)
    return handle


def wait_for_jobs(
    core: Core, job_ids: Sequence[UUID | str], *, timeout: float | None, stream: bool, on_update: OnUpdate | None
) -> Flow[list[Job]]:
    """Every job finished (succeeded, failed or cancelled), in the order asked; WaitTimeout after `timeout`
    seconds."""
    ids = list(dict.fromkeys(str(UUID(str(job_id))) for job_id in job_ids))
    jobs = _Jobs(core, ids, None if timeout is None else time.monotonic() + timeout, on_update)
    if not ids:
        return []
    events = (yield from _open_stream(core, ids, None)) if stream else None
    yield from jobs.read()
    reopened = False
    quiet_since = time.monotonic()
    interval = POLL_INTERVAL
    while jobs.pending:
        if events is None:
            yield Sleep(min(interval, jobs.remaining()))
            changed = yield from jobs.read()
            interval = POLL_INTERVAL if changed else min(interval * POLL_BACKOFF, POLL_MAX_INTERVAL)
            continue
        quiet_for = max(quiet_since + QUIET_CHECK - time.monotonic(), 0.0)
        item = yield from events_of(events, min(quiet_for, jobs.remaining()))
        if isinstance(item, StreamEnded):
            yield Close(events)
            events = None
            if not reopened:
                reopened = True
                events = yield from _open_stream(core, list(jobs.pending), item.last_event_id)
            yield from jobs.read()
            quiet_since = time.monotonic()
        elif item is None:
            jobs.remaining()
            yield from jobs.read()
            quiet_since = time.monotonic()
        elif jobs.hear(item):
            quiet_since = time.monotonic()
            if jobs.all_ended_by_event():
                yield from jobs.read()
    if events is not None:
        yield Close(events)
    return [jobs.finished[job_id] for job_id in ids]
