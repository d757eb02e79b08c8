"""Checking a zip by inflating every member in bounded pieces before a library reads them whole.

A zip's sizes are whatever its author wrote. zipfile stops a member at its declared size, but `read()` first asks
zlib for up to 1 GiB of output in one call and cuts it afterwards: a member declaring 1,000 bytes that inflates to
1 GiB costs 2 GiB of memory before the cut. So each member is inflated here, a piece at a time, counting what comes
out and stopping one piece past what it declares; nothing is kept. A member producing more than it declares is
refused, which, with the declared total under the limit, bounds what the library can be made to inflate.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from folio.ingestion.errors import ArchiveBomb, CorruptFile

__all__ = ["check_archive"]

_MIB = 1024 * 1024
_PIECE = 256 * 1024
# signature, version, flags, method, time, date, CRC-32, compressed size, size, name length, extra field length
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
# Encrypted (bit 0), compressed patched data (bit 5), strong encryption (bit 6): zipfile cannot read these.
_UNREADABLE_FLAGS = 0x01 | 0x20 | 0x40
# ECMA-376 part 2 (Open Packaging Conventions) allows only these; zipfile inflates bzip2 and lzma without a bound.
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def check_archive(path: Path, *, max_mib: int, max_entries: int) -> None:
    """Refuse a DOCX (a zip) with too many members, declaring more than `max_mib` MiB in all, or holding a member
    that inflates past its declared size (`ArchiveBomb`); refuse one zipfile cannot read (`CorruptFile`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as error:
        raise _corrupt() from error
    if len(entries) > max_entries:
        raise ArchiveBomb(f"The DOCX holds {len(entries)} files; at most {max_entries} are allowed.")
    declared_bytes = sum(entry.file_size for entry in entries)
    if declared_bytes > max_mib * _MIB:
        raise ArchiveBomb(f"The DOCX would expand to {declared_bytes // _MIB} MiB; at most {max_mib} MiB are allowed.")
    with path.open("rb") as file:
        for entry in entries:
            if entry.flag_bits & _UNREADABLE_FLAGS or entry.compress_type not in _METHODS:
                raise _corrupt()
            if entry.compress_type == zipfile.ZIP_DEFLATED and _inflates_past(file, entry, entry.file_size):
                raise ArchiveBomb(
                    f"'{entry.filename[:200]}' in the DOCX inflates to more than the {entry.file_size} bytes it "
                    "declares."
                )


def _inflates_past(file: BinaryIO, entry: zipfile.ZipInfo, limit: int) -> bool:
    """Whether the member's deflated data produces more than `limit` bytes, inflating at most a piece past it."""
    file.seek(entry.header_offset)
    header = file.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
        raise _corrupt()
    name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
    file.seek(name_length + extra_length, 1)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    compressed_left, pending, produced = entry.compress_size, b"", 0
    while not inflater.eof:
        if not pending and compressed_left > 0:
            pending = file.read(min(_PIECE, compressed_left))
            if not pending:
                raise _corrupt()
            compressed_left -= len(pending)
        try:
            # max_length bounds the output of this call whatever the input expands to; the rest of the input
            # waits in unconsumed_tail.
            piece = inflater.decompress(pending, _PIECE)
        except zlib.error as error:
            raise _corrupt() from error
        pending = inflater.unconsumed_tail
        produced += len(piece)
        if produced > limit:
            return True
        if not piece:
            if pending:
                raise _corrupt()  # zlib took no input and gave no output: it cannot go on
            if compressed_left <= 0:
                break
    return False


def _corrupt() -> CorruptFile:
    return CorruptFile("The file is not a readable DOCX.")
