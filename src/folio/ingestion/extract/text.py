"""Plain text and Markdown: Markdown already is the target format, so both only need decoding and normalising."""

from __future__ import annotations

import re
from pathlib import Path

from folio.ingestion.errors import CorruptFile
from folio.ingestion.extract._decode import decode
from folio.ingestion.extract._normalise import clean_title, finish
from folio.ingestion.extracted import ExtractedText
from folio.settings import IngestionSettings

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_LEVEL_ONE_HEADING = re.compile(r"^ {0,3}# +(.+?)(?: +#+)?$")


def extract_text(path: Path, limits: IngestionSettings) -> ExtractedText:
    return ExtractedText.single_page(_read(path, limits))


def extract_markdown(path: Path, limits: IngestionSettings) -> ExtractedText:
    text = _read(path, limits)
    return ExtractedText.single_page(text, title=_first_level_one_heading(text))


def _read(path: Path, limits: IngestionSettings) -> str:
    raw = path.read_bytes()
    if not raw:
        raise CorruptFile("The file is empty.")
    return finish(decode(raw), limits.max_chars)


def _first_level_one_heading(markdown: str) -> str | None:
    in_fence = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (match := _LEVEL_ONE_HEADING.match(line)):
            return clean_title(match.group(1))
    return None
