from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from folio.ingestion.errors import (
    ArchiveBomb,
    CorruptFile,
    ExtractionTimeout,
    NoTextLayer,
    PdfEncrypted,
    TooManyPages,
    TooMuchText,
)
from folio.ingestion.extract import extract, extract_isolated
from folio.ingestion.extracted import ExtractedText, FileKind
from folio.settings import IngestionSettings
from tests.ingestion.fixtures import (
    DocxBlock,
    Heading,
    write_docx,
    write_docx_with_entries,
    write_docx_with_padding,
    write_html_page,
    write_image_only_pdf,
    write_pdf,
    write_text,
)

LIMITS = IngestionSettings()
PDF_PAGES = [
    ["Alpha apple avocado", "second line of the first page"],
    ["Bravo banana blueberry", "second line of the second page"],
    ["Charlie cherry coconut", "second line of the third page"],
]


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """Extraction uses no database: this replaces the suite's table cleanup so no PostgreSQL is started."""


def assert_pages_cover(extracted: ExtractedText) -> None:
    assert extracted.pages[0].start == 0
    assert extracted.pages[-1].end == len(extracted.text)
    for page, following in zip(extracted.pages, extracted.pages[1:], strict=False):
        assert page.end == following.start
        assert following.number == page.number + 1


def page_text(extracted: ExtractedText, number: int) -> str:
    page = extracted.pages[number - 1]
    return extracted.text[page.start : page.end]


# PDF


def test_pdf_pages_hold_their_own_words(tmp_path: Path) -> None:
    extracted = extract(write_pdf(tmp_path / "a.pdf", PDF_PAGES, title="Fruit survey"), FileKind.PDF, LIMITS)

    assert extracted.title == "Fruit survey"
    assert [page.number for page in extracted.pages] == [1, 2, 3]
    assert_pages_cover(extracted)
    assert extracted.text == (
        "Alpha apple avocado\nsecond line of the first page\n\n"
        "Bravo banana blueberry\nsecond line of the second page\n\n"
        "Charlie cherry coconut\nsecond line of the third page"
    )
    assert page_text(extracted, 1).endswith("first page\n\n")
    assert page_text(extracted, 2) == "Bravo banana blueberry\nsecond line of the second page\n\n"
    assert page_text(extracted, 3) == "Charlie cherry coconut\nsecond line of the third page"
    banana = extracted.text.index("banana")
    assert extracted.page_range(banana, banana + len("banana blueberry")) == (2, 2)


def test_pdf_blank_page_spans_nothing_and_pages_stay_numbered(tmp_path: Path) -> None:
    pages = [PDF_PAGES[0], [], PDF_PAGES[2]]
    extracted = extract(write_pdf(tmp_path / "a.pdf", pages), FileKind.PDF, LIMITS)

    assert_pages_cover(extracted)
    assert page_text(extracted, 2) == ""
    assert "\n\n\n" not in extracted.text
    coconut = extracted.text.index("coconut")
    assert extracted.page_range(coconut, coconut + 1) == (3, 3)


def test_pdf_without_title_metadata_has_no_title(tmp_path: Path) -> None:
    assert extract(write_pdf(tmp_path / "a.pdf", PDF_PAGES), FileKind.PDF, LIMITS).title is None


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PdfEncrypted):
        extract(write_pdf(tmp_path / "a.pdf", PDF_PAGES, password="pw"), FileKind.PDF, LIMITS)


def test_pdf_of_images_has_no_text_layer(tmp_path: Path) -> None:
    with pytest.raises(NoTextLayer):
        extract(write_image_only_pdf(tmp_path / "scan.pdf"), FileKind.PDF, LIMITS)


def test_garbage_named_pdf_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"this is not a PDF\x00\xff" * 50)
    with pytest.raises(CorruptFile):
        extract(path, FileKind.PDF, LIMITS)


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "a.pdf", PDF_PAGES)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CorruptFile):
        extract(path, FileKind.PDF, LIMITS)


def test_pdf_with_too_many_pages_is_refused_before_any_page_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_pdf(tmp_path / "a.pdf", [["page"]] * 6)

    def no_page_reading(*args: object) -> None:
        raise AssertionError("a page was loaded before the page count was checked")

    monkeypatch.setattr(pdfium.PdfDocument, "get_page", no_page_reading)
    with pytest.raises(TooManyPages, match="6 pages"):
        extract(path, FileKind.PDF, IngestionSettings(max_pages=5))


# DOCX


def test_docx_keeps_headings_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    blocks: list[DocxBlock] = [
        Heading(0, "Annual report"),
        "Opening paragraph.",
        Heading(1, "Regions"),
        [["Region", "Revenue"], ["North", "12"], ["South", "7"]],
        "Between the tables.",
        Heading(2, "Outlook"),
        "Closing paragraph.",
    ]
    extracted = extract(write_docx(tmp_path / "a.docx", blocks), FileKind.DOCX, LIMITS)

    assert extracted.text == (
        "# Annual report\n\n"
        "Opening paragraph.\n\n"
        "# Regions\n\n"
        "Region | Revenue\nNorth | 12\nSouth | 7\n\n"
        "Between the tables.\n\n"
        "## Outlook\n\n"
        "Closing paragraph."
    )
    assert extracted.title == "Annual report"
    assert_pages_cover(extracted)
    assert len(extracted.pages) == 1


def test_docx_title_comes_from_core_properties_first(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "a.docx", [Heading(1, "Heading"), "Body."], title="Properties title")
    assert extract(path, FileKind.DOCX, LIMITS).title == "Properties title"


def test_docx_declaring_a_huge_expansion_is_refused(tmp_path: Path) -> None:
    path = write_docx_with_padding(tmp_path / "bomb.docx", padding_mib=300)
    assert path.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(ArchiveBomb, match="300 MiB"):
        extract(path, FileKind.DOCX, IngestionSettings(max_archive_mb=200))


def test_docx_with_too_many_entries_is_refused(tmp_path: Path) -> None:
    path = write_docx_with_entries(tmp_path / "many.docx", extra_entries=60)
    with pytest.raises(ArchiveBomb):
        extract(path, FileKind.DOCX, IngestionSettings(max_archive_entries=50))


def test_docx_under_the_archive_limits_is_read(tmp_path: Path) -> None:
    path = write_docx_with_entries(tmp_path / "some.docx", extra_entries=10)
    assert extract(path, FileKind.DOCX, IngestionSettings(max_archive_entries=50)).text == "A harmless paragraph."


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04" + b"\x00" * 40])
def test_docx_that_is_not_a_zip_is_corrupt(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "a.docx"
    path.write_bytes(content)
    with pytest.raises(CorruptFile):
        extract(path, FileKind.DOCX, LIMITS)


def test_zip_that_is_not_a_docx_is_corrupt(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "a.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(CorruptFile):
        extract(path, FileKind.DOCX, LIMITS)


# HTML


HTML_MAIN = """
  <h1>Main   heading</h1>
  <p>First <b>bold</b> paragraph
     spans lines.</p>
  <div>A div block<br>with a break</div>
  <h3>Details</h3>
  <ul><li>One item</li><li>Two item</li></ul>
  <table><tr><th>Name</th><th>Score</th></tr><tr><td>Ada</td><td>10</td></tr></table>
"""


def test_html_keeps_structure_and_drops_page_chrome(tmp_path: Path) -> None:
    path = write_html_page(tmp_path / "a.html", title="Page title", main=HTML_MAIN)
    extracted = extract(path, FileKind.HTML, LIMITS)

    assert extracted.title == "Page title"
    assert extracted.text == (
        "# Main heading\n\n"
        "First bold paragraph spans lines.\n\n"
        "A div block\nwith a break\n\n"
        "### Details\n\n"
        "One item\n\n"
        "Two item\n\n"
        "Name | Score\nAda | 10"
    )
    assert "ShouldNotAppear" not in extracted.text
    assert_pages_cover(extracted)


def test_html_without_title_takes_the_first_h1(tmp_path: Path) -> None:
    path = write_text(tmp_path / "a.html", "<html><body><h1>The heading</h1><p>Text.</p></body></html>")
    assert extract(path, FileKind.HTML, LIMITS).title == "The heading"


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [
        ("windows-1252", "cp1252"),
        # Browsers read a Latin-1 declaration as windows-1252, whose curly quotes Latin-1 lacks.
        ("iso-8859-1", "cp1252"),
        ("utf-16", "utf-16"),
        ("utf-8", "utf-8"),
        # Not text encodings: ignored, and the bytes detected instead.
        ("zlib", "utf-8"),
        ("no-such-charset", "utf-8"),
    ],
)
def test_html_decodes_its_declared_charset(tmp_path: Path, charset: str, encoding: str) -> None:
    main = "<p>Crème brûlée “quoted”</p>"
    path = write_html_page(tmp_path / "a.html", title="Café", main=main, encoding=encoding, charset=charset)
    extracted = extract(path, FileKind.HTML, LIMITS)
    assert extracted.title == "Café"
    assert extracted.text == "Crème brûlée “quoted”"


# Text and Markdown


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("latin-1", "café"),
        ("latin-1", "Le café est très bon. Noël à Paris."),
        ("utf-16", "café"),
        ("utf-16-le", "Le café est très bon. Noël à Paris."),
        ("utf-8-sig", "café"),
        ("utf-32", "café ☕ 咖啡"),
        ("utf-8", "café ☕ 咖啡"),
    ],
)
def test_text_encodings_are_detected(tmp_path: Path, encoding: str, text: str) -> None:
    extracted = extract(write_text(tmp_path / "a.txt", text, encoding), FileKind.TEXT, LIMITS)
    assert extracted.text == text
    assert extracted.title is None


def test_control_characters_and_line_endings_are_normalised(tmp_path: Path) -> None:
    raw = "\n\nFirst\x00 line\x07\r\nsecond\tline   \rthird\x1b\n\n\n\n\nlast\x0cpage\x85end\n\n"
    extracted = extract(write_text(tmp_path / "a.txt", raw), FileKind.TEXT, LIMITS)
    assert extracted.text == "First line\nsecond\tline\nthird\n\nlast\npage\nend"
    assert_pages_cover(extracted)


def test_markdown_is_kept_and_titled_by_its_first_heading(tmp_path: Path) -> None:
    markdown = "```\n# not a heading\n```\n\n# Guide\r\n\r\nSome *text*.\r\n\r\n## Part\r\n\r\n| a | b |\r\n"
    extracted = extract(write_text(tmp_path / "a.md", markdown), FileKind.MARKDOWN, LIMITS)
    assert extracted.title == "Guide"
    assert extracted.text == "```\n# not a heading\n```\n\n# Guide\n\nSome *text*.\n\n## Part\n\n| a | b |"


@pytest.mark.parametrize("content", [b"", b"\x00\x00\r\n  \n"])
def test_empty_text_file_is_corrupt(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(content)
    with pytest.raises(CorruptFile):
        extract(path, FileKind.TEXT, LIMITS)


# Limits common to every format


Writer = Callable[[Path], Path]
LONG_TEXT = "word " * 100
WRITERS: dict[FileKind, Writer] = {
    FileKind.PDF: lambda directory: write_pdf(directory / "a.pdf", [[LONG_TEXT[:80]]] * 4),
    FileKind.DOCX: lambda directory: write_docx(directory / "a.docx", [LONG_TEXT]),
    FileKind.HTML: lambda directory: write_html_page(directory / "a.html", title="t", main=f"<p>{LONG_TEXT}</p>"),
    FileKind.MARKDOWN: lambda directory: write_text(directory / "a.md", f"# Long\n\n{LONG_TEXT}"),
    FileKind.TEXT: lambda directory: write_text(directory / "a.txt", LONG_TEXT),
}


# A record's text is stored with it, never extracted from a file.
@pytest.mark.parametrize("kind", [kind for kind in FileKind if kind is not FileKind.RECORD])
def test_text_beyond_max_chars_is_refused(tmp_path: Path, kind: FileKind) -> None:
    path = WRITERS[kind](tmp_path)
    assert len(extract(path, kind, IngestionSettings(max_chars=1000)).text) <= 1000
    with pytest.raises(TooMuchText):
        extract(path, kind, IngestionSettings(max_chars=200))


# Isolation


def test_isolated_extraction_matches_in_process_extraction(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "a.pdf", PDF_PAGES, title="Fruit survey")
    assert extract_isolated(path, FileKind.PDF, LIMITS) == extract(path, FileKind.PDF, LIMITS)


def test_isolated_extraction_raises_the_childs_error(tmp_path: Path) -> None:
    path = write_docx_with_entries(tmp_path / "many.docx", extra_entries=60)
    with pytest.raises(PdfEncrypted, match="^The PDF is encrypted.$"):
        extract_isolated(write_pdf(tmp_path / "a.pdf", PDF_PAGES, password="pw"), FileKind.PDF, LIMITS)
    with pytest.raises(ArchiveBomb, match=r"^The DOCX holds \d+ files; at most 50 are allowed\.$"):
        extract_isolated(path, FileKind.DOCX, IngestionSettings(max_archive_entries=50))


def test_isolated_extraction_is_stopped_after_its_time_limit(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "big.pdf", [[f"Page {number} text"] * 40 for number in range(200)])
    with pytest.raises(ExtractionTimeout):
        extract_isolated(path, FileKind.PDF, IngestionSettings(extract_seconds=0.001))


# Properties


WORDS = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzéüßøλж0123456789"), min_size=1, max_size=12)
BLOCKS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=3), st.lists(WORDS, min_size=1, max_size=8)), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(
    blocks=BLOCKS,
    kind=st.sampled_from([FileKind.MARKDOWN, FileKind.TEXT]),
    line_ending=st.sampled_from(["\n", "\r\n", "\r"]),
    blank_lines=st.integers(min_value=1, max_value=4),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]),
)
def test_text_keeps_every_word_in_order_and_one_page_covers_it(
    blocks: list[tuple[int, list[str]]], kind: FileKind, line_ending: str, blank_lines: int, encoding: str
) -> None:
    """Level 0 is a paragraph, 1-3 a heading of that level."""
    rendered = [("#" * level + " " if level else "") + " ".join(words) for level, words in blocks]
    source = (line_ending * (blank_lines + 1)).join(rendered) + line_ending
    with tempfile.TemporaryDirectory() as directory:
        extracted = extract(write_text(Path(directory) / "a", source, encoding), kind, LIMITS)

    expected_words = [word for _, words in blocks for word in words]
    assert [word for word in extracted.text.split() if word.strip("#")] == expected_words
    assert extracted.pages == (extracted.pages[0],)
    assert (extracted.pages[0].start, extracted.pages[0].end) == (0, len(extracted.text))
    assert "\n\n\n" not in extracted.text
    assert "\r" not in extracted.text
