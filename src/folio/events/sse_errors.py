from __future__ import annotations

from folio.errors import FolioError


class EventsForbidden(FolioError):
    """The principal may not read the events it asked for: an API key without `documents:read` or `admin` reads
    no event at all, and administration events (`member.*`, `api_key.*`, `webhook.*`) need `admin`."""

    status_code = 403
    code = "EVENTS_FORBIDDEN"
    message = "You may not read these events."


class EventSubjectNotFound(FolioError):
    """The `subject` of an event stream is not a job, document or record batch of your organization."""

    status_code = 404
    code = "EVENT_SUBJECT_NOT_FOUND"
    message = "No job, document or record batch has this id."
