"""DOCX archives whose headers lie about their members' sizes (issue 12, item 5).

The sizes a zip declares are the attacker's to choose: a member declaring a few bytes, or an amount under the
limit, may inflate to gigabytes. Extraction must count the bytes it actually produces, and its memory must not
follow the real expansion.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

from folio.ingestion.errors import ArchiveBomb, CorruptFile
from folio.ingestion.extract import extract, extract_isolated
from folio.ingestion.extracted import FileKind
from folio.settings import IngestionSettings
from tests.ingestion.fixtures import docx_bytes, write_docx

MIB = 1 << 20
DOCUMENT = "word/document.xml"
# Large enough that inflating it whole shows plainly in the process's peak memory.
INFLATED_MIB = 400
PEAK_GROWTH_LIMIT = 256 * MIB
_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>"
)
_CLOSE = b"</w:t></w:r></w:p></w:body></w:document>"


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """Extraction uses no database: this replaces the suite's table cleanup so no PostgreSQL is started."""


def write_lying_docx(path: Path, *, member: str = DOCUMENT, inflated_mib: int, declared: int) -> Path:
    """A valid DOCX whose `member` holds `inflated_mib` MiB of XML while both of its headers declare `declared`
    bytes, with the CRC of those first bytes, as an attacker would forge it."""
    original = zipfile.ZipFile(io.BytesIO(docx_bytes(["A harmless paragraph."])))
    crc, counted = 0, 0

    def counting(data: bytes) -> bytes:
        nonlocal crc, counted
        take = data[: max(declared - counted, 0)]
        crc, counted = zlib.crc32(take, crc), counted + len(take)
        return data

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info in original.infolist():
            if info.filename != member:
                archive.writestr(info.filename, original.read(info))
                continue
            body = b"a" * MIB
            with archive.open(member, "w") as stream:
                stream.write(counting(_OPEN))
                for _ in range(inflated_mib):
                    stream.write(counting(body))
                stream.write(counting(_CLOSE))
    _patch_sizes(path, member, declared, crc)
    return path


def _patch_sizes(path: Path, member: str, declared: int, crc: int, flags: int = 0) -> None:
    """Set the uncompressed size and CRC of `member` in its local header and its central-directory entry, and add
    `flags` to its general-purpose bits."""
    data = bytearray(path.read_bytes())
    directory_end = data.rfind(b"PK\x05\x06")
    (entries,) = struct.unpack_from("<H", data, directory_end + 10)
    (position,) = struct.unpack_from("<L", data, directory_end + 16)
    patched = 0
    for _ in range(entries):
        assert data[position : position + 4] == b"PK\x01\x02"
        name_length, extra_length, comment_length = struct.unpack_from("<3H", data, position + 28)
        (local,) = struct.unpack_from("<L", data, position + 42)
        if data[position + 46 : position + 46 + name_length] == member.encode():
            (bits,) = struct.unpack_from("<H", data, position + 8)
            struct.pack_into("<H", data, position + 8, bits | flags)
            struct.pack_into("<L", data, position + 16, crc)
            struct.pack_into("<L", data, position + 24, declared)
            assert data[local : local + 4] == b"PK\x03\x04"
            struct.pack_into("<L", data, local + 14, crc)
            struct.pack_into("<L", data, local + 22, declared)
            patched += 1
        position += 46 + name_length + extra_length + comment_length
    assert patched == 1
    path.write_bytes(bytes(data))


def peak_growth_of_extraction(path: Path, limits: IngestionSettings) -> tuple[str, int]:
    """Extract `path` in a fresh interpreter: the error code (or "OK") and how far the process's peak resident
    memory (VmHWM) rose above its resident memory just before extracting."""
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from folio.errors import FolioError
        from folio.ingestion.extract import extract
        from folio.ingestion.extracted import FileKind
        from folio.settings import IngestionSettings

        def kib(field):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
            raise LookupError(field)

        limits = IngestionSettings.model_validate_json(sys.argv[2])
        before = kib("VmRSS")
        try:
            extract(Path(sys.argv[1]), FileKind.DOCX, limits)
            code = "OK"
        except FolioError as error:
            code = error.code
        print(json.dumps({"code": code, "growth": kib("VmHWM") - before}))
        """
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, str(path), limits.model_dump_json()],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    outcome = json.loads(done.stdout)
    return outcome["code"], outcome["growth"]


@pytest.mark.parametrize(
    "declared",
    [
        pytest.param(1000, id="declares-1000-bytes"),
        pytest.param(150 * MIB, id="declares-150-MiB-under-the-limit"),
    ],
)
def test_a_member_inflating_past_its_declared_size_is_refused_in_bounded_memory(tmp_path: Path, declared: int) -> None:
    path = write_lying_docx(tmp_path / "bomb.docx", inflated_mib=INFLATED_MIB, declared=declared)
    assert path.stat().st_size < 2 * MIB
    code, growth = peak_growth_of_extraction(path, IngestionSettings(max_archive_mb=200))
    assert code == ArchiveBomb.code
    assert growth < PEAK_GROWTH_LIMIT, f"extraction peaked {growth // MIB} MiB above its start"


def test_the_real_child_process_refuses_a_lying_member(tmp_path: Path) -> None:
    path = write_lying_docx(tmp_path / "bomb.docx", inflated_mib=INFLATED_MIB, declared=1000)
    with pytest.raises(ArchiveBomb, match="word/document.xml"):
        extract_isolated(path, FileKind.DOCX, IngestionSettings())


@pytest.mark.parametrize("member", ["[Content_Types].xml", "word/styles.xml", "docProps/core.xml"])
def test_every_member_is_counted_not_only_the_document(tmp_path: Path, member: str) -> None:
    path = write_lying_docx(tmp_path / "bomb.docx", member=member, inflated_mib=8, declared=1000)
    with pytest.raises(ArchiveBomb, match=member.replace("[", r"\[").replace("]", r"\]")):
        extract(path, FileKind.DOCX, IngestionSettings())


def test_a_member_declaring_more_than_it_holds_is_read(tmp_path: Path) -> None:
    # zipfile stops at the end of the compressed data: declaring too much costs nothing, so it is not refused.
    path = write_lying_docx(tmp_path / "short.docx", inflated_mib=1, declared=2 * MIB)
    assert len(extract(path, FileKind.DOCX, IngestionSettings()).text) == MIB


def test_honest_documents_still_read(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "a.docx", ["First paragraph.", "Second paragraph."])
    assert extract(path, FileKind.DOCX, IngestionSettings()).text == "First paragraph.\n\nSecond paragraph."


def test_an_encrypted_member_is_corrupt_not_a_crash(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "locked.docx", ["A harmless paragraph."])
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(DOCUMENT)
    _patch_sizes(path, DOCUMENT, info.file_size, info.CRC, flags=0x01)
    with pytest.raises(CorruptFile):
        extract(path, FileKind.DOCX, IngestionSettings())


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compression_a_docx_may_not_use_is_refused(tmp_path: Path, method: int) -> None:
    # OPC allows only stored and deflated parts; bzip2 and lzma members are inflated by zipfile without any bound.
    original = zipfile.ZipFile(io.BytesIO(docx_bytes(["A harmless paragraph."])))
    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as archive:
        for info in original.infolist():
            archive.writestr(info.filename, original.read(info), compress_type=method)
    with pytest.raises(CorruptFile):
        extract(path, FileKind.DOCX, IngestionSettings())
