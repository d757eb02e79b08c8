"""Judging a batch file by its name and first bytes: its format, its text encoding, and the delimiter of a CSV."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

from folio.ingestion.errors import CorruptFile
from folio.ingestion.extract._decode import bom_encoding, detect_encoding
from folio.models import BatchFormat
from folio.records.errors import RecordFileInvalid

__all__ = ["choose_delimiter", "choose_encoding", "detect_format"]

# The sniffer's regular expressions run over all they are given; 64 KiB is plenty of rows to judge by.
_SNIFF_CHARS = 64 * 1024
_DELIMITERS = ",;\t|"
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def detect_format(path: Path, filename: str) -> BatchFormat:
    """By the client's file name, else by the content: JSON Lines start with '{'."""
    if known := _SUFFIXES.get(Path(filename).suffix.lower()):
        return BatchFormat(known)
    with path.open("rb") as file:
        head = file.read(4096)
    # Skipping byte-order marks and NULs (UTF-16's other half of each ASCII character) finds '{' in any encoding.
    first = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")[:1]
    return BatchFormat.JSONL if first == b"{" else BatchFormat.CSV


def choose_encoding(head: bytes, *, complete: bool) -> tuple[str, int]:
    """The file's encoding and the length of its byte-order mark, judged by its first bytes."""
    if (bom := bom_encoding(head)) is not None:
        return bom
    # As in document extraction: UTF-16 without a mark can be valid UTF-8 (ASCII with NULs between), so NULs
    # send the sample to detection, which still says UTF-8 for UTF-8 text with a stray NUL.
    if b"\x00" not in head:
        try:
            # Not final unless the sample is the whole file: its last character may continue past the sample.
            codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
            return "utf-8", 0
        except UnicodeDecodeError:
            if _mostly_utf8(head, complete=complete):
                return "utf-8", 0
    try:
        return detect_encoding(head), 0
    except CorruptFile:
        raise RecordFileInvalid("The file's text encoding could not be recognised.") from None


def _mostly_utf8(head: bytes, *, complete: bool) -> bool:
    """UTF-8 with a few broken bytes (a damaged export), whose bad rows are then refused one by one, rather than a
    single-byte code page: its accented letters are almost never valid UTF-8 sequences, while a UTF-8 file's are."""
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=complete)
    broken = text.count("\ufffd") - head.count("\ufffd".encode())
    valid = sum(1 for char in text if not char.isascii() and char != "\ufffd")
    return valid > broken > 0


def choose_delimiter(sample: str) -> str:
    sample = sample[:_SNIFF_CHARS]
    header = next((line for line in sample.splitlines() if line.strip()), "")
    # The header fixes the number of columns, so only a candidate it contains can be right. With none, the file
    # has one column and the choice only matters for quoting, where ',' is the convention.
    present = [delimiter for delimiter in _DELIMITERS if delimiter in header]
    if len(present) < 2:
        return present[0] if present else ","
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(present)).delimiter
    except csv.Error:
        sniffed = ""
    return sniffed if sniffed in present else max(present, key=header.count)
