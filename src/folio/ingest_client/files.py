"""Which files `folio ingest` sends: supported extensions, folders walked (recursively on request), hidden skipped."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_EXTENSIONS = (".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt")


@dataclass
class Collected:
    files: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    skipped: int = 0
    unsearched_folders: int = 0


def collect_files(paths: Iterable[Path], *, recursive: bool) -> Collected:
    """Supported files among `paths` and, for folders, their files (hidden ones left out), each once, in order."""
    collected = Collected()
    seen: set[Path] = set()

    def consider(path: Path) -> None:
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            collected.skipped += 1
        elif (resolved := path.resolve()) not in seen:
            seen.add(resolved)
            collected.files.append(path)

    for path in paths:
        if path.is_dir():
            for found in _walk(path, recursive=recursive, collected=collected):
                consider(found)
        elif path.is_file():
            consider(path)
        else:
            collected.missing.append(path)
    return collected


def _walk(folder: Path, *, recursive: bool, collected: Collected) -> Iterator[Path]:
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        if not recursive:
            collected.unsearched_folders += len(folders)
            folders.clear()
        for name in sorted(names):
            if not name.startswith(".") and (path := Path(root, name)).is_file():
                yield path
