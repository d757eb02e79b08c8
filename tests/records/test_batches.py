"""POST /api/v1/cases/batches through the real app and its jobs: what a batch reports, what it imports."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator

from folio.enrichment.offline import MODEL as OFFLINE_MODEL
from folio.enrichment.triage import TRIAGE_SCHEMA, TRIAGE_SCHEMA_ID
from tests.factories import Account, error_of, register
from tests.records.conftest import BATCHES, all_records, csv_bytes, errors_of, import_batch, texts_by_id, upload

MIB = 1 << 20


def stored_files(directory: Path) -> set[Path]:
    return {path for path in directory.rglob("*") if path.is_file()}


async def keyword_hits(client: httpx.AsyncClient, account: Account, query: str) -> list[str]:
    """The document ids a keyword search over records finds, in rank order."""
    response = await client.post(
        "/api/v1/search",
        json={"query": query, "mode": "keyword", "top_k": 50, "filters": {"file_types": ["record"]}},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    return [hit["document_id"] for hit in response.json()["items"]]


# Rows a user gets wrong, and how the batch reports them.


async def test_bad_rows_are_reported_by_line_and_code_while_the_others_import(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = csv_bytes(
        "id,text,date,channel",
        "t1,The invoice total is wrong,2026-01-05,email",  # line 2
        "t2,,2026-01-05,email",  # 3: no text
        "t3,Too many fields,2026-01-05,email,extra",  # 4
        't4,"A message',  # 5-7: one row over three lines
        "over three",
        'lines",2026-01-06T10:00:00,chat',
        "t5,The date is wrong,yesterday,email",  # 8
        "t6,Fine again,1767225600,phone",  # 9: epoch seconds
        f"t7,A channel that is far too long,2026-01-07,{'x' * 201}",  # 10
        "t8,The last row,,",  # 11
    )

    batch = await import_batch(
        client, account, content, {"text": "text", "external_id": "id", "created_at": "date", "channel": "channel"}
    )

    assert errors_of(batch) == [
        (3, "MISSING_TEXT"),
        (4, "WRONG_FIELD_COUNT"),
        (8, "INVALID_DATE"),
        (10, "FIELD_TOO_LONG"),
    ]
    assert batch["errors"]["next_cursor"] is None
    excerpts = [error["excerpt"] for error in batch["errors"]["items"]]
    assert [excerpt[:3] for excerpt in excerpts] == ["t2,", "t3,", "t5,", "t7,"]
    assert all(error["message"] for error in batch["errors"]["items"])
    assert (batch["rows_read"], batch["rows_created"], batch["rows_failed"]) == (8, 4, 4)
    assert (batch["rows_updated"], batch["rows_unchanged"]) == (0, 0)
    assert (batch["records_indexed"], batch["format"], batch["delimiter"]) == (4, "csv", ",")
    records = await all_records(client, account.headers)
    assert texts_by_id(records) == {
        "t1": "The invoice total is wrong",
        "t4": "A message\nover three\nlines",
        "t6": "Fine again",
        "t8": "The last row",
    }
    by_id = {record["external_id"]: record for record in records}
    assert by_id["t4"]["occurred_at"] == "2026-01-06T10:00:00Z"
    assert by_id["t6"]["occurred_at"] == "2026-01-01T00:00:00Z"
    assert by_id["t8"]["occurred_at"] is None
    assert by_id["t8"]["channel"] is None
    assert {record["batch_id"] for record in records} == {batch["id"]}
    assert {record["index_status"] for record in records} == {"ready"}
    job = await client.get(f"/api/v1/jobs/{batch['job_id']}", headers=account.headers)
    assert (job.json()["kind"], job.json()["subject_id"]) == ("import_records", batch["id"])
    assert (job.json()["stage"], job.json()["progress"]) == ("done", 100)


async def test_an_unterminated_quote_fails_its_row_and_keeps_the_rows_before(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = csv_bytes("id,text", "q1,Fine", 'q2,"This quote is never closed', "q3,Read as part of the open quote")

    batch = await import_batch(client, account, content, {"text": "text", "external_id": "id"}, enrich="false")

    assert errors_of(batch) == [(3, "MALFORMED_ROW")]
    assert batch["errors"]["items"][0]["excerpt"].startswith('q2,"This quote')
    assert texts_by_id(await all_records(client, account.headers)) == {"q1": "Fine"}


async def test_row_errors_are_paged_in_file_order_without_gaps_or_repeats(client: httpx.AsyncClient) -> None:
    account = await register(client)
    lines = ["id,text"]
    bad_lines: list[int] = []
    for number in range(2, 42):
        if number % 4 == 0:
            lines.append(f"ok{number},Row {number} is fine")
        else:
            lines.append(f"bad{number},")
            bad_lines.append(number)
    batch = await import_batch(
        client, account, csv_bytes(*lines), {"text": "text", "external_id": "id"}, enrich="false"
    )
    assert (batch["rows_read"], batch["rows_created"], batch["rows_failed"]) == (40, 10, 30)

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"errors_limit": 7} | ({"errors_cursor": cursor} if cursor else {})
        response = await client.get(f"{BATCHES}/{batch['id']}", params=params, headers=account.headers)
        assert response.status_code == 200, response.text
        page = response.json()["errors"]
        assert len(page["items"]) <= 7
        seen += [error["line"] for error in page["items"]]
        assert {error["code"] for error in page["items"]} <= {"MISSING_TEXT"}
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == bad_lines
    assert pages == 5  # 30 errors, 7 a page
    error_of(
        await client.get(f"{BATCHES}/{batch['id']}", params={"errors_cursor": "!!"}, headers=account.headers),
        422,
        "INVALID_CURSOR",
    )


# Encodings and dialects.


async def test_a_byte_order_mark_and_semicolons_from_excel_are_understood(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = (
        codecs.BOM_UTF8
        + ('Ticket;Nachricht;Kunde\r\nk1;"Rechnung; bitte prüfen";Müller\r\nk2;Danke, alles gut;Schmidt\r\n').encode()
    )

    # The first column is mapped: with the mark left in its name, it would be missing from the header.
    batch = await import_batch(
        client, account, content, {"external_id": "Ticket", "text": "Nachricht", "customer": "Kunde"}, enrich="false"
    )

    assert (batch["delimiter"], batch["encoding"], batch["rows_created"], batch["rows_failed"]) == (";", "utf-8", 2, 0)
    records = await all_records(client, account.headers)
    assert [(r["external_id"], r["text"], r["customer"]) for r in records] == [
        ("k1", "Rechnung; bitte prüfen", "Müller"),
        ("k2", "Danke, alles gut", "Schmidt"),
    ]


async def test_an_explicit_tab_delimiter_wins_over_commas(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = b"ref, no\tmessage, text\nr-1, a\thello, world\nr-2, b\tgoodbye, all\n"

    batch = await import_batch(
        client, account, content, {"external_id": "ref, no", "text": "message, text"}, delimiter="tab", enrich="false"
    )

    assert (batch["delimiter"], batch["rows_created"]) == ("\t", 2)
    assert texts_by_id(await all_records(client, account.headers)) == {
        "r-1, a": "hello, world",
        "r-2, b": "goodbye, all",
    }


async def test_a_tsv_file_is_read_with_tabs_even_when_its_header_has_commas(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = b"ref, no\tmessage, text\nr-1, a\thello, world\n"

    batch = await import_batch(
        client, account, content, {"external_id": "ref, no", "text": "message, text"}, name="cases.tsv", enrich="false"
    )

    assert (batch["delimiter"], batch["rows_created"]) == ("\t", 1)
    assert texts_by_id(await all_records(client, account.headers)) == {"r-1, a": "hello, world"}


async def test_excel_unicode_text_utf16_with_tabs_is_read(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = codecs.BOM_UTF16_LE + "id\ttext\nx1\tÜber, alles\nx2\t日本語のテキスト\n".encode("utf-16-le")

    batch = await import_batch(client, account, content, {"text": "text", "external_id": "id"}, enrich="false")

    assert (batch["encoding"], batch["delimiter"], batch["rows_created"]) == ("utf-16-le", "\t", 2)
    assert texts_by_id(await all_records(client, account.headers)) == {"x1": "Über, alles", "x2": "日本語のテキスト"}


async def test_a_text_longer_than_the_limit_fails_its_row_only(client: httpx.AsyncClient) -> None:
    account = await register(client)
    huge = "word " * 60_000  # 300,000 characters; the default limit is 100,000
    content = csv_bytes("id,text", "before,The row before", f'huge,"{huge}"', "after,The row after")

    batch = await import_batch(client, account, content, {"text": "text", "external_id": "id"}, enrich="false")

    assert errors_of(batch) == [(3, "TEXT_TOO_LONG")]
    assert len(batch["errors"]["items"][0]["excerpt"]) <= 200
    assert (batch["rows_read"], batch["rows_created"], batch["rows_failed"]) == (3, 2, 1)
    assert texts_by_id(await all_records(client, account.headers)) == {
        "before": "The row before",
        "after": "The row after",
    }


async def test_windows_1252_bytes_are_decoded(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = b'id,text\nw1,"Un caf\xe9 cr\xe8me, s\'il vous pla\xeet"\nw2,Na\xefve \x80 pricing\n'

    batch = await import_batch(client, account, content, {"text": "text", "external_id": "id"}, enrich="false")

    assert (batch["encoding"], batch["rows_created"], batch["rows_failed"]) == ("cp1252", 2, 0)
    assert texts_by_id(await all_records(client, account.headers)) == {
        "w1": "Un café crème, s'il vous plaît",
        "w2": "Naïve € pricing",
    }


@pytest.mark.parametrize("filler_bytes", [0, MIB + 1000], ids=["small file", "past the first MiB"])
async def test_a_stray_byte_in_a_utf8_file_fails_only_its_row(client: httpx.AsyncClient, filler_bytes: int) -> None:
    """Encoding detection reads the first MiB; however far in the byte is, the rest stays UTF-8."""
    account = await register(client)
    # An unmapped column can hold any amount of text: it only pushes the later rows past the sample.
    content = (
        f"id,text,notes\nu1,Le café est fermé,{'n' * filler_bytes}\nu2,Grüße aus München,\nu3,naïve résumé,\n"
    ).encode() + b"u4,a stray \xff byte,\nu5,the row after,\n"

    batch = await import_batch(client, account, content, {"text": "text", "external_id": "id"}, enrich="false")

    assert batch["encoding"] == "utf-8"
    assert errors_of(batch) == [(5, "INVALID_ENCODING")]
    assert "\ufffd" in batch["errors"]["items"][0]["excerpt"]
    assert texts_by_id(await all_records(client, account.headers)) == {
        "u1": "Le café est fermé",
        "u2": "Grüße aus München",
        "u3": "naïve résumé",
        "u5": "the row after",
    }


async def test_json_lines_reach_into_nested_objects_and_report_bad_lines(client: httpx.AsyncClient) -> None:
    account = await register(client)
    lines = [
        {"id": 101, "body": {"text": "My parcel never arrived"}, "who": {"name": "Acme"}, "meta": {"prio": "high"}},
        "this is not json",
        [1, 2, 3],
        "",
        {"id": "j-2", "body": {"text": "Where is my refund?"}, "who": {"name": "Globex"}, "meta": {"prio": 2}},
        {"id": "j-3", "body": {"text": ["a", "list"]}},
    ]
    content = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode() + b"\n"
    mapping = {"text": "body.text", "external_id": "id", "customer": "who.name", "urgency": "meta.prio"}

    batch = await import_batch(client, account, content, mapping, name="export.jsonl", enrich="false")

    assert batch["format"] == "jsonl"
    assert batch["delimiter"] is None
    assert errors_of(batch) == [(2, "INVALID_JSON"), (3, "NOT_AN_OBJECT"), (6, "MALFORMED_ROW")]
    assert (batch["rows_read"], batch["rows_created"], batch["rows_failed"]) == (5, 2, 3)
    records = await all_records(client, account.headers)
    assert [(r["external_id"], r["text"], r["customer"], r["metadata"]) for r in records] == [
        ("101", "My parcel never arrived", "Acme", {"urgency": "high"}),
        ("j-2", "Where is my refund?", "Globex", {"urgency": 2}),
    ]


# Uploads refused at once.


async def test_uploads_that_cannot_be_imported_are_refused_at_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    account = await register(client)
    headers = account.headers
    files_dir: Path = app.state.settings.files_dir
    stored_before = stored_files(files_dir)
    content = csv_bytes("id,text", "1,hello")
    mapping = {"text": "text"}

    error = error_of(await upload(client, headers, content, None), 422, "RECORD_MAPPING_INVALID")
    assert error["details"]["field"] == "mapping"
    error = error_of(await upload(client, headers, content, {"external_id": "id"}), 422, "RECORD_MAPPING_INVALID")
    assert error["details"]["role"] == "text"
    not_json = await client.post(
        BATCHES, files={"file": ("b.csv", content, "text/csv")}, data={"mapping": "{text"}, headers=headers
    )
    error_of(not_json, 422, "RECORD_MAPPING_INVALID")
    error = error_of(
        await upload(client, headers, content, {"text": "body", "channel": "source", "external_id": "id"}),
        422,
        "RECORD_MAPPING_INVALID",
    )
    assert error["details"]["missing"] == ["body", "source"]
    assert error["details"]["columns"] == ["id", "text"]

    error_of(await upload(client, headers, b"", mapping), 422, "RECORD_FILE_INVALID")
    repeated = error_of(await upload(client, headers, b"text,text\na,b\n", mapping), 422, "RECORD_FILE_INVALID")
    assert repeated["details"]["duplicates"] == ["text"]
    error_of(await upload(client, headers, b"\n\n", mapping, name="empty.jsonl"), 422, "RECORD_FILE_INVALID")
    error_of(await upload(client, headers, b'[{"text": "a"}]', mapping, name="a.jsonl"), 422, "RECORD_FILE_INVALID")

    for field, value in [("delimiter", "x"), ("enrich", "maybe"), ("schema_id", "not-a-uuid")]:
        error = error_of(await upload(client, headers, content, mapping, **{field: value}), 422, "VALIDATION_ERROR")
        assert error["details"]["field"] == field, field
    unknown_schema = await upload(client, headers, content, mapping, schema_id=str(uuid4()))
    error_of(unknown_schema, 404, "ENRICHMENT_SCHEMA_NOT_FOUND")

    two_files = await client.post(
        BATCHES,
        files=[("file", ("a.csv", content, "text/csv")), ("file", ("b.csv", content, "text/csv"))],
        data={"mapping": json.dumps(mapping)},
        headers=headers,
    )
    error_of(two_files, 422, "VALIDATION_ERROR")
    no_file = await client.post(BATCHES, data={"mapping": json.dumps(mapping)}, files={"x": ("", b"")}, headers=headers)
    error_of(no_file, 422, "VALIDATION_ERROR")

    listed = await client.get(BATCHES, headers=headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []
    assert await all_records(client, headers) == []
    assert stored_files(files_dir) == stored_before  # the refused files were not kept


# Importing the same rows again.


async def test_the_same_file_again_changes_nothing(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = csv_bytes(
        "id,text,channel",
        "a1,The periwinkle widget arrived broken,email",
        "a2,The tangerine invoice is wrong,chat",
        "a3,The mauve account is locked,phone",
    )
    mapping = {"text": "text", "external_id": "id", "channel": "channel"}
    first = await import_batch(client, account, content, mapping, enrich="false")
    assert (first["rows_created"], first["rows_unchanged"]) == (3, 0)
    before = {record["external_id"]: record["id"] for record in await all_records(client, account.headers)}

    second = await import_batch(client, account, content, mapping, enrich="false")

    assert (second["rows_read"], second["rows_created"], second["rows_updated"], second["rows_unchanged"]) == (
        3,
        0,
        0,
        3,
    )
    assert second["records_indexed"] == 0
    records = await all_records(client, account.headers)
    assert {record["external_id"]: record["id"] for record in records} == before
    assert {record["batch_id"] for record in records} == {second["id"]}
    assert await keyword_hits(client, account, "periwinkle") == [before["a1"]]
    page = await client.get(BATCHES, params={"limit": 1}, headers=account.headers)
    assert [item["id"] for item in page.json()["items"]] == [first["id"]]
    rest = await client.get(BATCHES, params={"limit": 1, "cursor": page.json()["next_cursor"]}, headers=account.headers)
    assert [item["id"] for item in rest.json()["items"]] == [second["id"]]
    assert rest.json()["next_cursor"] is None


async def test_a_changed_row_updates_its_record_in_place_and_a_new_row_adds_one(client: httpx.AsyncClient) -> None:
    account = await register(client)
    mapping = {"text": "text", "external_id": "id", "channel": "channel"}
    await import_batch(
        client,
        account,
        csv_bytes("id,text,channel", "a1,The periwinkle widget arrived,email", "a2,The tangerine invoice,chat"),
        mapping,
        enrich="false",
    )
    before = {record["external_id"]: record for record in await all_records(client, account.headers)}

    batch = await import_batch(
        client,
        account,
        csv_bytes(
            "id,text,channel",
            "a1,The periwinkle widget arrived,phone",  # same text, another channel
            "a2,The vermilion invoice,chat",
            "a3,The saffron parcel,email",
        ),
        mapping,
        enrich="false",
    )

    assert (batch["rows_created"], batch["rows_updated"], batch["rows_unchanged"]) == (1, 1, 1)
    assert batch["records_indexed"] == 2
    after = {record["external_id"]: record for record in await all_records(client, account.headers)}
    assert set(after) == {"a1", "a2", "a3"}
    assert after["a1"]["id"] == before["a1"]["id"]
    assert after["a2"]["id"] == before["a2"]["id"]
    assert (after["a1"]["channel"], after["a2"]["text"]) == ("phone", "The vermilion invoice")
    assert await keyword_hits(client, account, "vermilion") == [after["a2"]["id"]]
    assert await keyword_hits(client, account, "tangerine") == []
    assert await keyword_hits(client, account, "saffron") == [after["a3"]["id"]]
    assert await keyword_hits(client, account, "periwinkle") == [after["a1"]["id"]]


async def test_repeated_external_ids_in_one_file_keep_the_last_row(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = csv_bytes("id,text", "d1,The first word", "d2,Another record", "d1,The first word", "d1,The last word")

    batch = await import_batch(client, account, content, {"text": "text", "external_id": "id"}, enrich="false")

    # Each row counts against what stood before it: the repeat of d1 changed nothing, the last one its text.
    counts = [batch[name] for name in ("rows_created", "rows_updated", "rows_unchanged", "rows_failed")]
    assert counts == [2, 1, 1, 0]
    records = await all_records(client, account.headers)
    assert texts_by_id(records) == {"d1": "The last word", "d2": "Another record"}
    assert len(records) == 2


async def test_rows_without_an_external_id_always_add_records(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = csv_bytes("id,text", ",No id here", ",No id here", "k1,Keyed")
    mapping = {"text": "text", "external_id": "id"}

    first = await import_batch(client, account, content, mapping, enrich="false")
    second = await import_batch(client, account, content, mapping, enrich="false")

    assert (first["rows_created"], second["rows_created"], second["rows_unchanged"]) == (3, 2, 1)
    records = await all_records(client, account.headers)
    assert sorted((r["external_id"] or "", r["text"]) for r in records) == [
        ("", "No id here"),
        ("", "No id here"),
        ("", "No id here"),
        ("", "No id here"),
        ("k1", "Keyed"),
    ]


# Enrichment at import.

MESSAGES = {
    "legal": "This is fraud. I have instructed my lawyer to start legal action and take you to court over the "
    "charges you took without my permission.",
    "praise": "Thank you so much! Your support team was wonderful and solved everything quickly. Great service.",
    "question": "Hello, could you tell me which payment methods you accept for the annual plan?",
}


async def test_new_records_are_enriched_offline_against_case_triage(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = csv_bytes("id,text", *(f'{key},"{text}"' for key, text in MESSAGES.items()))

    batch = await import_batch(client, account, content, {"text": "text", "external_id": "id"})

    assert (batch["enrich"], batch["schema_id"]) == (True, str(TRIAGE_SCHEMA_ID))
    records = await all_records(client, account.headers)
    assert len(records) == 3
    assert batch["records_enriched"] == 3
    validator = Draft202012Validator(TRIAGE_SCHEMA)
    labels: dict[str, dict[str, Any]] = {}
    for record in records:
        [enrichment] = record["enrichments"]
        assert enrichment["model"] == OFFLINE_MODEL
        assert enrichment["status"] == "enriched"
        assert (enrichment["schema_id"], enrichment["schema_name"]) == (str(TRIAGE_SCHEMA_ID), "Case triage")
        assert enrichment["document_id"] == record["id"]
        assert enrichment["job_id"] == batch["job_id"]
        validator.validate(enrichment["data"])
        assert enrichment["confidence"] == enrichment["data"]["confidence"]
        assert enrichment["needs_review"] == enrichment["data"]["needs_review"]
        labels[record["external_id"]] = enrichment["data"]
    assert batch["records_needing_review"] == sum(data["needs_review"] for data in labels.values())

    legal, praise, question = labels["legal"], labels["praise"], labels["question"]
    assert (legal["severity"], legal["risk_flag"], legal["sentiment"], legal["needs_review"]) == (
        "critical",
        True,
        "negative",
        True,
    )
    assert (praise["sentiment"], praise["risk_flag"], praise["category"]) == ("positive", False, "praise")
    assert praise["severity"] == "low"
    assert (question["severity"], question["risk_flag"]) == ("low", False)
    assert question["summary"] == MESSAGES["question"]
    # The documents API shows the same enrichment.
    listed = await client.get(f"/api/v1/documents/{records[0]['id']}/enrichments", headers=account.headers)
    assert [item["id"] for item in listed.json()["items"]] == [records[0]["enrichments"][0]["id"]]


async def test_enrich_false_imports_without_enrichments(client: httpx.AsyncClient) -> None:
    account = await register(client)
    content = csv_bytes("id,text", *(f'{key},"{text}"' for key, text in MESSAGES.items()))

    batch = await import_batch(client, account, content, {"text": "text", "external_id": "id"}, enrich="false")

    assert (batch["enrich"], batch["schema_id"], batch["records_enriched"]) == (False, None, 0)
    records = await all_records(client, account.headers)
    assert len(records) == 3
    assert [record["enrichments"] for record in records] == [[], [], []]
    assert {record["index_status"] for record in records} == {"ready"}


async def test_only_new_and_changed_records_are_enriched_again(client: httpx.AsyncClient) -> None:
    account = await register(client)
    mapping = {"text": "text", "external_id": "id"}
    await import_batch(
        client, account, csv_bytes("id,text", "e1,My card was declined", "e2,Please close my account"), mapping
    )
    first = {record["external_id"]: record["enrichments"][0] for record in await all_records(client, account.headers)}

    batch = await import_batch(
        client, account, csv_bytes("id,text", "e1,My card was declined", "e2,I want to sue you for this"), mapping
    )

    assert batch["records_enriched"] == 1
    after = {record["external_id"]: record["enrichments"] for record in await all_records(client, account.headers)}
    assert [item["id"] for item in after["e1"]] == [first["e1"]["id"]]
    assert after["e1"][0]["job_id"] == first["e1"]["job_id"]
    [e2] = after["e2"]
    assert e2["job_id"] == batch["job_id"]
    assert (e2["data"]["severity"], e2["data"]["risk_flag"]) == ("critical", True)
