from __future__ import annotations

from folio.errors import Conflict, FolioError


class ExportNotFound(FolioError):
    """No such export of yours; or a download link with a wrong token, or whose requester may no longer read the
    export (they left the organization, or their API key was revoked)."""

    status_code = 404
    code = "EXPORT_NOT_FOUND"
    message = "Export not found."


class ExportNotReady(Conflict):
    """The export's file is not written (yet): its job is queued or running, or failed or was cancelled
    (`details.status`)."""

    code = "EXPORT_NOT_READY"
    message = "The export's file is not ready."


class ExportExpired(FolioError):
    """The export's file and download link have expired (`FOLIO_EXPORTS__LINK_HOURS` after it was written); export
    again."""

    status_code = 410
    code = "EXPORT_EXPIRED"
    message = "This export has expired."


class TooManyExportJobs(FolioError):
    """Your organization already has as many export jobs queued or running as allowed
    (`FOLIO_EXPORTS__MAX_JOBS_PER_ORG`); wait for one to finish, or delete one."""

    status_code = 429
    code = "TOO_MANY_EXPORT_JOBS"
    message = "Too many export jobs are running."


class TooManyExportStreams(FolioError):
    """Your organization already has as many streamed exports running on this server as allowed
    (`FOLIO_EXPORTS__MAX_STREAMS_PER_ORG`); retry when one has finished, or export with a job."""

    status_code = 429
    code = "TOO_MANY_EXPORT_STREAMS"
    message = "Too many exports are streaming."
