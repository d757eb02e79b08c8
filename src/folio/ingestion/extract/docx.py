"""DOCX through python-docx, after the zip's entry count, declared sizes and actual expansion are checked."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import OpcError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import LxmlError

from folio.ingestion.errors import CorruptFile
from folio.ingestion.extract._archive import check_archive
from folio.ingestion.extract._normalise import clean_title, finish, heading, join_blocks, one_line
from folio.ingestion.extracted import ExtractedText
from folio.settings import IngestionSettings

_HEADING_STYLE = re.compile(r"heading ([1-9])", re.IGNORECASE)
# What a damaged package raises from python-docx: missing parts, bad XML, wrong content types, bad zip members.
_DAMAGED = (OpcError, KeyError, ValueError, IndexError, zipfile.BadZipFile, LxmlError)


def extract_docx(path: Path, limits: IngestionSettings) -> ExtractedText:
    check_archive(path, max_mib=limits.max_archive_mb, max_entries=limits.max_archive_entries)
    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        first_heading: str | None = None
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.append(_table(item))
                continue
            text, level = _paragraph(item)
            if level is None:
                blocks.append(text)
                continue
            blocks.append(heading(level, text))
            first_heading = first_heading or text
        title = clean_title(document.core_properties.title) or clean_title(first_heading)
    except _DAMAGED as error:
        raise CorruptFile("The file is not a readable DOCX.") from error
    return ExtractedText.single_page(finish(join_blocks(blocks), limits.max_chars), title=title)


def _paragraph(paragraph: Paragraph) -> tuple[str, int | None]:
    """The paragraph's text and its heading level, None for body text."""
    text = paragraph.text
    if not text.strip():
        return "", None
    style_name = paragraph.style.name if paragraph.style is not None else None
    return text, _heading_level(style_name or "")


def _heading_level(style_name: str) -> int | None:
    if style_name.casefold() == "title":
        return 1
    match = _HEADING_STYLE.fullmatch(style_name)
    return int(match.group(1)) if match else None


def _table(table: Table) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A cell spanning several grid columns is returned once per column.
            if cell is not previous:
                cells.append(one_line(cell.text))
            previous = cell
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
