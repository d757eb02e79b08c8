"""Test files generated on the fly: PDFs, DOCX packages, HTML pages and encoded text."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import docx
from reportlab.pdfgen import canvas

_MIB = 1024 * 1024


def write_pdf(path: Path, pages: Sequence[Sequence[str]], *, title: str = "", password: str | None = None) -> Path:
    """A PDF with one page per item of `pages`, each line drawn as text; an empty page has no text at all."""
    pdf = canvas.Canvas(str(path), encrypt=password)
    pdf.setTitle(title)
    for lines in pages:
        for number, line in enumerate(lines):
            pdf.drawString(72, 720 - 18 * number, line)
        pdf.showPage()
    pdf.save()
    return path


def write_image_only_pdf(path: Path, page_count: int = 2) -> Path:
    """A PDF whose pages hold only filled shapes, like a scan: nothing for a text layer."""
    pdf = canvas.Canvas(str(path))
    for _ in range(page_count):
        pdf.rect(72, 72, 300, 400, fill=1)
        pdf.circle(300, 600, 50, fill=1)
        pdf.showPage()
    pdf.save()
    return path


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


DocxBlock = Heading | str | list[list[str]]
"""A heading, a paragraph, or a table given as rows of cells."""


def docx_bytes(blocks: Sequence[DocxBlock], *, title: str | None = None) -> bytes:
    document = docx.Document()
    for block in blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=block.level)
        elif isinstance(block, str):
            document.add_paragraph(block)
        else:
            table = document.add_table(rows=len(block), cols=len(block[0]))
            for row, cells in zip(table.rows, block, strict=True):
                for cell, text in zip(row.cells, cells, strict=True):
                    cell.text = text
    document.core_properties.title = title or ""
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_docx(path: Path, blocks: Sequence[DocxBlock], *, title: str | None = None) -> Path:
    path.write_bytes(docx_bytes(blocks, title=title))
    return path


def write_docx_with_padding(path: Path, padding_mib: int) -> Path:
    """A valid DOCX plus a member of `padding_mib` MiB of zeros, which deflates to about a thousandth of that."""
    path.write_bytes(docx_bytes(["A harmless paragraph."]))
    chunk = bytes(_MIB)
    with (
        zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("word/media/padding.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(padding_mib):
            member.write(chunk)
    return path


def write_docx_with_entries(path: Path, extra_entries: int) -> Path:
    """A valid DOCX plus `extra_entries` tiny members."""
    path.write_bytes(docx_bytes(["A harmless paragraph."]))
    with zipfile.ZipFile(path, "a") as archive:
        for number in range(extra_entries):
            archive.writestr(f"extra/entry{number}.xml", "<a/>")
    return path


def write_html_page(path: Path, *, title: str, main: str, encoding: str = "utf-8", charset: str | None = None) -> Path:
    """`main` inside a page carrying everything extraction drops: code, navigation, footer, embedded media.

    The page declares `charset` (by default `encoding`) and is written in `encoding`.
    """
    page = f"""<!DOCTYPE html>
<html>
<head>
  <meta charset="{charset or encoding}">
  <title>{title}</title>
  <style>body {{ font-family: ShouldNotAppearStyle; }}</style>
  <script>var shouldNotAppearHeadScript = 1;</script>
</head>
<body>
  <nav><a href="/">ShouldNotAppearNav</a></nav>
  <noscript>ShouldNotAppearNoscript</noscript>
  <main>{main}<script>shouldNotAppearInlineScript()</script></main>
  <svg><title>ShouldNotAppearSvg</title><text>ShouldNotAppearSvgText</text></svg>
  <template><p>ShouldNotAppearTemplate</p></template>
  <iframe src="/ad">ShouldNotAppearIframe</iframe>
  <footer>ShouldNotAppearFooter</footer>
</body>
</html>"""
    path.write_bytes(page.encode(encoding))
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path
