"""PDF through PDFium: the page count is checked before any page is read, and every handle is closed."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from folio.ingestion.errors import CorruptFile, NoTextLayer, PdfEncrypted, TooManyPages
from folio.ingestion.extract._normalise import check_length, clean_title, normalise
from folio.ingestion.extracted import ExtractedText, PageSpan
from folio.settings import IngestionSettings

_PASSWORD_ERRORS = frozenset({pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY})
PAGE_SEPARATOR = "\n\n"


def extract_pdf(path: Path, limits: IngestionSettings) -> ExtractedText:
    document = _open(path)
    try:
        page_count: int = len(document)
        if page_count > limits.max_pages:
            raise TooManyPages(f"The PDF has {page_count} pages; at most {limits.max_pages} are allowed.")
        page_texts = _read_pages(document, page_count, limits.max_chars)
        title = clean_title(document.get_metadata_value("Title"))
    except pdfium.PdfiumError as error:
        raise CorruptFile("The PDF could not be read.") from error
    finally:
        document.close()
    if not any(page_texts):
        raise NoTextLayer()
    return _join_pages(page_texts, title)


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        if error.err_code in _PASSWORD_ERRORS:
            raise PdfEncrypted() from error
        raise CorruptFile("The file is not a readable PDF.") from error


def _read_pages(document: pdfium.PdfDocument, page_count: int, max_chars: int) -> list[str]:
    texts: list[str] = []
    length = 0
    for index in range(page_count):
        page = document.get_page(index)
        try:
            textpage = page.get_textpage()
            try:
                raw: str = textpage.get_text_range()
            finally:
                textpage.close()
        finally:
            page.close()
        text = normalise(raw)
        if text.strip():
            length += len(text) + (len(PAGE_SEPARATOR) if length else 0)
            check_length(length, max_chars)
        else:
            text = ""
        texts.append(text)
    return texts


def _join_pages(texts: list[str], title: str | None) -> ExtractedText:
    """Pages in order; the blank line between two pages belongs to the first, a page without text spans nothing."""
    last_with_text = max(index for index, text in enumerate(texts) if text)
    parts: list[str] = []
    spans: list[PageSpan] = []
    position = 0
    for index, text in enumerate(texts):
        part = text + PAGE_SEPARATOR if text and index < last_with_text else text
        spans.append(PageSpan(index + 1, position, position + len(part)))
        parts.append(part)
        position += len(part)
    return ExtractedText(text="".join(parts), pages=tuple(spans), title=title)
