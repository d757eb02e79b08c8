"""A batch file's text read a bounded piece at a time, and a CSV row over its cap read past without being held.

csv.reader keeps a row's fields until the row ends, so a quote left open makes the rest of the file one field. The
reader is therefore fed only lines that keep the row under its caps; when one would not, the row is read past with
`skip_csv_row`, which follows csv's quoting rules (strict, doubled quotes) over one piece at a time and stops where
csv would have ended the row, so the rows after it are read exactly as they would have been.
"""

from __future__ import annotations

import re
from typing import TextIO

__all__ = ["Lines", "RowTooLarge", "skip_csv_row"]

_QUOTE = '"'
_QUOTE_RUN = re.compile('"+')
# Where csv's state machine is, as far as finding the row's end needs: at the start of a field, inside an unquoted
# one, inside a quoted one, just after a quote inside a quoted one, or past an error or line break that ends the
# row with the line.
_FIELD_START, _UNQUOTED, _QUOTED, _AFTER_QUOTE, _TO_LINE_END = range(5)


class RowTooLarge(Exception):
    """Raised from the lines csv.reader iterates when the next piece would take its row past a cap; `piece` was read
    from the file but not given to csv."""

    def __init__(self, piece: str) -> None:
        super().__init__("row too large")
        self.piece = piece


class Lines:
    """The physical lines of `text`, each read as at most `max_chars + 1` characters: a longer line comes as several
    pieces, all but the last of them `max_chars + 1` characters long without a line break (`cut`)."""

    def __init__(self, text: TextIO, *, max_chars: int, breaks: tuple[str, ...]) -> None:
        self._text, self._limit, self._breaks = text, max_chars + 1, breaks
        self._after_cut_cr = self._in_line = False
        self.done = 0
        """Lines read to their end."""

    def read(self) -> str:
        """The next piece, "" at the end of the file."""
        piece = self._text.readline(self._limit)
        if self._after_cut_cr and piece == "\n":
            # A "\r\n" that the limit split in two is one line break, as it is when read whole.
            piece = self._text.readline(self._limit)
        self._after_cut_cr = len(piece) == self._limit and piece.endswith("\r") and "\r" in self._breaks
        # A line ends with its last piece, or with the file after a piece cut at the limit.
        if (piece and not self.cut(piece)) or (not piece and self._in_line):
            self.done += 1
        self._in_line = bool(piece) and self.cut(piece)
        return piece

    def cut(self, piece: str) -> bool:
        """Whether `piece` is the start of a line that goes on in the next piece."""
        return len(piece) == self._limit and not piece.endswith(self._breaks)


def skip_csv_row(lines: Lines, piece: str, *, quoted: bool, delimiter: str) -> None:
    """Read past the rest of a CSV row, from `piece` (already read from `lines`) to the line where csv.reader would
    end the row; `quoted` says whether the row is inside a quoted field when `piece` begins (it began on an earlier
    line). Holds one piece at a time."""
    state = _QUOTED if quoted else _FIELD_START
    while piece:
        state = _advance(piece, state, delimiter)
        if state != _QUOTED and not lines.cut(piece):
            return
        piece = lines.read()


def _advance(piece: str, state: int, delimiter: str) -> int:
    """csv's state after `piece`, jumping from quote to quote and delimiter to delimiter."""
    position, end = 0, len(piece)
    while position < end and state != _TO_LINE_END:
        if state == _QUOTED:
            found = piece.find(_QUOTE, position)
            if found < 0:
                return _QUOTED
            run_end = _QUOTE_RUN.match(piece, found).end()  # type: ignore[union-attr]  # found is a quote
            # Inside a quoted field a doubled quote is one quote character; an odd one closes the field.
            state = _QUOTED if (run_end - found) % 2 == 0 else _AFTER_QUOTE
            position = run_end
        elif state == _AFTER_QUOTE:
            # A quote here doubles the one that ended the last piece; a line break ends the row, and anything
            # but a delimiter is csv's "expected after" error, which ends it too.
            if piece[position] == _QUOTE:
                state, position = _QUOTED, position + 1
            elif piece[position] == delimiter:
                state, position = _FIELD_START, position + 1
            else:
                return _TO_LINE_END
        elif state == _FIELD_START:
            if piece[position] == _QUOTE:
                state, position = _QUOTED, position + 1
            else:
                state = _UNQUOTED
        else:
            # In an unquoted field a quote is an ordinary character; only a delimiter starts the next field.
            found = piece.find(delimiter, position)
            if found < 0:
                return _UNQUOTED
            state, position = _FIELD_START, found + 1
    return state
