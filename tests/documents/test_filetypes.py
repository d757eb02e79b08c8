from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from folio.documents.errors import UnsupportedFileType
from folio.documents.filetypes import detect, media_type_of
from folio.ingestion.extracted import FileKind

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64


def write(tmp_path: Path, content: bytes, name: str = "upload") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def docx_like(tmp_path: Path, *, with_document: bool = True) -> Path:
    path = tmp_path / "package.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        if with_document:
            archive.writestr("word/document.xml", "<w:document/>")
    return path


@pytest.mark.parametrize(
    ("content", "name", "kind"),
    [
        (MINIMAL_PDF, "paper.pdf", FileKind.PDF),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "page.html", FileKind.HTML),
        (b"<html><head><title>x</title></head></html>", "page.HTM", FileKind.HTML),
        (b"# Title\n\nSome *markdown*.", "notes.md", FileKind.MARKDOWN),
        (b"plain words", "notes.txt", FileKind.TEXT),
        ("café".encode("latin-1"), "latin.txt", FileKind.TEXT),
        ("\ufeffhello".encode("utf-16"), "wide.txt", FileKind.TEXT),
    ],
)
def test_content_and_extension_that_agree_are_accepted(
    tmp_path: Path, content: bytes, name: str, kind: FileKind
) -> None:
    assert detect(write(tmp_path, content), name) is kind


def test_a_word_package_is_docx(tmp_path: Path) -> None:
    assert detect(docx_like(tmp_path), "letter.docx") is FileKind.DOCX


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (ELF, "program.pdf"),  # a renamed executable
        (ELF, "program.txt"),
        (b"MZ\x90\x00" + b"\x00" * 60, "setup.md"),
        (b"just text", "fake.pdf"),
        (MINIMAL_PDF, "paper.txt"),  # a PDF is not text
        (b"no markup at all", "page.html"),
        (b"\x00\x01\x02binary", "data.txt"),
    ],
)
def test_content_that_contradicts_the_extension_is_refused(tmp_path: Path, content: bytes, name: str) -> None:
    with pytest.raises(UnsupportedFileType) as raised:
        detect(write(tmp_path, content), name)
    assert raised.value.status_code == 415


def test_a_zip_that_is_not_a_word_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileType):
        detect(docx_like(tmp_path, with_document=False), "letter.docx")


@pytest.mark.parametrize("name", ["tool.exe", "archive.zip", "image.png", "README"])
def test_unsupported_extensions_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsupportedFileType) as raised:
        detect(write(tmp_path, b"anything"), name)
    assert raised.value.code == "UNSUPPORTED_FILE_TYPE"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("paper.PDF", "application/pdf"),
        ("notes.markdown", "text/markdown"),
        ("page.xhtml", "text/html"),
        ("rows.csv", None),
        ("no-extension", None),
    ],
)
def test_a_file_is_stored_with_the_type_its_extension_claims(name: str, media_type: str | None) -> None:
    assert media_type_of(name) == media_type
