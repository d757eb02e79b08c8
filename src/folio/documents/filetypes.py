"""Decide a file's kind from its first bytes and its extension; both must agree."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from folio.documents.errors import UnsupportedFileType
from folio.documents.filenames import extension
from folio.ingestion.extracted import FileKind

SNIFF_BYTES = 8192

_EXTENSIONS: dict[str, FileKind] = {
    "pdf": FileKind.PDF,
    "docx": FileKind.DOCX,
    "html": FileKind.HTML,
    "htm": FileKind.HTML,
    "xhtml": FileKind.HTML,
    "md": FileKind.MARKDOWN,
    "markdown": FileKind.MARKDOWN,
    "txt": FileKind.TEXT,
    "text": FileKind.TEXT,
}
# What a file of each kind is served as, and stored with (a presigned download answers with the stored type).
MEDIA_TYPES: dict[FileKind, str] = {
    FileKind.PDF: "application/pdf",
    FileKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileKind.HTML: "text/html",
    FileKind.MARKDOWN: "text/markdown",
    FileKind.TEXT: "text/plain",
}
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title")
# Magic numbers of formats that must never pass as text, whatever their extension says.
_BINARY_MAGIC = (b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"PK\x03\x04", b"%PDF-", b"\x1f\x8b")


def detect(path: Path, name: str) -> FileKind:
    """The kind of the stored file at `path`, uploaded as `name`; UnsupportedFileType when they disagree."""
    claimed = _EXTENSIONS.get(extension(name))
    if claimed is None:
        raise UnsupportedFileType(
            f"Files ending in '.{extension(name)}' are not supported."
            if extension(name)
            else "The file has no extension.",
            details={"supported_extensions": sorted(_EXTENSIONS)},
        )
    with path.open("rb") as file:
        head = file.read(SNIFF_BYTES)
    if _content_matches(claimed, head, path):
        return claimed
    raise UnsupportedFileType(
        f"The content of '{name}' is not {claimed.value}.", details={"extension": extension(name)}
    )


def media_type_of(name: str) -> str | None:
    """The media type of the kind a file named `name` claims by its extension (None: not a kind Folio reads). Once
    `detect` agrees, it is the type the file is served as."""
    claimed = _EXTENSIONS.get(extension(name))
    return None if claimed is None else MEDIA_TYPES[claimed]


def _content_matches(kind: FileKind, head: bytes, path: Path) -> bool:
    if kind is FileKind.PDF:
        return head.lstrip()[:5] == b"%PDF-"
    if kind is FileKind.DOCX:
        return head.startswith(b"PK\x03\x04") and _is_word_package(path)
    if not _looks_like_text(head):
        return False
    if kind is FileKind.HTML:
        return any(marker in head.lower() for marker in _HTML_MARKERS)
    return True


def _is_word_package(path: Path) -> bool:
    """A DOCX is a zip with a content-types part and a main document part (names only; nothing is inflated)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, io.UnsupportedOperation):
        return False
    return "[Content_Types].xml" in names and "word/document.xml" in names


def _looks_like_text(head: bytes) -> bool:
    if head.startswith(_BINARY_MAGIC):
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        return True
    # NUL bytes do not occur in text in any of the 8-bit encodings or UTF-8.
    return b"\x00" not in head
