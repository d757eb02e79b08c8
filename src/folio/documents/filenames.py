"""Client file names are display names only: never paths, never trusted."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

MAX_NAME_LENGTH = 255
_FALLBACK = "untitled"


def display_name(client_name: str | None) -> str:
    """The last path component, NFC-normalised, without control or bidi-override characters, at most 255 chars."""
    if not client_name:
        return _FALLBACK
    name = PureWindowsPath(PurePosixPath(client_name).name).name
    name = unicodedata.normalize("NFC", name)
    name = "".join(char for char in name if unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn"})
    name = name.strip().strip(".").strip()
    if not name:
        return _FALLBACK
    if len(name) <= MAX_NAME_LENGTH:
        return name
    stem, dot, suffix = name.rpartition(".")
    if dot and 0 < len(suffix) <= 16:
        return stem[: MAX_NAME_LENGTH - len(suffix) - 1] + "." + suffix
    return name[:MAX_NAME_LENGTH]


def extension(name: str) -> str:
    """Lower-case extension without the dot ("" when there is none)."""
    stem, dot, suffix = name.rpartition(".")
    return suffix.lower() if dot and stem else ""
