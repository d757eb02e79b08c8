"""Bytes to text: a byte-order mark, then a declared charset, then UTF-8, then detection."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from folio.ingestion.errors import CorruptFile

# UTF-32's little-endian mark starts with UTF-16's, so it is tried first.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_ENCODINGS = ["utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"]
# What browsers do with a declared charset (WHATWG Encoding): Latin-1 and ASCII mean windows-1252, and a
# UTF-16 declaration inside the bytes it describes cannot be true, so it means UTF-8.
_DECLARED_ALIASES = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "utf-16": "utf-8",
    "utf-16-le": "utf-8",
    "utf-16-be": "utf-8",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.IGNORECASE)


def decode(raw: bytes, declared: str | None = None) -> str:
    if (bom := bom_encoding(raw)) is not None:
        encoding, length = bom
        return raw[length:].decode(encoding, errors="replace")
    if declared is not None:
        try:
            return raw.decode(declared, errors="replace")
        except LookupError:
            pass  # a bytes-to-bytes codec such as zlib, which Python knows but is not a text encoding

    # UTF-16 text without a mark can be valid UTF-8 (ASCII with NULs between), so NULs send it to detection.
    if b"\x00" not in raw:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return _detect(raw)


def bom_encoding(raw: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark at the start of `raw` names, and the mark's length in bytes."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            return encoding, len(mark)
    return None


def detect_encoding(raw: bytes) -> str:
    """The encoding detection finds likeliest for `raw`, which has no byte-order mark, as Python's codec name."""
    # Without a NUL byte, text cannot be UTF-16 or UTF-32 in practice, yet short samples often pass as such.
    matches = from_bytes(raw, cp_exclusion=[] if b"\x00" in raw else _WIDE_ENCODINGS)
    best = matches.best()
    if best is None:
        raise CorruptFile("The file's text encoding could not be recognised.")
    # Short Western text decodes identically under many single-byte code pages, and detection cannot tell them
    # apart; windows-1252, the usual one, is chosen when it is among the equally good candidates.
    if any(
        "cp1252" in match.could_be_from_charset
        for match in matches
        if (match.chaos, match.coherence) == (best.chaos, best.coherence)
    ):
        return "cp1252"
    return codecs.lookup(best.encoding).name


def html_charset(raw: bytes) -> str | None:
    """The charset a `<meta>` declares in the first 1024 bytes, where the HTML Standard looks, if Python knows it."""
    match = _META_CHARSET.search(raw[:1024])
    if match is None:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    return _DECLARED_ALIASES.get(name, name)


def _detect(raw: bytes) -> str:
    text = raw.decode(detect_encoding(raw), errors="replace")
    # Detection also recognises the signatures of UTF-7 and GB18030, which decode to a leading U+FEFF.
    return text.removeprefix("\ufeff")
