"""Helpers for the export tests: an organization with cases (and their enrichment), and exports read back."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import openpyxl
from fastapi import FastAPI
from sqlalchemy import update

from folio.enrichment.triage import TRIAGE_SCHEMA_ID
from folio.models import Enrichment, EnrichmentStatus, Record
from tests.cases.conftest import _empty_tables_at_the_end, import_cases, make_unit
from tests.factories import Account, add_member, register

__all__ = ["_empty_tables_at_the_end"]  # a fixture of module-long organizations, for this directory too

EXPORTS = "/api/v1/exports"
_OOXML_ESCAPE = re.compile("_x([0-9A-F]{4})_")
BOM = b"\xef\xbb\xbf"
# Texts a spreadsheet would take for formulas, and texts CSV and Markdown must quote or escape.
TRICKY = {
    "f1": '=HYPERLINK("http://evil.example","click")',
    "f2": "+1+2",
    "f3": "-3+4",
    "f4": "@SUM(A1:A2)",
    "plain": 'A "quoted", comma | pipe\nand a second line',
}
CUSTOMERS = {"f2": "\tTabbed Ltd", "f3": "\rReturned Ltd"}


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def xlsx_rows(body: bytes) -> list[list[Any]]:
    """Every sheet's rows after its header, the header once first."""
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    rows: list[list[Any]] = []
    for index, sheet in enumerate(book.worksheets):
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        rows += values if index == 0 else values[1:]
    book.close()
    return rows


def as_text(value: Any) -> str:
    """A cell read back from XLSX as the CSV shows it. Text keeps control characters as OOXML escapes (`_x000D_`),
    which Excel decodes and openpyxl does not: they are decoded here."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _OOXML_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), value)
    return str(value)


def jsonl_rows(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.decode().splitlines()]


async def export(client: httpx.AsyncClient, headers: dict[str, str], source: str, **params: Any) -> httpx.Response:
    return await client.get(f"{EXPORTS}/{source}", params=params, headers=headers)


async def enrich(app: FastAPI, org_id: UUID, case_id: str, **data: Any) -> None:
    """The case's enrichment by the built-in triage schema (every organization's default), as a job would write it."""
    labels = {
        "sentiment": "negative",
        "severity": "high",
        "category": "billing",
        "subcategory": None,
        "risk_flag": False,
        "needs_review": False,
        "summary": "A customer was charged twice.",
        "confidence": 0.75,
    } | data
    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            Enrichment(
                org_id=org_id,
                document_id=UUID(case_id),
                schema_id=TRIAGE_SCHEMA_ID,
                status=EnrichmentStatus.ENRICHED,
                data=labels,
                confidence=labels["confidence"],
                model="folio-offline",
            )
        )


@dataclass
class Desk:
    """An organization with two business units: a member limited to the first, and cases in each unit."""

    owner: Account
    limited: Account
    viewer: Account
    north: UUID
    south: UUID
    cases: dict[str, dict[str, Any]]


async def make_desk(client: httpx.AsyncClient, app: FastAPI) -> Desk:
    owner = await register(client, name="Olive Owner")
    limited, viewer = await register(client, name="Lim Ited"), await register(client, name="Vi Ewer")
    await add_member(client, owner, limited, "editor")
    await add_member(client, owner, viewer, "viewer")
    north = await make_unit(app, owner.org_id, "North", limited)
    south = await make_unit(app, owner.org_id, "South")
    rows = [f'{key},"{text.replace(chr(34), chr(34) * 2)}",North,high' for key, text in TRICKY.items()]
    rows.append("s1,A case of the south unit,South,low")
    cases = await import_cases(client, owner, *rows)
    # An import trims its fields: the customers that start with a tab or a carriage return are written here.
    async with app.state.sessionmaker() as session, session.begin():
        for key, customer in CUSTOMERS.items():
            await session.execute(
                update(Record).where(Record.document_id == UUID(cases[key]["id"])).values(customer=customer)
            )
    return Desk(owner, limited, viewer, north, south, cases)


def csv_request(path: str, headers: dict[str, str]) -> dict[str, Any]:
    """The ASGI scope of `GET path?format=csv` with `headers`, for a test that plays the server itself (and reads the
    body piece by piece, which httpx's ASGI transport does not)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"format=csv",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
