"""Streaming record-batch files into rows and row errors (folio.records.rows)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from folio.models import BatchFormat
from folio.records.errors import RecordFileInvalid, RecordMappingInvalid
from folio.records.rows import (
    FIELD_TOO_LONG,
    INVALID_DATE,
    INVALID_ENCODING,
    INVALID_JSON,
    MALFORMED_ROW,
    MISSING_TEXT,
    NOT_AN_OBJECT,
    TEXT_TOO_LONG,
    WRONG_FIELD_COUNT,
    RecordMapping,
    RecordRow,
    RowError,
    RowReader,
    detect_format,
)

MAPPING = RecordMapping(text="text", external_id="id")
MIB = 1 << 20


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """Reading files touches no database: this stands in for the suite's table cleanup so none is started."""


def write(directory: Path, content: str | bytes, name: str = "batch.csv") -> Path:
    path = directory / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def read(path: Path, mapping: RecordMapping = MAPPING, **options: Any) -> list[RecordRow | RowError]:
    with RowReader(path, detect_format(path, path.name), mapping, **options) as reader:
        return [item for block in reader.blocks(7) for item in block]


def texts(items: list[RecordRow | RowError]) -> list[tuple[int, str]]:
    """(line, text) of each row, or (line, code) of each error: the order and positions a user sees."""
    return [(item.line, item.text if isinstance(item, RecordRow) else item.code) for item in items]


def only_row(items: list[RecordRow | RowError]) -> RecordRow:
    assert len(items) == 1
    assert isinstance(items[0], RecordRow), items[0]
    return items[0]


def only_error(items: list[RecordRow | RowError]) -> RowError:
    assert len(items) == 1
    assert isinstance(items[0], RowError), items[0]
    return items[0]


def ascii_filler(rows: int) -> str:
    """Rows of 1 KiB each, to push content past the encoding sample without many rows to parse."""
    return "".join(f"{'filler ' * 146},{number}\n" for number in range(rows))


# The mapping


def test_mapping_parse_splits_fixed_roles_from_metadata() -> None:
    mapping = RecordMapping.parse(
        '{"text": " body ", "external_id": "id", "created_at": "when", "priority": "prio", "region": "r", '
        '"copy": "body"}'
    )

    assert mapping == RecordMapping(
        text="body",
        external_id="id",
        created_at="when",
        priority="prio",
        metadata={"region": "r", "copy": "body"},
    )
    assert mapping.columns() == ["body", "id", "when", "prio", "r"]


def test_mapping_parse_accepts_the_limits() -> None:
    roles = {"text": "t" * 200, "r" * 64: "x"} | {f"role_{number}": f"c{number}" for number in range(48)}

    mapping = RecordMapping.parse(json.dumps(roles))

    assert len(mapping.metadata) == 49
    assert mapping.text == "t" * 200


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "{not json",
        "[]",
        '"text"',
        '{"text": 3}',
        '{"text": "  "}',
        '{"text": null}',
        json.dumps({"text": "x" * 201}),
        '{"title": "subject"}',
        json.dumps({"text": "t"} | {f"role_{number}": "c" for number in range(50)}),
        '{"text": "t", "1st": "c"}',
        '{"text": "t", "bad-name": "c"}',
        json.dumps({"text": "t", "r" * 65: "c"}),
    ],
)
def test_mapping_parse_rejects(raw: str | None) -> None:
    with pytest.raises(RecordMappingInvalid) as caught:
        RecordMapping.parse(raw)

    assert caught.value.details["field"] == "mapping"


# Formats


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("cases.csv", BatchFormat.CSV),
        ("CASES.TSV", BatchFormat.CSV),
        ("cases.txt", BatchFormat.CSV),
        ("cases.jsonl", BatchFormat.JSONL),
        ("cases.ndjson", BatchFormat.JSONL),
        ("cases.json", BatchFormat.JSONL),
    ],
)
def test_detect_format_by_extension(tmp_path: Path, filename: str, expected: BatchFormat) -> None:
    # The content says otherwise: the extension wins.
    path = write(tmp_path, '{"text": "x"}\n' if expected is BatchFormat.CSV else "text\nx\n", "stored")

    assert detect_format(path, filename) is expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'\n  {"text": "x"}\n', BatchFormat.JSONL),
        (codecs.BOM_UTF8 + b'{"text": "x"}\n', BatchFormat.JSONL),
        ('{"text": "x"}\n'.encode("utf-16"), BatchFormat.JSONL),
        (b"text,id\nx,1\n", BatchFormat.CSV),
        (b"", BatchFormat.CSV),
    ],
)
def test_detect_format_by_content(tmp_path: Path, content: bytes, expected: BatchFormat) -> None:
    assert detect_format(write(tmp_path, content, "upload"), "upload.dat") is expected


# Opening: the header against the mapping


def test_a_mapped_column_missing_from_the_header_names_it_and_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "text,external id\nhello,1\n")

    with pytest.raises(RecordMappingInvalid) as caught:
        RowReader(path, BatchFormat.CSV, RecordMapping(text="text", external_id="id", metadata={"p": "prio"}))

    assert caught.value.details == {"field": "mapping", "missing": ["id", "prio"], "columns": ["text", "external id"]}


@pytest.mark.parametrize("content", [b"", b"\n\r\n\n", b"  \n"], ids=["empty", "blank-lines", "blank-header"])
def test_a_csv_without_a_header_is_invalid(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(RecordFileInvalid):
        RowReader(write(tmp_path, content), BatchFormat.CSV, MAPPING)


def test_duplicate_header_names_are_invalid_only_when_mapped(tmp_path: Path) -> None:
    path = write(tmp_path, "text,id,note,note\nhello,1,a,b\n")

    assert texts(read(path)) == [(2, "hello")]
    with pytest.raises(RecordFileInvalid) as caught:
        read(path, RecordMapping(text="text", metadata={"note": "note"}))
    assert caught.value.details == {"duplicates": ["note"]}


def test_an_unreadable_header_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(RecordFileInvalid):
        RowReader(write(tmp_path, 'text,"id"x\nhello,1\n'), BatchFormat.CSV, MAPPING)


def test_binary_content_has_no_recognisable_encoding(tmp_path: Path) -> None:
    with pytest.raises(RecordFileInvalid):
        RowReader(write(tmp_path, bytes(range(256)) * 50), BatchFormat.CSV, MAPPING)


@pytest.mark.parametrize("content", ["", " \n\n", '[{"text": "a"}, {"text": "b"}]\n'])
def test_an_empty_jsonl_file_or_a_json_array_is_invalid(tmp_path: Path, content: str) -> None:
    with pytest.raises(RecordFileInvalid):
        RowReader(write(tmp_path, content, "batch.jsonl"), BatchFormat.JSONL, MAPPING)


# Encodings


def test_a_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF8 + "text,id\nhéllo,1\n".encode())

    with RowReader(path, BatchFormat.CSV, MAPPING) as reader:
        assert reader.columns == ["text", "id"]
        assert reader.encoding == "utf-8"
        assert texts(next(reader.blocks(10))) == [(2, "héllo")]


def test_utf16_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path, "text;id\r\nGrüße, Welt;1\r\n日本語;2\r\n".encode("utf-16"))

    with RowReader(path, BatchFormat.CSV, MAPPING) as reader:
        assert (reader.encoding, reader.delimiter) == ("utf-16-le", ";")
        assert texts(next(reader.blocks(10))) == [(2, "Grüße, Welt"), (3, "日本語")]


def test_utf16_without_a_byte_order_mark_is_detected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ("text,id\n" + "".join(f"hello world {number},{number}\n" for number in range(20))).encode("utf-16-le"),
    )

    with RowReader(path, BatchFormat.CSV, MAPPING) as reader:
        assert reader.encoding == "utf-16-le"
        assert texts(next(reader.blocks(1))) == [(2, "hello world 0")]


def test_windows_1252_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path, b"text,id\ncaf\xe9 cr\xe8me,1\n")

    with RowReader(path, BatchFormat.CSV, MAPPING) as reader:
        assert reader.encoding == "cp1252"
        assert texts(next(reader.blocks(10))) == [(2, "café crème")]


def test_a_character_cut_at_the_end_of_the_sample_still_means_utf8(tmp_path: Path) -> None:
    head = b"text,id\n" + ascii_filler(1000).encode()
    head += b"f" * (MIB - 1 - len(head) - 3) + b",1\n"
    assert len(head) == MIB - 1  # "é" below starts on the sample's last byte
    path = write(tmp_path, head + "été,2\n".encode())

    items = read(path)

    assert texts(items[-1:]) == [(len(items) + 1, "été")]


@pytest.mark.parametrize("name", ["batch.csv", "batch.jsonl"])
def test_bytes_that_are_not_utf8_fail_only_their_row(tmp_path: Path, name: str) -> None:
    if name.endswith(".csv"):
        filler = ascii_filler(1100)
        content = ("text,id\n" + filler).encode() + b"caf\xe9,x\nafter,y\n"
        first = filler.count("\n") + 2
    else:
        filler = "".join(json.dumps({"text": "filler " * 146}) + "\n" for _ in range(1100))
        content = filler.encode() + b'{"text": "caf\xe9"}\n{"text": "after"}\n'
        first = filler.count("\n") + 1

    with RowReader(write(tmp_path, content, name), detect_format(tmp_path / name, name), MAPPING) as reader:
        items = [item for block in reader.blocks(500) for item in block]
        assert reader.encoding == "utf-8"

    assert texts(items[-2:]) == [(first, INVALID_ENCODING), (first + 1, "after")]
    error = items[-2]
    assert isinstance(error, RowError)
    assert "caf\ufffd" in error.excerpt  # the undecodable byte is shown, not a lone surrogate


# CSV dialect


def test_semicolons_from_european_excel(tmp_path: Path) -> None:
    # Excel's "CSV UTF-8" as a German locale writes it: a byte-order mark, then the locale's list separator. The
    # header alone has more commas than semicolons; the quoted fields show which one separates.
    content = (
        'Nachricht;Kunde;"Betrag, brutto, netto, EUR"\r\n'
        '"Rechnung; bitte prüfen";Müller;3,50 €\r\n'
        "Danke, gut;Schmidt;1,20\r\n"
    )
    path = write(tmp_path, codecs.BOM_UTF8 + content.encode())
    mapping = RecordMapping(text="Nachricht", customer="Kunde", metadata={"amount": "Betrag, brutto, netto, EUR"})

    with RowReader(path, BatchFormat.CSV, mapping) as reader:
        items = next(reader.blocks(10))
        assert reader.delimiter == ";"

    assert texts(items) == [(2, "Rechnung; bitte prüfen"), (3, "Danke, gut")]
    assert isinstance(items[0], RecordRow)
    assert (items[0].customer, items[0].metadata) == ("Müller", {"amount": "3,50 €"})


def test_a_delimiter_found_only_in_the_header_is_used(tmp_path: Path) -> None:
    assert texts(read(write(tmp_path, "text|id\nhello, world; again|1\n"))) == [(2, "hello, world; again")]


def test_a_given_delimiter_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, "text,x|id\nhello, world|1\n")
    mapping = RecordMapping(text="text,x", external_id="id")

    assert texts(read(path, mapping, delimiter="|")) == [(2, "hello, world")]
    with pytest.raises(RecordFileInvalid):
        read(path, mapping, delimiter="||")


def test_quoted_newlines_and_quotes_keep_line_numbers_of_row_starts(tmp_path: Path) -> None:
    content = 'text,id\r\n"first\r\nline, with ""quotes""",1\r\n\r\nsecond,2\r\n"multi\nline\nthree",3\n,\nlast,4\n'

    assert texts(read(write(tmp_path, content))) == [
        (2, 'first\r\nline, with "quotes"'),
        (5, "second"),
        (6, "multi\nline\nthree"),
        (10, "last"),
    ]


def test_rows_with_the_wrong_number_of_fields(tmp_path: Path) -> None:
    content = "text,id\nok,1\ntoo,many,fields\nshort\npadded by excel,2,,, \nextra,3,,x\n"

    items = read(write(tmp_path, content))

    assert texts(items) == [
        (2, "ok"),
        (3, WRONG_FIELD_COUNT),
        (4, WRONG_FIELD_COUNT),
        (5, "padded by excel"),
        (6, WRONG_FIELD_COUNT),
    ]
    assert isinstance(items[1], RowError)
    assert (items[1].message, items[1].excerpt) == ("The row has 3 fields; the header has 2.", "too,many,fields")


def test_a_5_mb_field_is_read_whole(tmp_path: Path) -> None:
    huge = "word " * 1_000_000 + "end"
    path = write(tmp_path, f'text,id\n"{huge}",1\nnext,2\n')

    assert texts(read(path, max_text_chars=6_000_000, max_row_chars=6_000_000)) == [(2, huge), (3, "next")]


def test_a_text_over_the_limit_fails_its_row_only(tmp_path: Path) -> None:
    path = write(tmp_path, f'text,id\nshort,1\n"{"x, " * 100_000}",2\nafter,3\n')

    items = read(path)

    assert texts(items) == [(2, "short"), (3, TEXT_TOO_LONG), (4, "after")]
    assert isinstance(items[1], RowError)
    assert len(items[1].excerpt) == 200


def test_fields_over_their_limits(tmp_path: Path) -> None:
    mapping = RecordMapping(text="text", external_id="id", channel="channel", title="title")
    content = f"text,id,channel,title\na,{'i' * 255},{'c' * 200},{'t' * 600}\nb,{'i' * 256},c,t\nc,1,{'c' * 201},t\n"

    items = read(write(tmp_path, content), mapping)

    assert texts(items) == [(2, "a"), (3, FIELD_TOO_LONG), (4, FIELD_TOO_LONG)]
    first = items[0]
    assert isinstance(first, RecordRow)
    assert (first.external_id, first.channel, first.title) == ("i" * 255, "c" * 200, "t" * 500)
    assert [item.message for item in items[1:] if isinstance(item, RowError)] == [
        "Column 'id' is longer than 255 characters.",
        "Column 'channel' is longer than 200 characters.",
    ]


def test_an_unterminated_quote_at_the_end_fails_the_last_row_only(tmp_path: Path) -> None:
    items = read(write(tmp_path, 'text,id\none,1\ntwo,2\n"three,3\nfour,4\n'))

    assert texts(items) == [(2, "one"), (3, "two"), (4, MALFORMED_ROW)]
    assert isinstance(items[-1], RowError)
    assert items[-1].excerpt == '"three,3\nfour,4'


def test_reading_goes_on_after_a_malformed_row(tmp_path: Path) -> None:
    assert texts(read(write(tmp_path, 'text,id\n"bad"quote,1\ngood,2\n'))) == [(2, MALFORMED_ROW), (3, "good")]


def test_nul_characters_are_removed(tmp_path: Path) -> None:
    items = read(write(tmp_path, b"text,id\nhel\x00lo,1\nbad\x00,1,2\n"))

    assert texts(items) == [(2, "hello"), (3, WRONG_FIELD_COUNT)]
    assert isinstance(items[1], RowError)
    assert items[1].excerpt == "bad,1,2"


# JSON Lines


def test_jsonl_lines_that_are_not_objects(tmp_path: Path) -> None:
    content = '{"text": "one"}\n\n{"text": \n[1, 2]\n"text"\n{"text": "two"}\n'

    items = read(write(tmp_path, content, "batch.jsonl"))

    assert texts(items) == [(1, "one"), (3, INVALID_JSON), (4, NOT_AN_OBJECT), (5, NOT_AN_OBJECT), (6, "two")]
    assert isinstance(items[1], RowError)
    assert items[1].excerpt == '{"text": '


def test_jsonl_paths_scalars_and_metadata(tmp_path: Path) -> None:
    line = {
        "body": {"text": "  hello  "},
        "id": 42,
        "channel": True,
        "customer": {"name": "Ann"},
        "customer.tier": "gold",
        "score": 1.5,
        "tags": ["a", "b"],
        "note": "  keep me  ",
        "blank": " ",
        "nothing": None,
    }
    mapping = RecordMapping.parse(
        json.dumps(
            {
                "text": "body.text",
                "external_id": "id",
                "channel": "channel",
                "customer": "customer.name",
                "tier": "customer.tier",
                "score": "score",
                "tags": "tags",
                "note": "note",
                "blank": "blank",
                "nothing": "nothing",
                "absent": "missing.key",
            }
        )
    )

    row = only_row(read(write(tmp_path, json.dumps(line) + "\n", "batch.jsonl"), mapping))

    assert (row.text, row.external_id, row.channel, row.customer) == ("hello", "42", "true", "Ann")
    assert row.metadata == {"tier": "gold", "score": 1.5, "tags": ["a", "b"], "note": "keep me"}


def test_a_jsonl_value_nested_past_the_limit_is_a_malformed_row(tmp_path: Path) -> None:
    deep = '{"text": "deep", "meta": ' + "[" * 900 + "]" * 900 + "}"
    content = deep + '\n{"text": "fine", "meta": [[1]]}\n'

    items = read(write(tmp_path, content, "batch.jsonl"), RecordMapping(text="text", metadata={"meta": "meta"}))

    assert texts(items) == [(1, MALFORMED_ROW), (2, "fine")]


def test_jsonl_nul_characters_are_removed(tmp_path: Path) -> None:
    content = b'{"text": "a\\u0000b", "meta": {"k": "v\\u0000"}}\n{"text": "c\x00d"}\n'

    items = read(write(tmp_path, content, "batch.jsonl"), RecordMapping(text="text", metadata={"meta": "meta"}))

    assert texts(items) == [(1, "ab"), (2, "cd")]
    assert isinstance(items[0], RecordRow)
    assert items[0].metadata == {"meta": {"k": "v"}}


def test_jsonl_an_object_where_a_value_belongs(tmp_path: Path) -> None:
    error = only_error(read(write(tmp_path, '{"text": {"en": "hi"}}\n', "batch.jsonl")))

    assert (error.code, error.message) == (MALFORMED_ROW, "Field 'text' is a JSON object, not a single value.")


# Values


@pytest.mark.parametrize(
    ("content", "name"),
    [("text,id\n  ,1\n", "batch.csv"), ('{"id": 1}\n', "batch.jsonl"), ('{"text": null}\n', "batch.jsonl")],
)
def test_missing_text(tmp_path: Path, content: str, name: str) -> None:
    assert only_error(read(write(tmp_path, content, name))).code == MISSING_TEXT


MOMENT = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-01T10:00:00Z", MOMENT),
        ("2024-03-01T12:00:00+02:00", MOMENT),
        ("2024-03-01T10:00:00.250-01:00", datetime(2024, 3, 1, 11, 0, 0, 250_000, tzinfo=UTC)),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01 10:00", MOMENT),
        ("2024-03-01 10:00:15", MOMENT.replace(second=15)),
        (str(int(MOMENT.timestamp())), MOMENT),
        (f"{MOMENT.timestamp() + 0.5}", MOMENT.replace(microsecond=500_000)),
        (int(MOMENT.timestamp()), MOMENT),
        (MOMENT.timestamp() + 0.5, MOMENT.replace(microsecond=500_000)),
        ("  ", None),
        (None, None),
    ],
)
def test_created_at(tmp_path: Path, raw: object, expected: datetime | None) -> None:
    path = write(tmp_path, json.dumps({"text": "t", "when": raw}) + "\n", "batch.jsonl")

    row = only_row(read(path, RecordMapping(text="text", created_at="when")))

    assert row.occurred_at == expected
    assert row.occurred_at is None or row.occurred_at.utcoffset() is not None


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-01", "1" * 20, "01/03/2024", True])
def test_created_at_that_is_not_a_date(tmp_path: Path, raw: object) -> None:
    path = write(tmp_path, json.dumps({"text": "t", "when": raw}) + "\n", "batch.jsonl")

    error = only_error(read(path, RecordMapping(text="text", created_at="when")))

    assert error.code == INVALID_DATE
    assert error.message.startswith("Field 'when' is not a date: '")


def test_created_at_in_csv_names_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, "text,created_at\nhi,yesterday\nhey,2024-03-01 10:00\n")

    items = read(path, RecordMapping(text="text", created_at="created_at"))

    assert isinstance(items[0], RowError)
    assert items[0].message == "Column 'created_at' is not a date: 'yesterday'."
    assert isinstance(items[1], RecordRow)
    assert items[1].occurred_at == MOMENT


# Resuming, blocks and progress


@pytest.mark.parametrize(
    ("content", "name"),
    [
        ('text,id\na,1\n"bad"x,2\n\nc,3\nd,4\n', "batch.csv"),
        ('{"text": "a"}\nnot json\n\n{"text": "c"}\n{"text": "d"}\n', "batch.jsonl"),
    ],
)
def test_skip_resumes_after_rows_already_handled(tmp_path: Path, content: str, name: str) -> None:
    path = write(tmp_path, content, name)

    with RowReader(path, detect_format(path, name), MAPPING, skip=2) as reader:
        items = [item for block in reader.blocks(10) for item in block]
        assert reader.rows_read == 4

    assert [item.text for item in items if isinstance(item, RecordRow)] == ["c", "d"]


def test_blocks_come_in_file_order_with_progress(tmp_path: Path) -> None:
    path = write(tmp_path, "text,id\n" + "".join(f"row {number},{number}\n" for number in range(10)))

    with RowReader(path, BatchFormat.CSV, MAPPING) as reader:
        assert reader.size_bytes == path.stat().st_size
        blocks = list(reader.blocks(3))
        assert reader.bytes_read() == reader.size_bytes
        assert reader.rows_read == 10
        with pytest.raises(ValueError, match="at least one"):
            reader.blocks(0)

    assert [len(block) for block in blocks] == [3, 3, 3, 1]
    assert [item.text for block in blocks for item in block if isinstance(item, RecordRow)] == [
        f"row {number}" for number in range(10)
    ]


async def test_blocks_advance_from_worker_threads(tmp_path: Path) -> None:
    """As a job calls it: `next` with a default, because a StopIteration cannot be raised into a coroutine."""
    path = write(tmp_path, "text,id\n" + "".join(f"row {number},{number}\n" for number in range(5)))
    sizes = []

    with RowReader(path, BatchFormat.CSV, MAPPING) as reader:
        blocks = reader.blocks(2)
        while (block := await anyio.to_thread.run_sync(next, blocks, None)) is not None:
            sizes.append(len(block))

    assert sizes == [2, 2, 1]


def test_jsonl_reader_has_no_columns_or_delimiter(tmp_path: Path) -> None:
    with RowReader(write(tmp_path, '{"text": "x"}\n', "b.jsonl"), BatchFormat.JSONL, MAPPING) as reader:
        assert (reader.columns, reader.delimiter, reader.encoding) == ([], None, "utf-8")


@pytest.mark.parametrize("name", ["big.csv", "big.jsonl"])
def test_memory_stays_flat_in_file_size(tmp_path: Path, name: str) -> None:
    text = "lorem ipsum, dolor; sit amet " * 140
    path = tmp_path / name
    with path.open("w", newline="") as file:
        if name.endswith(".csv"):
            file.write("text,id\r\n")
            file.writelines(f'"{text}",{number}\r\n' for number in range(7_500))
        else:
            file.writelines(json.dumps({"text": text, "id": number}) + "\n" for number in range(7_500))
    size = path.stat().st_size
    assert size > 29 * MIB

    tracemalloc.start()
    try:
        with RowReader(path, detect_format(path, name), MAPPING) as reader:
            count = sum(len(block) for block in reader.blocks(100))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 7_500
    # What stays is the encoding sample (1 MiB, as bytes and as text) and one block of rows.
    assert peak < size / 8


# The property: whatever csv.writer writes, the reader gives back


FIELD_TEXT = st.text(
    st.sampled_from(list("ab ,;|\t\"\r\n'é日🙂")) | st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(FIELD_TEXT.filter(lambda text: text.strip() != ""), FIELD_TEXT), max_size=15),
    delimiter=st.sampled_from(",;\t|"),
)
def test_what_csv_writer_writes_is_read_back(tmp_path: Path, rows: list[tuple[str, str]], delimiter: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["text", "id"])
    expected = []
    for text, external_id in rows:
        line = len(re.findall(r"\r\n|\r|\n", buffer.getvalue())) + 1
        expected.append((line, text.strip(), external_id.strip() or None))
        writer.writerow([text, external_id])
    path = write(tmp_path, buffer.getvalue())

    items = read(path)

    assert [(row.line, row.text, row.external_id) for row in items if isinstance(row, RecordRow)] == expected
