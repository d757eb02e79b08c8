from __future__ import annotations

from datetime import timedelta

from folio.errors import Conflict, FolioError


class JobNotFound(FolioError):
    """No such job in your organization."""

    status_code = 404
    code = "JOB_NOT_FOUND"
    message = "Job not found."


class JobFinished(Conflict):
    """The job has already finished; there is nothing to cancel."""

    code = "JOB_FINISHED"
    message = "The job has already finished."


class JobNotRetryable(Conflict):
    """Only failed or cancelled jobs can be retried."""

    code = "JOB_NOT_RETRYABLE"
    message = "Only failed or cancelled jobs can be retried."


class WorkerLost(FolioError):
    """The job's worker stopped answering on every attempt (it crashed or was killed)."""

    code = "WORKER_LOST"
    message = "The worker running this job stopped responding."


class JobFailed(FolioError):
    """The job raised an unexpected error on its last attempt; its message says what."""

    code = "JOB_FAILED"
    message = "The job failed."


class UnknownJobKind(FolioError):
    """No handler for the job's kind in the worker that took it (a newer API enqueued it, or a bad deployment)."""

    code = "UNKNOWN_JOB_KIND"
    message = "This worker cannot run jobs of this kind."


class JobCancelled(Exception):
    """Raised inside a job when its cancellation was requested."""


class LeaseLost(Exception):
    """Raised inside a job whose lease expired and was taken back: another attempt owns the job now."""


class Transient(Exception):
    """Raised by a handler for a failure that may pass (an upstream timeout): the job is tried again with backoff,
    and when attempts run out it fails with the cause's code and message. `retry_after` replaces the runner's
    backoff for this attempt (a kind with its own schedule, such as webhook deliveries)."""

    def __init__(self, cause: FolioError, *, retry_after: timedelta | None = None) -> None:
        super().__init__(cause.detail_message)
        self.cause = cause
        self.retry_after = retry_after
