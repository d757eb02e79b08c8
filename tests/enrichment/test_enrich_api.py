"""Enriching records and documents on demand, without a language model: POST /documents/{id}/enrich, GET
/documents/{id}/enrichments and POST /records/enrich, with the offline engine, tenancy and roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.apps import serve
from tests.corpus import Doc, ingest
from tests.enrichment.conftest import (
    RECORDS,
    TRIAGE_ID,
    create_schema,
    enrich,
    enrichment_of,
    enrichments_of,
    request_enrichment,
    schema_of,
    upload_records,
)
from tests.factories import Account, add_member, error_of, register, wait_until_finished

OFFLINE_MODEL = "folio-offline-enrichment"
PRODUCTS = ["mobile app", "website", "parcel delivery"]
PRODUCT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["product"],
    "properties": {"product": {"type": "string", "enum": PRODUCTS}},
}
# A free-text answer only a language model can write.
WITH_REPLY: dict[str, Any] = {
    "type": "object",
    "required": ["product", "reply_draft"],
    "properties": {
        "product": {"type": "string", "enum": PRODUCTS},
        "reply_draft": {"type": "string", "description": "A reply to send to the customer."},
    },
}
# The offline engine writes a summary, but not one that follows this rule.
CASE_SUMMARY: dict[str, Any] = {
    "type": "object",
    "required": ["summary"],
    "properties": {"summary": {"type": "string", "maxLength": 300, "pattern": "^CASE-[0-9]+: "}},
}
ROWS = [
    {
        "ticket": "T-1",
        "message": "I was charged twice for my subscription this month. I want a refund of the double charge now.",
        "channel": "email",
    },
    {
        "ticket": "T-2",
        "message": "The mobile app crashes every time I open it on my phone since the last update.",
        "channel": "email",
    },
    {
        "ticket": "T-3",
        "message": "Thank you so much, your support agent was wonderful and solved my problem quickly!",
        "channel": "chat",
    },
    {
        "ticket": "T-4",
        "message": "My parcel has not arrived yet and the tracking page shows no update for a week.",
        "channel": "chat",
    },
    {
        "ticket": "T-5",
        "message": "I cannot log in to my account because the password reset email never arrives.",
        "channel": "phone",
    },
    {
        "ticket": "T-6",
        "message": "Could you add a dark mode to the website? It would be a nice improvement.",
        "channel": "phone",
    },
]
COMPLAINT = Doc(
    "complaint.txt",
    "Dear support team,\n\nThe invoice you sent in March charges us for forty licences although we cancelled "
    "twenty of them in January. We have been waiting three weeks for a corrected invoice and nobody answers our "
    "emails. Please fix the billing error and refund the difference.",
)


@dataclass
class Setup:
    client: httpx.AsyncClient
    account: Account
    records: dict[str, UUID]
    document_id: UUID
    batch_id: UUID


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's database is its own (see `setup`); its records live until the module ends."""


@pytest.fixture(scope="module")
async def setup(separate_database_url: str) -> AsyncIterator[Setup]:
    async with serve(separate_database_url) as (_, client):
        account = await register(client)
        batch, records = await upload_records(client, account, ROWS, enrich=False)
        assert (batch["rows_created"], batch["records_indexed"], batch["records_enriched"]) == (6, 6, 0)
        ids, _ = await ingest(client, account, {"complaint": COMPLAINT})
        yield Setup(
            client,
            account,
            {ticket: UUID(record["id"]) for ticket, record in records.items()},
            ids["complaint"],
            UUID(batch["id"]),
        )


def assert_valid(data: dict[str, Any], json_schema: dict[str, Any]) -> None:
    errors = [error.message for error in Draft202012Validator(json_schema).iter_errors(data)]
    assert errors == [], data


async def test_a_record_is_enriched_offline_with_case_triage_when_no_schema_is_named(setup: Setup) -> None:
    record = setup.records["T-1"]
    assert await enrichments_of(setup.client, setup.account, record) == []  # the batch did not enrich
    requested = await request_enrichment(setup.client, setup.account, record)
    assert (requested["status"], requested["document_id"], requested["data"]) == ("pending", str(record), None)
    assert (requested["schema_id"], requested["schema_name"]) == (str(TRIAGE_ID), "Case triage")
    job = await wait_until_finished(setup.client, setup.account, UUID(requested["job_id"]), seconds=60)
    assert (job["status"], job["kind"]) == ("succeeded", "enrich_documents"), job

    [enrichment] = await enrichments_of(setup.client, setup.account, record)
    assert enrichment["id"] == requested["id"]
    assert (enrichment["status"], enrichment["model"], enrichment["error_code"]) == ("enriched", OFFLINE_MODEL, None)
    assert_valid(enrichment["data"], await schema_of(setup.client, setup.account, TRIAGE_ID))
    data = enrichment["data"]
    assert data["sentiment"] == "negative"  # someone out of pocket
    assert (enrichment["confidence"], enrichment["needs_review"]) == (data["confidence"], data["needs_review"])
    assert (enrichment["attempts"], enrichment["prompt_tokens"], enrichment["completion_tokens"]) == (1, 0, 0)
    assert enrichment["raw_output"] is None
    assert enrichment["enriched_at"] is not None
    # The record shows it too.
    shown = await setup.client.get(f"{RECORDS}/{record}", headers=setup.account.headers)
    assert shown.json()["enrichments"] == [enrichment]


async def test_an_ingested_document_is_enriched_offline(setup: Setup) -> None:
    job, enrichment = await enrich(setup.client, setup.account, setup.document_id, schema_id=str(TRIAGE_ID))
    assert job["status"] == "succeeded", job
    assert (enrichment["status"], enrichment["model"]) == ("enriched", OFFLINE_MODEL)
    assert enrichment["document_id"] == str(setup.document_id)
    assert_valid(enrichment["data"], await schema_of(setup.client, setup.account, TRIAGE_ID))
    assert enrichment["data"]["summary"] in COMPLAINT.text


async def test_an_enum_property_of_a_custom_schema_gets_one_of_its_values(setup: Setup) -> None:
    schema = await create_schema(setup.client, setup.account, PRODUCT, "Product")
    for ticket in ("T-2", "T-4"):
        job, enrichment = await enrich(setup.client, setup.account, setup.records[ticket], schema_id=schema["id"])
        assert job["status"] == "succeeded", job
        assert (enrichment["status"], enrichment["schema_name"], enrichment["model"]) == (
            "enriched",
            "Product",
            OFFLINE_MODEL,
        )
        assert enrichment["data"]["product"] in PRODUCTS
        assert_valid(enrichment["data"], PRODUCT)


async def test_a_required_field_the_offline_engine_cannot_fill_needs_review(setup: Setup) -> None:
    schema = await create_schema(setup.client, setup.account, WITH_REPLY, "Product and reply")
    job, enrichment = await enrich(setup.client, setup.account, setup.records["T-4"], schema_id=schema["id"])
    # Not a failure of the job: the enrichment is written, for a person to complete.
    assert job["status"] == "succeeded", job
    assert (enrichment["status"], enrichment["error_code"]) == ("needs_review", "ENRICHMENT_OUTPUT_INCOMPLETE")
    assert enrichment["needs_review"] is True
    assert "reply_draft" in enrichment["error_message"]
    assert "reply_draft" not in enrichment["data"]
    assert enrichment["data"]["product"] in PRODUCTS


async def test_what_the_offline_engine_fills_against_the_schema_s_rules_needs_review(setup: Setup) -> None:
    schema = await create_schema(setup.client, setup.account, CASE_SUMMARY, "Numbered summary")
    job, enrichment = await enrich(setup.client, setup.account, setup.records["T-4"], schema_id=schema["id"])
    assert job["status"] == "succeeded", job
    assert (enrichment["status"], enrichment["error_code"]) == ("needs_review", "ENRICHMENT_OUTPUT_INCOMPLETE")
    assert enrichment["needs_review"] is True
    assert "pattern" in enrichment["error_message"] or "does not match" in enrichment["error_message"]


async def test_a_document_that_is_not_ready_cannot_be_enriched(setup: Setup) -> None:
    uploaded = await setup.client.post(
        "/api/v1/documents",
        files=[("files", ("broken.pdf", b"%PDF-1.7\nthis is no PDF at all", "application/pdf"))],
        headers=setup.account.headers,
    )
    assert uploaded.status_code == 202, uploaded.text
    item = uploaded.json()["items"][0]
    job = await wait_until_finished(setup.client, setup.account, UUID(item["job_id"]), seconds=60)
    assert job["status"] == "failed", job
    document_id = item["document"]["id"]
    refused = await setup.client.post(f"/api/v1/documents/{document_id}/enrich", json={}, headers=setup.account.headers)
    assert error_of(refused, 409, "DOCUMENT_NOT_READY")["details"] == {"status": "failed"}
    assert await enrichments_of(setup.client, setup.account, document_id) == []


async def test_only_an_enrichment_template_may_write_an_enrichment(setup: Setup) -> None:
    record = setup.records["T-6"]
    url = f"/api/v1/documents/{record}/enrich"
    summary = await setup.client.post(
        "/api/v1/templates",
        json={"name": "Short summary", "kind": "summary", "prompt": "Summarise {content}"},
        headers=setup.account.headers,
    )
    assert summary.status_code == 201, summary.text
    wrong = await setup.client.post(url, json={"template_id": summary.json()["id"]}, headers=setup.account.headers)
    error_of(wrong, 422, "TEMPLATE_WRONG_KIND")
    unknown = await setup.client.post(
        url, json={"template_id": "00000000-0000-7000-8000-000000000000"}, headers=setup.account.headers
    )
    error_of(unknown, 404, "TEMPLATE_NOT_FOUND")
    assert await enrichments_of(setup.client, setup.account, record) == []

    labels = await setup.client.post(
        "/api/v1/templates",
        json={"name": "Labels", "kind": "enrichment", "prompt": "Label {content} following {schema}"},
        headers=setup.account.headers,
    )
    job, enrichment = await enrich(setup.client, setup.account, record, template_id=labels.json()["id"])
    assert job["status"] == "succeeded", job
    assert (enrichment["status"], enrichment["template_id"]) == ("enriched", labels.json()["id"])


async def test_enriching_again_replaces_the_enrichment_with_that_schema(setup: Setup) -> None:
    record = setup.records["T-5"]
    _, first = await enrich(setup.client, setup.account, record)
    _, second = await enrich(setup.client, setup.account, record, instructions="Our product is an online shop.")
    assert second["id"] == first["id"]
    assert second["job_id"] != first["job_id"]
    assert second["instructions"] == "Our product is an online shop."
    assert datetime.fromisoformat(second["enriched_at"]) > datetime.fromisoformat(first["enriched_at"])
    assert second["status"] == "enriched"
    assert [item["id"] for item in await enrichments_of(setup.client, setup.account, record)] == [first["id"]]

    # One enrichment per schema.
    schema = await create_schema(setup.client, setup.account, PRODUCT, "Product of T-5")
    _, other = await enrich(setup.client, setup.account, record, schema_id=schema["id"])
    await enrich(setup.client, setup.account, record)
    items = await enrichments_of(setup.client, setup.account, record)
    assert sorted((item["schema_name"], item["id"]) for item in items) == sorted(
        [("Case triage", first["id"]), ("Product of T-5", other["id"])]
    )


async def test_a_request_naming_no_schema_uses_the_organizations_default(setup: Setup) -> None:
    account = await register(setup.client)
    _, records = await upload_records(setup.client, account, ROWS[:1], enrich=False)
    schema = await create_schema(setup.client, account, PRODUCT, "Our default", is_default=True)
    job, enrichment = await enrich(setup.client, account, records["T-1"]["id"])
    assert job["status"] == "succeeded", job
    assert (enrichment["schema_id"], enrichment["schema_name"]) == (schema["id"], "Our default")
    assert set(enrichment["data"]) == {"product"}


async def test_bulk_enrichment_enriches_only_the_records_the_filters_match(setup: Setup) -> None:
    schema = await create_schema(setup.client, setup.account, PRODUCT, "Product, by bulk")
    response = await setup.client.post(
        f"{RECORDS}/enrich",
        json={"filters": {"channel": "email", "batch_id": str(setup.batch_id)}, "schema_id": schema["id"]},
        headers=setup.account.headers,
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["count"] == 2
    job = await wait_until_finished(setup.client, setup.account, UUID(accepted["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job

    enriched: dict[str, dict[str, Any]] = {}
    for ticket, record in setup.records.items():
        mine = [
            item
            for item in await enrichments_of(setup.client, setup.account, record)
            if item["schema_id"] == schema["id"]
        ]
        if mine:
            enriched[ticket] = mine[0]
    assert sorted(enriched) == ["T-1", "T-2"]
    assert {item["status"] for item in enriched.values()} == {"enriched"}
    assert {item["job_id"] for item in enriched.values()} == {accepted["job_id"]}
    # The records' own listing filters on those labels.
    listed = await setup.client.get(
        RECORDS,
        params={"schema_id": schema["id"], "field": f"product:{enriched['T-2']['data']['product']}"},
        headers=setup.account.headers,
    )
    assert "T-2" in {record["external_id"] for record in listed.json()["items"]}


async def test_bulk_enrichment_matching_nothing_starts_no_job(setup: Setup) -> None:
    response = await setup.client.post(
        f"{RECORDS}/enrich", json={"filters": {"channel": "fax"}}, headers=setup.account.headers
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"job_id": None, "count": 0}


async def test_another_organizations_documents_and_schemas_are_not_found(setup: Setup) -> None:
    stranger = await register(setup.client)
    record = setup.records["T-3"]
    enriched = await setup.client.post(f"/api/v1/documents/{record}/enrich", json={}, headers=stranger.headers)
    error_of(enriched, 404, "DOCUMENT_NOT_FOUND")
    listed = await setup.client.get(f"/api/v1/documents/{record}/enrichments", headers=stranger.headers)
    error_of(listed, 404, "DOCUMENT_NOT_FOUND")
    bulk = await setup.client.post(f"{RECORDS}/enrich", json={}, headers=stranger.headers)
    assert bulk.json() == {"job_id": None, "count": 0}

    # Nor may an organization enrich with another's schema.
    theirs = await create_schema(setup.client, stranger, PRODUCT, "Theirs")
    borrowed = await setup.client.post(
        f"/api/v1/documents/{record}/enrich", json={"schema_id": theirs["id"]}, headers=setup.account.headers
    )
    error_of(borrowed, 404, "ENRICHMENT_SCHEMA_NOT_FOUND")
    by_filter = await setup.client.post(
        f"{RECORDS}/enrich", json={"schema_id": theirs["id"]}, headers=setup.account.headers
    )
    error_of(by_filter, 404, "ENRICHMENT_SCHEMA_NOT_FOUND")
    items = await enrichments_of(setup.client, setup.account, record)
    assert theirs["id"] not in {item["schema_id"] for item in items}


async def test_viewers_read_enrichments_but_cannot_enrich(setup: Setup) -> None:
    viewer = await register(setup.client)
    await add_member(setup.client, setup.account, viewer, "viewer")
    as_viewer = viewer.in_org(setup.account.org_id)
    record = setup.records["T-3"]
    refused = await setup.client.post(f"/api/v1/documents/{record}/enrich", json={}, headers=as_viewer)
    error_of(refused, 403, "FORBIDDEN")
    error_of(await setup.client.post(f"{RECORDS}/enrich", json={}, headers=as_viewer), 403, "FORBIDDEN")
    # What the viewer reads is what the organization has, once someone who may enriches it.
    _, enrichment = await enrich(setup.client, setup.account, record)
    listed = await setup.client.get(f"/api/v1/documents/{record}/enrichments", headers=as_viewer)
    assert listed.status_code == 200, listed.text
    assert enrichment in listed.json()["items"]
    assert listed.json()["items"] == await enrichments_of(setup.client, setup.account, record)


async def test_records_with_their_enrichments_are_listed_page_by_page(setup: Setup) -> None:
    await enrich(setup.client, setup.account, setup.records["T-2"])
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(len(ROWS)):
        params: dict[str, str | int] = {"batch_id": str(setup.batch_id), "limit": 4}
        if cursor is not None:
            params["cursor"] = cursor
        page = await setup.client.get(RECORDS, params=params, headers=setup.account.headers)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(record["external_id"] for record in seen) == [row["ticket"] for row in ROWS]
    [shown] = [record for record in seen if record["external_id"] == "T-2"]
    triage = await enrichment_of(setup.client, setup.account, setup.records["T-2"])
    assert triage in shown["enrichments"]
