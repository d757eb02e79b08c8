"""Streamed exports: formats read back, formula cells neutralised, the BOM, filters, scoping and the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from folio.auth.principal import Principal
from folio.exports import service, sources
from folio.exports.formats import FORMULA_STARTS
from folio.exports.schemas import CaseExportFilters
from folio.exports.sql import Bounds, Shape
from folio.models import Document, Event, ExportSource, Role
from tests.exports.conftest import (
    BOM,
    TRICKY,
    Desk,
    as_text,
    csv_request,
    csv_rows,
    enrich,
    export,
    jsonl_rows,
    make_desk,
    xlsx_rows,
)
from tests.factories import error_of, register
from tests.records.conftest import all_records


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's organization lives until it ends (see `desk`): exports change nothing but the audit log."""


@pytest.fixture(scope="module")
async def desk(app: FastAPI, _empty_tables_at_the_end: None) -> Desk:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        desk = await make_desk(client, app)
    await enrich(app, desk.owner.org_id, desk.cases["f1"]["id"], summary="=1+1", risk_flag=True)
    return desk


def neutral(text: str) -> str:
    return "'" + text if text[:1] in FORMULA_STARTS else text


async def test_csv_has_every_case_with_its_fields_and_labels_and_formulas_neutralised(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    response = await export(client, desk.owner.headers, "cases")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="cases-')
    assert disposition.endswith('.csv"')
    assert not response.content.startswith(BOM)
    header, *rows = csv_rows(response.content)
    assert header[:3] == ["id", "number", "external_id"]
    # The schema's `required` fields as it lists them, then the others by name.
    fields = ("sentiment", "severity", "category", "risk_flag", "needs_review", "summary", "confidence", "subcategory")
    assert header[-8:] == [f"enrichment.{field}" for field in fields]
    by_key = {row[header.index("external_id")]: dict(zip(header, row, strict=True)) for row in rows}
    listed = {case["external_id"]: case for case in await all_records(client, desk.owner.headers)}
    assert set(by_key) == set(listed)
    for key, case in listed.items():
        row = by_key[key]
        assert row["id"] == case["id"]
        assert row["number"] == case["number"]
        assert row["text"] == neutral(case["text"])
        assert row["status"] == case["status"]
        assert row["unit_id"] == case["unit_id"]
        for moment in ("created_at", "updated_at", "due_at"):
            assert datetime.fromisoformat(row[moment]) == datetime.fromisoformat(case[moment])
            assert row[moment].endswith("Z")
    for key, text in TRICKY.items():
        assert by_key[key]["text"] == neutral(text)
    assert by_key["f1"]["text"].startswith("'=HYPERLINK(")
    assert (by_key["f2"]["customer"], by_key["f3"]["customer"]) == ("'\tTabbed Ltd", "'\rReturned Ltd")
    assert by_key["plain"]["text"] == TRICKY["plain"]
    assert by_key["f1"]["unit"] == "North"
    assert by_key["f1"]["enrichment_status"] == "enriched"
    assert by_key["f1"]["enrichment.summary"] == "'=1+1"
    assert by_key["f1"]["enrichment.risk_flag"] == "true"
    assert by_key["f1"]["enrichment.confidence"] == "0.75"
    assert by_key["plain"]["enrichment_status"] == ""
    # As written: text quoted, other values bare, nothing for none; CRLF line ends.
    south = desk.cases["s1"]
    line = next(line for line in response.content.split(b"\r\n") if line.startswith(south["id"].encode() + b","))
    start = f'{south["id"]},{south["number"]},"s1","s1","A case of the south unit",,,open,low,{desk.south},"South",,,'
    assert line.startswith(start.encode())
    assert line.endswith(b',ready,"{}",,,,,,,,,,,')


async def test_xlsx_reads_back_as_the_csv_with_text_cells_only(client: httpx.AsyncClient, desk: Desk) -> None:
    as_csv = csv_rows((await export(client, desk.owner.headers, "cases")).content)
    response = await export(client, desk.owner.headers, "cases", format="xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    as_xlsx = [[as_text(value) for value in row] for row in xlsx_rows(response.content)]
    for got, want in zip(as_xlsx, as_csv, strict=True):
        assert [(index, g) for index, (g, w) in enumerate(zip(got, want, strict=True)) if g != w] == []
    assert as_xlsx == as_csv
    book = openpyxl.load_workbook(__import__("io").BytesIO(response.content))
    kinds = {cell.data_type for row in book.active.iter_rows() for cell in row}
    assert "f" not in kinds  # no formula, whatever the text
    values = [cell.value for row in book.active.iter_rows() for cell in row]
    assert "'=1+1" in values
    assert "'@SUM(A1:A2)" in values


async def test_jsonl_keeps_types_and_markdown_escapes_pipes_and_lines(client: httpx.AsyncClient, desk: Desk) -> None:
    response = await export(client, desk.owner.headers, "cases", format="jsonl")
    assert response.headers["content-type"] == "application/x-ndjson"
    rows = {row["external_id"]: row for row in jsonl_rows(response.content)}
    assert rows["f1"]["text"] == TRICKY["f1"]  # JSON is not for spreadsheets: text as it is
    assert rows["f1"]["overdue"] is False
    assert rows["f1"]["enrichment.risk_flag"] is True
    assert rows["f1"]["enrichment.confidence"] == 0.75
    assert isinstance(rows["f1"]["metadata"], dict)
    assert rows["plain"]["enrichment.summary"] is None

    markdown = (await export(client, desk.owner.headers, "cases", format="md")).content.decode()
    lines = markdown.splitlines()
    assert lines[0].startswith("| id | number | external_id |")
    assert set(lines[1].replace(" ", "")) == {"|", "-"}
    assert len(lines) == 2 + len(rows)
    assert 'A "quoted", comma \\| pipe<br>and a second line' in markdown
    assert all(line.count(" | ") == lines[0].count(" | ") for line in lines[2:])


async def test_bom_only_when_asked_and_only_for_csv(client: httpx.AsyncClient, desk: Desk) -> None:
    response = await export(client, desk.owner.headers, "cases", bom="true")
    assert response.content.startswith(BOM + b"id,number,")
    error_of(await export(client, desk.owner.headers, "cases", bom="true", format="jsonl"), 422, "VALIDATION_ERROR")


async def test_filters_are_the_case_lists(client: httpx.AsyncClient, desk: Desk) -> None:
    response = await export(client, desk.owner.headers, "cases", unit_id=str(desk.south), format="jsonl")
    assert [row["external_id"] for row in jsonl_rows(response.content)] == ["s1"]
    response = await export(client, desk.owner.headers, "cases", category="billing", format="jsonl")
    assert [row["external_id"] for row in jsonl_rows(response.content)] == ["f1"]
    # As CSV, the filters' values (a JSON document, states, a unit) are put into COPY's statement as literals.
    response = await export(
        client, desk.owner.headers, "cases", category="billing", status="open", unit_id=str(desk.north)
    )
    header, *rows = csv_rows(response.content)
    assert [row[header.index("external_id")] for row in rows] == ["f1"]
    view = await client.post(
        "/api/v1/cases/views", json={"name": "Low", "filters": {"priority": ["low"]}}, headers=desk.owner.headers
    )
    assert view.status_code == 201, view.text
    response = await export(client, desk.owner.headers, "cases", view=view.json()["id"], format="jsonl")
    assert [row["external_id"] for row in jsonl_rows(response.content)] == ["s1"]
    # A filter given beside the view replaces the view's.
    response = await export(client, desk.owner.headers, "cases", view=view.json()["id"], priority="high")
    assert len(csv_rows(response.content)) == 1 + len(TRICKY)


@pytest.mark.parametrize(
    "params",
    [
        {"customer": "a\x00b"},
        {"customer": "x" * 201},
        {"field": "name:\\u0000"},
        {"colour": "blue"},
        {"format": "pdf"},
        {"status": "lost"},
    ],
)
async def test_bad_filters_answer_422_in_the_envelope(
    client: httpx.AsyncClient, desk: Desk, params: dict[str, Any]
) -> None:
    error_of(await export(client, desk.owner.headers, "cases", **params), 422, "VALIDATION_ERROR")


async def test_a_member_limited_to_a_unit_exports_its_cases_only_and_another_org_none(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    response = await export(client, desk.limited.in_org(desk.owner.org_id), "cases", format="jsonl")
    assert sorted(row["external_id"] for row in jsonl_rows(response.content)) == sorted(TRICKY)
    asked = await export(
        client, desk.limited.in_org(desk.owner.org_id), "cases", unit_id=str(desk.south), format="jsonl"
    )
    assert jsonl_rows(asked.content) == []
    stranger = await register(client)
    for source in ("cases", "documents", "summaries"):
        response = await export(client, stranger.headers, source, format="jsonl")
        assert response.status_code == 200, response.text
        assert jsonl_rows(response.content) == []


async def test_documents_summaries_and_search_export(client: httpx.AsyncClient, app: FastAPI, desk: Desk) -> None:
    documents = jsonl_rows((await export(client, desk.owner.headers, "documents", format="jsonl")).content)
    assert {row["id"] for row in documents} == {case["id"] for case in desk.cases.values()}
    assert all(row["type"] == "record" and isinstance(row["tags"], list) for row in documents)
    # A value written bare is never quoted, not even an empty one.
    south = desk.cases["s1"]["id"]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Document).where(Document.id == UUID(south)).values(error_code=""))
    response = await export(client, desk.owner.headers, "documents")
    line = next(line for line in response.content.split(b"\r\n") if line.startswith(south.encode()))
    assert b',"",' not in line
    # A filter whose value is an array (tags), written into the COPY statement as a literal of its type.
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Document).where(Document.id == UUID(south)).values(tags=["south", "urgent"]))
    tagged = await export(client, desk.owner.headers, "documents", tag=["south", "urgent"])
    assert tagged.status_code == 200, tagged.text
    assert [row[0] for row in csv_rows(tagged.content)[1:]] == [south]
    header, *rows = csv_rows(response.content)
    assert {row[header.index("error_code")] for row in rows} == {""}
    summaries = await export(client, desk.owner.headers, "summaries")
    assert csv_rows(summaries.content)[0][:3] == ["id", "document_id", "document_title"]
    assert len(csv_rows(summaries.content)) == 1

    response = await client.post(
        "/api/v1/exports/search",
        json={"query": "south unit", "mode": "keyword", "format": "csv"},
        headers=desk.owner.headers,
    )
    assert response.status_code == 200, response.text
    header, *hits = csv_rows(response.content)
    assert header[:2] == ["rank", "score"]
    assert hits
    assert hits[0][header.index("document_id")] == desk.cases["s1"]["id"]
    limited = await client.post(
        "/api/v1/exports/search",
        json={"query": "south unit", "mode": "keyword"},
        headers=desk.limited.in_org(desk.owner.org_id),
    )
    assert csv_rows(limited.content)[1:] == []
    error_of(
        await client.post("/api/v1/exports/search", json={"query": "x", "limit": 1001}, headers=desk.owner.headers),
        422,
        "VALIDATION_ERROR",
    )


async def test_audit_export_is_for_admins_and_every_export_is_audited_and_announced(
    client: httpx.AsyncClient, app: FastAPI, desk: Desk
) -> None:
    error_of(await export(client, desk.viewer.in_org(desk.owner.org_id), "audit"), 403, "FORBIDDEN")
    await export(client, desk.viewer.in_org(desk.owner.org_id), "cases", status="open")
    response = await export(client, desk.owner.headers, "audit", action="export.created", format="jsonl")
    assert response.status_code == 200, response.text
    # Newest first: this export itself (recorded before its first row is read), then the viewer's.
    mine, *earlier = jsonl_rows(response.content)
    assert (mine["actor_user_id"], mine["details"]["source"]) == (str(desk.owner.user_id), "audit")
    viewers = [entry for entry in earlier if entry["actor_user_id"] == str(desk.viewer.user_id)]
    assert [entry["target_type"] for entry in viewers] == ["export"]
    assert viewers[0]["details"] == {
        "source": "cases",
        "format": "csv",
        "bom": False,
        "streamed": True,
        "filters": {"status": ["open"]},
    }
    async with app.state.sessionmaker() as session:
        events = (
            await session.scalars(
                select(Event)
                .where(Event.type == "export.created", Event.org_id == desk.owner.org_id)
                .order_by(Event.id)
            )
        ).all()
    # Each export is announced to its requester alone (the module's other tests export too).
    assert {(event.recipient_id, event.visibility) for event in events} >= {
        (desk.viewer.user_id, "recipient"),
        (desk.owner.user_id, "recipient"),
    }
    assert all((event.recipient_id, event.visibility) == (event.actor_id, "recipient") for event in events)
    assert str(events[-1].subject_id) == mine["target_id"]


async def test_streams_are_bounded_per_organization(client: httpx.AsyncClient, app: FastAPI, desk: Desk) -> None:
    limit = app.state.settings.exports.max_streams_per_org
    running = [service.STREAMS.take(desk.owner.org_id, limit) for _ in range(limit)]
    try:
        response = await export(client, desk.owner.headers, "cases")
        error_of(response, 429, "TOO_MANY_EXPORT_STREAMS")
        assert response.headers["retry-after"]
        stranger = await register(client)
        assert (await export(client, stranger.headers, "cases")).status_code == 200
    finally:
        for slot in running:
            slot.release()
    assert (await export(client, desk.owner.headers, "cases")).status_code == 200
    assert service.STREAMS.running(desk.owner.org_id) == 0


@pytest.mark.parametrize(
    ("source", "params"),
    [
        ("cases", {}),
        ("cases", {"bom": "true", "priority": "high"}),
        ("cases", {"format": "jsonl"}),
        ("cases", {"format": "md"}),
        ("documents", {}),
        ("audit", {"to": "2030-01-01T00:00:00Z"}),
    ],
)
async def test_pages_of_one_row_or_of_one_text_give_the_same_export(
    client: httpx.AsyncClient, desk: Desk, monkeypatch: pytest.MonkeyPatch, source: str, params: dict[str, str]
) -> None:
    """Each page ends on a key the next one reads after (as CSV, the first cell of the page's last row, a case's
    text spread over lines notwithstanding), whether pages end by their rows or by their bytes of text."""
    if source == "audit":
        params = {**params, "to": datetime.now(UTC).isoformat()}
    whole = await export(client, desk.owner.headers, source, **params)
    assert whole.status_code == 200, whole.text
    assert whole.content.count(b"\n") > 3
    for bounds in (Bounds(rows=1, budget=1 << 20), Bounds(rows=1000, budget=1)):
        monkeypatch.setattr(service, "bounds_of", lambda settings, bounds=bounds: bounds)
        paged = await export(client, desk.owner.headers, source, **params)
        assert paged.content == whole.content, bounds


async def test_a_client_gone_mid_export_leaves_no_connection_behind(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client goes after the first page, while the next is read (COPY under way): the read is cancelled, its
    connection goes back to the pool, and the next export reads as well as ever."""
    monkeypatch.setattr(service, "bounds_of", lambda settings: Bounds(rows=1, budget=1 << 20))
    scope = csv_request("/api/v1/exports/cases", desk.owner.headers)
    pieces = 0

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal pieces
        if message["type"] == "http.response.body":
            pieces += 1
            if pieces == 3:  # the header, the first row; then the client is gone
                raise OSError("the client went away")

    # The app logs the failed send as its error (the response has begun: nothing else can be answered).
    await app(scope, receive, send)
    assert pieces == 3
    pool = app.state.engine.pool
    for _ in range(200):
        if pool.checkedout() == 0:
            break
        await asyncio.sleep(0.05)
    assert pool.checkedout() == 0
    monkeypatch.undo()
    again = await export(client, desk.owner.headers, "cases")
    assert again.status_code == 200
    assert len(csv_rows(again.content)) == 1 + len(desk.cases)


@pytest.mark.parametrize("shape", [Shape.LINES, Shape.VALUES])
async def test_a_page_ends_once_its_rows_carry_more_text_than_its_budget(
    app: FastAPI, desk: Desk, shape: Shape
) -> None:
    owner = Principal.for_member(org_id=desk.owner.org_id, user_id=desk.owner.user_id, role=Role.OWNER)
    async with app.state.sessionmaker() as session, session.begin():
        reader = await sources.reader_for(
            session,
            principal=owner,
            source=ExportSource.CASES,
            filters=CaseExportFilters(),
            shape=shape,
            searching=None,
        )
        whole = await reader.page(session, None, Bounds(rows=1000, budget=1 << 20))
        first = await reader.page(session, None, Bounds(rows=1000, budget=1))
        second = await reader.page(session, first.after, Bounds(rows=1000, budget=1))
    assert len(whole.rows) == len(desk.cases)
    assert (len(first.rows), len(second.rows)) == (1, 1)
    assert str(first.after) == min(case["id"] for case in desk.cases.values())
