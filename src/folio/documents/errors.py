from __future__ import annotations

from folio.errors import Conflict, FolioError, PayloadTooLarge


class FileTooLarge(PayloadTooLarge):
    """An uploaded file exceeds FOLIO_MAX_UPLOAD_MB; the rest of it was not read."""

    code = "PAYLOAD_TOO_LARGE"
    message = "The file is larger than the upload limit."


class UnsupportedFileType(FolioError):
    """The file is not PDF, DOCX, HTML, Markdown or plain text, or its content contradicts its extension."""

    status_code = 415
    code = "UNSUPPORTED_FILE_TYPE"
    message = "Unsupported file type."


class DocumentNotFound(FolioError):
    """No such document in your organization."""

    status_code = 404
    code = "DOCUMENT_NOT_FOUND"
    message = "Document not found."


class DocumentNotReady(Conflict):
    """The document has no extracted content yet (it is pending, processing or failed)."""

    code = "DOCUMENT_NOT_READY"
    message = "The document has not been processed yet."


class DocumentHasNoFile(FolioError):
    """The document is a record, made from a row of a batch file: it has no file of its own (read its /content)."""

    status_code = 404
    code = "DOCUMENT_HAS_NO_FILE"
    message = "This document has no file of its own."


class FormTooLarge(PayloadTooLarge):
    """An upload carries too many text fields, or too many bytes of them and of part headers."""

    code = "FORM_TOO_LARGE"
    message = "The upload's form fields are too large."


class UrlFetchFailed(FolioError):
    """The URL to import could not be read: its server did not answer, answered with an error status (in
    `details.status`), redirected too often or elsewhere than http(s), or sent nothing."""

    status_code = 422
    code = "URL_FETCH_FAILED"
    message = "The URL could not be fetched."


class TooManyUrlImports(FolioError):
    """Your organization already has as many URL imports being fetched on this server as allowed
    (`FOLIO_OUTBOUND__MAX_URL_IMPORTS_PER_ORG`); retry when one has finished."""

    status_code = 429
    code = "TOO_MANY_URL_IMPORTS"
    message = "Too many URL imports are running."


class StoredFileMissing(FolioError):
    """The file is no longer in storage: it was removed there, not through Folio. Its document (or export) remains."""

    status_code = 404
    code = "FILE_MISSING"
    message = "The file is no longer in storage."
