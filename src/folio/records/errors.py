from __future__ import annotations

from folio.errors import FolioError, ValidationFailed


class RecordMappingInvalid(ValidationFailed):
    """The `mapping` field is not a JSON object from role to column naming `text`, or names a missing column.

    `details` says which role or which columns.
    """

    code = "RECORD_MAPPING_INVALID"
    message = "The column mapping is not valid."


class RecordFileInvalid(ValidationFailed):
    """The batch file cannot be read as CSV or JSONL: empty, no header, an unknown delimiter or encoding."""

    code = "RECORD_FILE_INVALID"
    message = "The file cannot be read as a record batch."


class BatchNotFound(FolioError):
    """No such record batch in your organization."""

    status_code = 404
    code = "BATCH_NOT_FOUND"
    message = "Record batch not found."
