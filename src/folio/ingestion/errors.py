"""Why a file could not be turned into text. A document that fails keeps the code and message."""

from __future__ import annotations

from folio.errors import FolioError


class ExtractionFailed(FolioError):
    """The file was received but its text could not be read; a more specific code says why where known."""

    status_code = 422
    code = "EXTRACTION_FAILED"
    message = "The file's text could not be extracted."


class PdfEncrypted(ExtractionFailed):
    """The PDF is password-protected; upload it without the password."""

    code = "PDF_ENCRYPTED"
    message = "The PDF is encrypted."


class NoTextLayer(ExtractionFailed):
    """The PDF has no text layer (scanned images); OCR it before uploading."""

    code = "NO_TEXT_LAYER"
    message = "The PDF has no text layer."


class TooManyPages(ExtractionFailed):
    """The document has more pages than FOLIO_INGESTION__MAX_PAGES allows."""

    code = "TOO_MANY_PAGES"
    message = "The document has too many pages."


class TooMuchText(ExtractionFailed):
    """The document's text exceeds FOLIO_INGESTION__MAX_CHARS."""

    code = "TOO_MUCH_TEXT"
    message = "The document contains too much text."


class ArchiveBomb(ExtractionFailed):
    """The DOCX (a zip) declares more uncompressed bytes or entries than allowed, or one of its files inflates to more
    than it declares (checked by inflating in bounded pieces, nothing kept); it was not opened."""

    code = "ARCHIVE_BOMB"
    message = "The file would expand beyond the allowed size."


class CorruptFile(ExtractionFailed):
    """The file is damaged or is not what its type says."""

    code = "CORRUPT_FILE"
    message = "The file is corrupt."


class ExtractionTimeout(ExtractionFailed):
    """Extraction took longer than FOLIO_INGESTION__EXTRACT_SECONDS and was stopped."""

    code = "EXTRACTION_TIMEOUT"
    message = "Extraction took too long."
