"""The rows of a record-batch file (CSV/TSV or JSONL) as `RecordRow`s and `RowError`s, streamed: blocking code that a
job advances one block at a time in a worker thread, holding one row (and a sample of the file's start) at a time.

A row is capped in characters and, for CSV, in physical lines. A row over a cap fails with `ROW_TOO_LARGE` at the line
where it starts and is read past without being held, up to where csv would have ended it: a merely huge row costs
only itself, while a quote left open makes the rest of the file that one row, as it would for any CSV reader, so
nothing after it is imported. A header row over the caps makes the file invalid."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, Self

from folio.models import BatchFormat, CasePriority, CaseStatus
from folio.records._lines import Lines, RowTooLarge, skip_csv_row
from folio.records._sniff import choose_delimiter, choose_encoding, detect_format
from folio.records._values import (
    FIELD_TOO_LONG,
    INVALID_DATE,
    INVALID_ENCODING,
    INVALID_JSON,
    INVALID_PRIORITY,
    INVALID_STATUS,
    MALFORMED_ROW,
    MISSING_TEXT,
    NOT_AN_OBJECT,
    ROW_TOO_LARGE,
    TEXT_TOO_LONG,
    WRONG_FIELD_COUNT,
    Lookup,
    RowProblem,
    check_cells,
    json_object,
    lookup_path,
    printable,
    role_texts,
    to_metadata,
    to_moment,
    to_priority,
    to_status,
    to_title,
)
from folio.records.errors import RecordFileInvalid, RecordMappingInvalid
from folio.records.mapping import ROLES, RecordMapping

__all__ = [
    "FIELD_TOO_LONG",
    "INVALID_DATE",
    "INVALID_PRIORITY",
    "INVALID_STATUS",
    "INVALID_ENCODING",
    "INVALID_JSON",
    "MALFORMED_ROW",
    "MISSING_TEXT",
    "NOT_AN_OBJECT",
    "ROLES",
    "ROW_TOO_LARGE",
    "TEXT_TOO_LONG",
    "WRONG_FIELD_COUNT",
    "RecordMapping",
    "RecordRow",
    "RowError",
    "RowReader",
    "detect_format",
]

_EXCERPT_CHARS = 200
_SAMPLE_BYTES = 1 << 20

# The limit is process-wide, so it is set once, here. A record's text can be megabytes, far past the default
# 128 KiB; 2**31 - 1 is the largest value a C long holds on every platform.
csv.field_size_limit(2**31 - 1)


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One valid row; `line` is the physical line of the file where it starts (a CSV header is line 1)."""

    line: int
    text: str
    external_id: str | None
    occurred_at: datetime | None
    channel: str | None
    customer: str | None
    # The name of a business unit of the organization (matched without regard to case).
    business_unit: str | None
    priority: CasePriority | None
    title: str | None
    metadata: dict[str, Any]
    # A case's history from the tool it comes from, kept when the case is created.
    status: CaseStatus | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that cannot be imported: why, in a sentence naming the column, and the start of its raw text."""

    line: int
    code: str
    message: str
    excerpt: str


# A row read, its checks and conversion left for when it is not skipped.
_Pending = Callable[[], RecordRow | RowError]


class RowReader:
    """The rows of one file, in order. Opening checks the file and the mapping; rows never raise, they turn into
    `RowError`s. `skip` data rows (valid or not) are read past unseen, so a retried job resumes where it stopped."""

    encoding: str
    delimiter: str | None
    columns: list[str]
    rows_read: int
    size_bytes: int

    def __init__(
        self,
        path: Path,
        format: BatchFormat,
        mapping: RecordMapping,
        *,
        delimiter: str | None = None,
        max_text_chars: int = 100_000,
        max_row_chars: int = 2_000_000,
        max_row_lines: int = 10_000,
        skip: int = 0,
    ) -> None:
        self.format, self.mapping, self._max_text_chars, self._skip = format, mapping, max_text_chars, skip
        self._max_row_chars, self._max_row_lines = max_row_chars, max_row_lines
        self.delimiter, self.columns, self.rows_read, self._closed_at = None, [], 0, 0
        self.size_bytes = path.stat().st_size
        self._binary = path.open("rb")
        try:
            self._text, sample = self._open_text()
            rows = self._open_csv(sample, delimiter) if format is BatchFormat.CSV else self._open_jsonl(sample)
        except BaseException:
            self._binary.close()
            raise
        self._items = self._counted(rows)

    def bytes_read(self) -> int:
        """How far into the file reading has got; read-ahead makes it approximate, which is enough for progress."""
        return self._closed_at if self._binary.closed else min(self._binary.tell(), self.size_bytes)

    def blocks(self, size: int) -> Iterator[list[RecordRow | RowError]]:
        if size < 1:
            raise ValueError("a block holds at least one row")
        return iter(lambda: list(islice(self._items, size)), [])

    def close(self) -> None:
        if not self._binary.closed:
            self._closed_at = self.bytes_read()
            self._text.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open_text(self) -> tuple[io.TextIOWrapper, str]:
        """The file as text, and its first MiB decoded, for sniffing."""
        if self.size_bytes == 0:
            raise RecordFileInvalid("The file is empty.")
        head = self._binary.read(_SAMPLE_BYTES)
        self.encoding, mark_length = choose_encoding(head, complete=len(head) == self.size_bytes)
        sample = codecs.getincrementaldecoder(self.encoding)(errors="replace").decode(head[mark_length:])
        self._binary.seek(mark_length)
        # Only UTF-8 is checked row by row; a detected code page decodes every byte or was not detected.
        errors = "surrogateescape" if self.encoding == "utf-8" else "replace"
        # csv needs newline="" to see line breaks inside quoted fields; JSON Lines are separated by "\n" alone.
        csv_format = self.format is BatchFormat.CSV
        text = io.TextIOWrapper(self._binary, encoding=self.encoding, errors=errors, newline="" if csv_format else "\n")
        breaks = ("\n", "\r") if csv_format else ("\n",)
        self._lines = Lines(text, max_chars=self._max_row_chars, breaks=breaks)
        return text, sample

    def _open_csv(self, sample: str, delimiter: str | None) -> Iterator[_Pending]:
        if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
            message = "The delimiter must be one character, not a quote or a line break."
            raise RecordFileInvalid(message, details={"field": "delimiter"})
        self.delimiter = delimiter or choose_delimiter(sample)
        self._row_lines: list[str] = []
        self._row_chars = self._row_line_count = 0
        self._reader = csv.reader(self._csv_lines(), delimiter=self.delimiter, strict=True)
        try:
            header = next((row for row in self._reader if row), None)
        except csv.Error as error:
            raise RecordFileInvalid(f"The header row cannot be read: {error}.") from None
        except RowTooLarge:
            message = f"The header row cannot be read: {self._too_large()}"
            raise RecordFileInvalid(message, details={"line": self._lines.done + 1}) from None
        if header is None or not any(name.strip() for name in header):
            raise RecordFileInvalid("The file has no header row.")
        self.columns = [printable(name.strip()) for name in header]
        wanted = self.mapping.columns()
        if duplicates := [column for column in wanted if self.columns.count(column) > 1]:
            message = f"The header names these columns more than once: {', '.join(duplicates)}."
            raise RecordFileInvalid(message, details={"duplicates": duplicates})
        if missing := [column for column in wanted if column not in self.columns]:
            message = f"The mapping names columns the file does not have: {', '.join(missing)}."
            raise RecordMappingInvalid(
                message, details={"field": "mapping", "missing": missing, "columns": self.columns}
            )
        self._index = {column: self.columns.index(column) for column in wanted}
        return self._csv_rows()

    def _open_jsonl(self, sample: str) -> Iterator[_Pending]:
        first = sample.lstrip()[:1]
        if not first:
            raise RecordFileInvalid("The file holds only blank lines.")
        if first == "[":
            raise RecordFileInvalid("The file is one JSON array; send JSON Lines, one object per line.")
        return self._jsonl_rows()

    def _counted(self, rows: Iterator[_Pending]) -> Iterator[RecordRow | RowError]:
        for pending in rows:
            self.rows_read += 1
            if self.rows_read > self._skip:
                yield pending()

    def _csv_rows(self) -> Iterator[_Pending]:
        width = len(self.columns)
        while True:
            # A row starts on the line after the last one read, whatever its quoted fields span.
            line = self._lines.done + 1
            self._row_lines.clear()
            self._row_chars = self._row_line_count = 0
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except RowTooLarge as too_large:
                # Lines already given to csv for this row mean it goes on inside a quoted field.
                quoted = self._row_line_count > 1
                message = self._too_large()
                skip_csv_row(self._lines, too_large.piece, quoted=quoted, delimiter=self.delimiter or ",")
                yield partial(self._failed, line, ROW_TOO_LARGE, message)
                # The raise ended the reader's line source; a new reader starts at the next row.
                self._reader = csv.reader(self._csv_lines(), delimiter=self.delimiter or ",", strict=True)
                continue
            except csv.Error as error:
                # The reader drops the rest of the line and goes on with the next one; after an unterminated
                # quote it has consumed the whole file, so the next call simply ends the rows.
                yield partial(self._failed, line, MALFORMED_ROW, f"The row is not valid CSV: {error}.")
                continue
            if not any(value.strip() for value in fields):
                continue
            # Excel pads rows with empty fields past the last column it saw used.
            if len(fields) > width and not any(value.strip() for value in fields[width:]):
                del fields[width:]
            if len(fields) != width:
                message = f"The row has {len(fields)} fields; the header has {width}."
                yield partial(self._failed, line, WRONG_FIELD_COUNT, message)
            else:
                yield partial(self._csv_item, line, fields)

    def _csv_lines(self) -> Iterator[str]:
        """The lines for csv.reader, without NULs (PostgreSQL text cannot hold them), the start of each kept for an
        excerpt; `RowTooLarge` instead of a line that would take the row past a cap."""
        while piece := self._lines.read():
            self._row_chars += len(piece)
            self._row_line_count += 1
            line = piece.replace("\x00", "")
            if len(self._row_lines) < _EXCERPT_CHARS:
                self._row_lines.append(line[:_EXCERPT_CHARS])
            # A piece cut from a longer line is itself over the character cap.
            if self._row_chars > self._max_row_chars or self._too_many_lines():
                raise RowTooLarge(piece)
            yield line

    def _too_many_lines(self) -> bool:
        return self._row_line_count > self._max_row_lines

    def _too_large(self) -> str:
        if self._too_many_lines():
            return (
                f"The row spans more than {self._max_row_lines} lines, the most allowed; "
                "a quote left open makes the rest of the file one row."
            )
        return f"The row holds more than {self._max_row_chars} characters, the most allowed."

    def _failed(self, line: int, code: str, message: str) -> RowError:
        # Called before the next row is read, so `_row_lines` still holds this row's lines.
        raw = "".join(text[:_EXCERPT_CHARS] for text in self._row_lines[:_EXCERPT_CHARS])
        return _row_error(line, code, message, raw)

    def _csv_item(self, line: int, fields: list[str]) -> RecordRow | RowError:
        try:
            check_cells(self.columns, fields)
            return self._record(line, lambda column: fields[self._index[column]], "Column")
        except RowProblem as problem:
            return self._failed(line, problem.code, problem.message)

    def _jsonl_rows(self) -> Iterator[_Pending]:
        while piece := self._lines.read():
            if self._lines.cut(piece):
                number, excerpt = self._lines.done + 1, piece[:_EXCERPT_CHARS]
                while self._lines.cut(piece):
                    piece = self._lines.read()
                message = f"The line holds more than {self._max_row_chars} characters, the most allowed."
                yield partial(_row_error, number, ROW_TOO_LARGE, message, excerpt)
                continue
            line = piece.replace("\x00", "")
            if line and not line.isspace():
                yield partial(self._jsonl_item, self._lines.done, line)

    def _jsonl_item(self, line: int, raw: str) -> RecordRow | RowError:
        try:
            return self._record(line, partial(lookup_path, json_object(raw)), "Field")
        except RowProblem as problem:
            return _row_error(line, problem.code, problem.message, raw)

    def _record(self, line: int, lookup: Lookup, label: str) -> RecordRow:
        mapping = self.mapping
        columns = {role: getattr(mapping, role) for role in ROLES}
        text, texts = role_texts(columns, lookup, label, max_text_chars=self._max_text_chars)
        return RecordRow(
            line=line,
            text=text,
            external_id=texts["external_id"],
            occurred_at=to_moment(texts["created_at"], label, mapping.created_at),
            channel=texts["channel"],
            customer=texts["customer"],
            business_unit=texts["business_unit"],
            priority=to_priority(texts["priority"], label, mapping.priority),
            title=to_title(texts["title"]),
            metadata=to_metadata(mapping.metadata, lookup),
            status=to_status(texts["status"], label, mapping.status),
            first_response_at=to_moment(texts["first_response_at"], label, mapping.first_response_at),
            resolved_at=to_moment(texts["resolved_at"], label, mapping.resolved_at),
        )


def _row_error(line: int, code: str, message: str, raw: str) -> RowError:
    return RowError(line, code, message, printable(raw.rstrip("\r\n")[:_EXCERPT_CHARS]))
