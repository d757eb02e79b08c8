"""Caps on what one row of a batch file may hold (issue 12, item 6): a quote left open, a huge row, a huge JSON line
or a header that never ends is read in bounded memory and reported, never held whole."""

from __future__ import annotations

import csv
import io
import json
import threading
import tracemalloc
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from folio.models import BatchFormat
from folio.records import tasks
from folio.records._lines import Lines, skip_csv_row
from folio.records.errors import RecordFileInvalid
from folio.records.rows import ROW_TOO_LARGE, RecordMapping, RecordRow, RowError, RowReader, detect_format
from tests.apps import serve
from tests.factories import register, wait_until_finished
from tests.records.conftest import BATCHES, all_records, errors_of

MAPPING = RecordMapping(text="text", external_id="id")
MIB = 1 << 20
# The defaults, spelled out so that a calibration run can lift them.
LIMITS: dict[str, Any] = {"max_row_chars": 2_000_000, "max_row_lines": 10_000}


def read(path: Path, **options: Any) -> list[RecordRow | RowError]:
    with RowReader(path, detect_format(path, path.name), MAPPING, **options) as reader:
        return [item for block in reader.blocks(50) for item in block]


def outline(items: list[RecordRow | RowError]) -> list[tuple[int, str]]:
    return [(item.line, item.text if isinstance(item, RecordRow) else item.code) for item in items]


def traced_peak(path: Path, **options: Any) -> tuple[list[RecordRow | RowError], int]:
    tracemalloc.start()
    try:
        items = read(path, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return items, peak


def unterminated_quote_file(path: Path, *, filler_mib: int) -> Path:
    """Two good rows, then at line 4 a quote that never closes, then `filler_mib` MiB of ordinary rows."""
    with path.open("w", newline="") as file:
        file.write('text,id\none,1\ntwo,2\n"three opens a quote,3\n')
        line = "a perfectly ordinary row of text that is now inside the quote,4\n"
        file.writelines([line] * (filler_mib * MIB // len(line)))
    return path


# RowReader


def test_an_unterminated_quote_early_in_a_big_file_fails_its_row_in_bounded_memory(tmp_path: Path) -> None:
    path = unterminated_quote_file(tmp_path / "open.csv", filler_mib=30)
    items, peak = traced_peak(path)
    assert outline(items) == [(2, "one"), (3, "two"), (4, ROW_TOO_LARGE)]
    error = items[-1]
    assert isinstance(error, RowError)
    assert error.message == (
        "The row spans more than 10000 lines, the most allowed; a quote left open makes the rest of the file one row."
    )
    assert error.excerpt.startswith('"three opens a quote,3\na perfectly ordinary row')
    # The encoding sample (1 MiB as bytes and as text) and at most a row's cap, never the file.
    assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_row_over_the_character_cap_fails_alone_and_the_rows_after_it_keep_their_lines(tmp_path: Path) -> None:
    huge = "word, " * 50_000
    path = tmp_path / "big.csv"
    path.write_text(f'text,id\nbefore,1\n"{huge}\n{huge}\n{huge}",2\n"after, quoted",3\nlast,4\n')
    items = read(path, max_text_chars=1000, max_row_chars=100_000)
    assert outline(items) == [(2, "before"), (3, ROW_TOO_LARGE), (6, "after, quoted"), (7, "last")]
    error = items[1]
    assert isinstance(error, RowError)
    assert error.message == "The row holds more than 100000 characters, the most allowed."


def test_a_row_over_the_line_cap_fails_alone(tmp_path: Path) -> None:
    many = "\n".join(["x"] * 30)
    path = tmp_path / "lines.csv"
    path.write_text(f'text,id\n"{many}",1\n"fine\nacross lines",2\n')
    assert outline(read(path, max_row_lines=20)) == [(2, ROW_TOO_LARGE), (32, "fine\nacross lines")]
    assert outline(read(path, max_row_lines=30)) == [(2, many), (32, "fine\nacross lines")]


def test_one_physical_line_over_the_cap_is_read_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "line.csv"
    path.write_text("text,id\n" + "z" * (5 * MIB) + ',1\nnext,2\n"a ""quoted"" one",3\n')
    items, peak = traced_peak(path, max_text_chars=1000, max_row_chars=64 * 1024)
    assert outline(items) == [(2, ROW_TOO_LARGE), (3, "next"), (4, 'a "quoted" one')]
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_header_that_never_ends_is_refused_after_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    with path.open("w") as file:
        file.write('"text,id\n')
        file.writelines(["more of the header that never closes its quote\n"] * 400_000)
    assert path.stat().st_size > 16 * MIB
    tracemalloc.start()
    try:
        with pytest.raises(RecordFileInvalid, match="^The header row cannot be read: The row spans more than") as info:
            RowReader(path, BatchFormat.CSV, MAPPING)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.details == {"line": 10_002}
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_jsonl_line_over_the_cap_fails_alone_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    with path.open("w") as file:
        file.write(json.dumps({"text": "first", "id": 1}) + "\n")
        file.write('{"text": "' + "y" * (20 * MIB) + '", "id": 2}\n')
        file.write(json.dumps({"text": "third", "id": 3}) + "\n")
    items, peak = traced_peak(path)
    assert outline(items) == [(1, "first"), (2, ROW_TOO_LARGE), (3, "third")]
    error = items[1]
    assert isinstance(error, RowError)
    assert error.message == "The line holds more than 2000000 characters, the most allowed."
    assert error.excerpt.startswith('{"text": "yyy')
    assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_row_just_under_the_caps_is_read(tmp_path: Path) -> None:
    text = "t" * 90
    path = tmp_path / "edge.csv"
    path.write_text(f"text,id\n{text},1\n")
    # The row is "ttt…,1\n": 93 characters.
    assert outline(read(path, max_text_chars=90, max_row_chars=93)) == [(2, text)]
    assert outline(read(path, max_text_chars=90, max_row_chars=92)) == [(2, ROW_TOO_LARGE)]


# Where a row over the cap ends: exactly where csv.reader ends it


def csv_row_ends(text: str, delimiter: str) -> list[int]:
    """The line on which csv.reader ends each row (or the error that ends it), from the file's start."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    ends: list[int] = []
    while True:
        try:
            next(reader)
        except StopIteration:
            return ends
        except csv.Error:
            pass
        ends.append(reader.line_num)


@settings(max_examples=400, deadline=None)
@given(
    text=st.lists(st.sampled_from(['"', ",", ";", "a", "b", " ", "\n", "\r\n", "\r"]), max_size=40).map("".join),
    delimiter=st.sampled_from([",", ";"]),
    max_chars=st.integers(min_value=1, max_value=8),
)
def test_skipping_a_row_ends_where_csv_ends_it(text: str, delimiter: str, max_chars: int) -> None:
    lines = Lines(io.StringIO(text, newline=""), max_chars=max_chars, breaks=("\n", "\r"))
    ends: list[int] = []
    while piece := lines.read():
        skip_csv_row(lines, piece, quoted=False, delimiter=delimiter)
        ends.append(lines.done)
    assert ends == csv_row_ends(text, delimiter)


# The API and the import job


async def test_the_import_job_reports_an_unterminated_quote_in_bounded_memory(
    own_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = b"more text inside that quote,2\n"
    content = b'text,id\n"opens a quote and never closes it,1\n' + inside * (40 * MIB // len(inside))
    # The job starts reading once the upload's own buffers are behind the baseline, and the peak is taken when it
    # has read the file, before indexing (whose embedding model is a fixed cost of ~200 MiB).
    start, peaks = threading.Event(), []

    class MeasuredReader(RowReader):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            start.wait(timeout=60)
            super().__init__(*args, **kwargs)

        def close(self) -> None:
            super().close()
            peaks.append(resident_bytes("VmHWM"))

    monkeypatch.setattr(tasks, "RowReader", MeasuredReader)
    async with serve(own_database_url, records=LIMITS) as (_, client):
        account = await register(client)
        response = await client.post(
            BATCHES,
            files={"file": ("open.csv", content, "text/csv")},
            data={"mapping": json.dumps({"text": "text", "external_id": "id"}), "enrich": "false"},
            headers=account.headers,
        )
        assert response.status_code == 202, response.text
        reset_peak_memory()
        before = resident_bytes("VmRSS")
        start.set()
        job = await wait_until_finished(client, account, UUID(response.json()["job_id"]), seconds=120)
        assert job["status"] == "succeeded", job
        growth = peaks[0] - before
        batch = await client.get(f"{BATCHES}/{response.json()['id']}", headers=account.headers)
        assert errors_of(batch.json()) == [(2, ROW_TOO_LARGE)]
        assert await all_records(client, account.headers) == []
    # Holding the row, as csv does without the caps, costs about 300 MiB for this 40 MiB file.
    assert growth < 64 * MIB, f"the import grew the process by {growth // MIB} MiB"


async def test_an_upload_whose_header_never_ends_is_refused_at_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = b'"text,id\n' + b"the header's quote is still open here\n" * (8 * MIB // 38)
    response = await client.post(
        BATCHES,
        files={"file": ("open.csv", content, "text/csv")},
        data={"mapping": json.dumps({"text": "text"})},
        headers=account.headers,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "RECORD_FILE_INVALID"
    assert error["message"].startswith("The header row cannot be read: The row spans more than 10000 lines")
    assert error["details"]["line"] == 10_002


async def test_a_long_json_line_fails_its_row_and_the_next_lines_import(client: httpx.AsyncClient) -> None:
    account = await register(client)
    lines = [{"text": "short one", "id": "a"}, {"text": "x" * 2_100_000, "id": "b"}, {"text": "after it", "id": "c"}]
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    response = await client.post(
        BATCHES,
        files={"file": ("lines.jsonl", content, "application/x-ndjson")},
        data={"mapping": json.dumps({"text": "text", "external_id": "id"}), "enrich": "false"},
        headers=account.headers,
    )
    assert response.status_code == 202, response.text
    job = await wait_until_finished(client, account, UUID(response.json()["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    batch = await client.get(f"{BATCHES}/{response.json()['id']}", headers=account.headers)
    assert errors_of(batch.json()) == [(2, ROW_TOO_LARGE)]
    records = await all_records(client, account.headers)
    assert sorted(record["external_id"] for record in records) == ["a", "c"]


def reset_peak_memory() -> None:
    """Make VmHWM start again from the current resident size (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def resident_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)
