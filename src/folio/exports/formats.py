"""Rows into CSV, JSON Lines, Markdown and XLSX, a page at a time.

A row is a tuple of values: None, str, int, float, bool, a list or dict, or `Json` (JSON text read as it is from the
database). Text meant for spreadsheets (CSV and XLSX) is neutralised against formula injection (OWASP "CSV
injection"): a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, and XLSX
cells are written as text, numbers or booleans, never as formulas. Numbers and booleans are not text and keep their
sign.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import xlsxwriter

from folio.models import ExportFormat

Row = Sequence[Any]

BOM: Final = b"\xef\xbb\xbf"
MEDIA_TYPES: Final = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSONL: "application/x-ndjson",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.MD: "text/markdown; charset=utf-8",
}
EXTENSIONS: Final = {
    ExportFormat.CSV: "csv",
    ExportFormat.JSONL: "jsonl",
    ExportFormat.XLSX: "xlsx",
    ExportFormat.MD: "md",
}
# A sheet holds 1,048,576 rows: the header and this many more. An export with more goes on in another sheet.
SHEET_ROWS: Final = 1_048_575
# Excel's longest cell; a longer text is cut there in XLSX (CSV and JSON Lines keep it whole).
CELL_CHARS: Final = 32_767
# Integers beyond this lose digits as a spreadsheet's numbers: they are written as text.
_EXACT_INTEGER = 2**53
FORMULA_STARTS = frozenset("=+-@\t\r")


class Json:
    """JSON text as the database wrote it: copied into JSON Lines unparsed, shown as it is in other formats."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(frozen=True, slots=True)
class Lines:
    """CSV rows as PostgreSQL's COPY writes them (`FORMAT csv`): each ends with a line feed, and a quoted cell keeps
    its own line breaks as they are."""

    data: bytes
    count: int

    def __len__(self) -> int:
        return self.count

    def crlf(self) -> bytes:
        """The rows ended by CRLF (RFC 4180)."""
        if self.data.count(b"\n") == self.count:
            return self.data.replace(b"\n", b"\r\n")
        # A line feed inside a quoted cell follows an odd number of quotes since its row began.
        ended: list[bytes] = []
        inside = False
        for line in self.data.split(b"\n")[:-1]:
            inside ^= line.count(b'"') % 2 == 1
            ended += (line, b"\n" if inside else b"\r\n")
        return b"".join(ended)

    def last_row(self) -> bytes:
        """The last row, without its line feed."""
        data, end = self.data, len(self.data) - 1
        start, quotes = end, 0
        while True:
            # A line feed ends a row when the quotes after it (whole rows) are even; inside a cell, odd.
            found = data.rfind(b"\n", 0, start)
            quotes += data.count(b'"', found + 1, start)
            if found < 0 or quotes % 2 == 0:
                return data[found + 1 : end]
            start = found


def neutralised(text: str) -> str:
    """`text` as a spreadsheet shows it and never evaluates: a leading `'` when it could start a formula."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _plain(value: Any) -> str:
    """A non-text value as text (lists and objects as compact JSON)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is Json:
        return value.text
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def sheet_text(value: Any) -> str:
    """A value as a spreadsheet cell's text, neutralised when it is text."""
    return neutralised(value) if type(value) is str else _plain(value)


class TextFormat:
    """A streamed format: bytes for the start, for each page of rows, and for the end."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)

    def start(self) -> bytes:
        return b""

    def page(self, rows: Any) -> bytes:
        """A page of rows (`Lines` for CSV, rows of values otherwise)."""
        raise NotImplementedError

    def end(self) -> bytes:
        return b""


class CsvFormat(TextFormat):
    """RFC 4180 (CRLF line ends, quotes doubled), UTF-8; with a byte-order mark when asked, for Excel. Its rows are
    CSV already (`Lines`, `folio.exports.sql.Shape.LINES`): the header is written here."""

    def __init__(self, columns: Sequence[str], *, bom: bool) -> None:
        super().__init__(columns)
        self.bom = bom

    def start(self) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow([neutralised(column) for column in self.columns])
        return (BOM if self.bom else b"") + buffer.getvalue().encode()

    def page(self, rows: Lines) -> bytes:
        return rows.crlf()


class JsonLinesFormat(TextFormat):
    """One JSON object per line, keys in column order, values with their JSON types."""

    def page(self, rows: Sequence[Row]) -> bytes:
        columns = self.columns
        return b"".join(
            orjson.dumps(
                dict(
                    zip(
                        columns,
                        [orjson.Fragment(value.text) if type(value) is Json else value for value in row],
                        strict=True,
                    )
                ),
                option=orjson.OPT_APPEND_NEWLINE,
            )
            for row in rows
        )


def markdown_cell(value: Any) -> str:
    """A GitHub-flavoured Markdown table cell: backslashes and pipes escaped, line breaks as `<br>`."""
    text = value if type(value) is str else _plain(value)
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\r\n", "<br>")
        .replace("\n", "<br>")
        .replace("\r", "<br>")
    )


class MarkdownFormat(TextFormat):
    """A GitHub-flavoured Markdown table."""

    def start(self) -> bytes:
        header = self._line([markdown_cell(column) for column in self.columns])
        return (header + self._line(["---"] * len(self.columns))).encode()

    def page(self, rows: Sequence[Row]) -> bytes:
        return "".join(self._line([markdown_cell(value) for value in row]) for row in rows).encode()

    @staticmethod
    def _line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |\n"


def text_format(format: ExportFormat, columns: Sequence[str], *, bom: bool) -> TextFormat:
    if format is ExportFormat.CSV:
        return CsvFormat(columns, bom=bom)
    if format is ExportFormat.JSONL:
        return JsonLinesFormat(columns)
    if format is ExportFormat.MD:
        return MarkdownFormat(columns)
    raise ValueError(f"{format.value} is not written as a stream")


class XlsxBook:
    """An XLSX workbook written row by row to `path` (xlsxwriter's constant-memory mode: each row is flushed to a
    temporary file as the next begins), with a new sheet every SHEET_ROWS rows. Blocking: call it from a thread."""

    def __init__(self, path: Path, sheet_name: str, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.sheet_name = sheet_name[:24]
        self._book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "tmpdir": str(path.parent),
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._bold = self._book.add_format({"bold": True})
        self._sheets = 0
        self._row = SHEET_ROWS
        self._sheet: Any = None

    def page(self, rows: Sequence[Row]) -> None:
        for row in rows:
            if self._row >= SHEET_ROWS:
                self._new_sheet()
            self._row += 1
            self._write(self._row, row)

    def close(self) -> None:
        if self._sheet is None:
            self._new_sheet()
        self._book.close()

    def _new_sheet(self) -> None:
        self._sheets += 1
        name = self.sheet_name if self._sheets == 1 else f"{self.sheet_name} ({self._sheets})"
        self._sheet = self._book.add_worksheet(name)
        self._sheet.freeze_panes(1, 0)
        for column, title in enumerate(self.columns):
            self._sheet.write_string(0, column, neutralised(title), self._bold)
        self._row = 0

    def _write(self, index: int, row: Row) -> None:
        sheet = self._sheet
        for column, value in enumerate(row):
            kind = type(value)
            if value is None:
                continue
            if kind is bool:
                sheet.write_boolean(index, column, value)
            elif (kind is int and -_EXACT_INTEGER <= value <= _EXACT_INTEGER) or kind is float:
                sheet.write_number(index, column, value)
            else:
                sheet.write_string(index, column, sheet_text(value)[:CELL_CHARS])
