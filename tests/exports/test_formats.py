"""CSV rows as COPY writes them (`Lines`): ended by CRLF for any cells, and their last row found, line breaks in
quoted cells notwithstanding."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from folio.exports.formats import Lines

# Texts rich in what CSV quotes: separators, quotes and line breaks of every kind.
cells = st.text(alphabet=st.sampled_from(["a", " ", ",", '"', "\n", "\r", "=", "é"]), max_size=8)
rows = st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=6)


def written(rows: list[list[str]], end: str) -> bytes:
    """The rows as CSV, each ended by `end` (and a cell quoted when it holds a line feed or a carriage return, as
    COPY quotes it)."""
    lines = []
    for row in rows:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(row)
        lines.append(buffer.getvalue().removesuffix("\r\n") + end)
    return "".join(lines).encode()


@given(rows)
def test_rows_end_with_crlf_and_quoted_line_breaks_stay(rows: list[list[str]]) -> None:
    lines = Lines(written(rows, "\n"), len(rows))
    assert lines.crlf() == written(rows, "\r\n")
    assert list(csv.reader(io.StringIO(lines.crlf().decode(), newline=""))) == rows


@given(rows)
def test_the_last_row_is_found_whatever_its_cells_hold(rows: list[list[str]]) -> None:
    assert Lines(written(rows, "\n"), len(rows)).last_row() == written(rows[-1:], "\n")[:-1]


def test_a_line_break_in_a_cell_is_not_a_row_end() -> None:
    lines = Lines(b'1,"a\nb"\n2,"c\n\nd"\n', 2)
    assert lines.crlf() == b'1,"a\nb"\r\n2,"c\n\nd"\r\n'
    assert lines.last_row() == b'2,"c\n\nd"'
