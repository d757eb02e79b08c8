"""Every JSON document a tenant gives (enrichment schemas, document metadata, record mappings) is bounded in depth
and size: too deep or too large answers 422 VALIDATION_ERROR whose error `type` says which, never a 500."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import httpx
import pytest

from folio.enrichment.errors import EnrichmentSchemaInvalid
from folio.enrichment.service import check_schema
from folio.schemas import MAX_JSON_DEPTH
from tests.factories import Account, error_of, register, wait_until_finished

SCHEMAS = "/api/v1/enrichment/schemas"
DOCS = "/api/v1/documents"


def nested_schema(levels: int) -> str:
    """An object schema whose property holds an object schema, `levels` times: two JSON levels per schema level,
    written as text because the client's own encoder would refuse the depth."""
    return '{"type":"object","properties":{"a":' * levels + '{"type":"string"}' + "}}" * levels


def nested_array(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


def limit_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The validation errors of a 422 VALIDATION_ERROR envelope."""
    errors: list[dict[str, Any]] = error_of(response, 422, "VALIDATION_ERROR")["details"]["errors"]
    return errors


def types(response: httpx.Response) -> list[str]:
    return [error["type"] for error in limit_errors(response)]


async def post_json(client: httpx.AsyncClient, url: str, body: str, account: Account) -> httpx.Response:
    headers = {**account.headers, "Content-Type": "application/json"}
    return await client.post(url, content=body.encode(), headers=headers)


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH, 100, 200, 400])
async def test_a_deeply_nested_enrichment_schema_is_refused(client: httpx.AsyncClient, levels: int) -> None:
    account = await register(client)
    body = '{"name":"deep","json_schema":' + nested_schema(levels) + "}"

    response = await post_json(client, SCHEMAS, body, account)

    assert types(response) == ["json_too_deep"]
    assert limit_errors(response)[0]["loc"] == ["body", "json_schema"]


async def test_a_schema_deeper_than_the_body_parser_goes_is_refused_too(client: httpx.AsyncClient) -> None:
    """1,000 schema levels are 2,000 JSON levels: the body's parser gives up before any field is looked at."""
    account = await register(client)
    body = '{"name":"deepest","json_schema":' + nested_schema(1000) + "}"

    error_of(await post_json(client, SCHEMAS, body, account), 422, "VALIDATION_ERROR")


async def test_a_schema_changed_to_a_deep_one_is_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = await client.post(
        SCHEMAS, json={"name": "flat", "json_schema": json.loads(nested_schema(2))}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    url = f"{SCHEMAS}/{created.json()['id']}"
    headers = {**account.headers, "Content-Type": "application/json"}

    response = await client.patch(url, content=('{"json_schema":' + nested_schema(300) + "}").encode(), headers=headers)

    assert types(response) == ["json_too_deep"]


async def test_a_schema_at_a_reasonable_depth_is_accepted(client: httpx.AsyncClient) -> None:
    account = await register(client)
    # Ten nested object schemas are twenty JSON levels: well inside the limit.
    schema = json.loads(nested_schema(10))

    response = await client.post(SCHEMAS, json={"name": "ten levels", "json_schema": schema}, headers=account.headers)

    assert response.status_code == 201, response.text
    assert response.json()["json_schema"] == schema


async def test_an_oversized_enrichment_schema_is_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)
    properties = {f"field_{number}": {"type": "string", "description": "x" * 1000} for number in range(80)}
    schema = {"type": "object", "properties": properties}

    response = await client.post(SCHEMAS, json={"name": "big", "json_schema": schema}, headers=account.headers)

    assert types(response) == ["json_too_large"]


async def upload_text(client: httpx.AsyncClient, account: Account, data: dict[str, str]) -> httpx.Response:
    files = [("files", ("notes.txt", b"Short notes about limits.\n", "text/plain"))]
    return await client.post(DOCS, files=files, data=data, headers=account.headers)


async def uploaded(client: httpx.AsyncClient, account: Account, data: dict[str, str]) -> dict[str, Any]:
    """An uploaded document, once its ingestion ended (a job still running would meet the tables' cleaning)."""
    response = await upload_text(client, account, data)
    assert response.status_code == 202, response.text
    [item] = response.json()["items"]
    await wait_until_finished(client, account, UUID(item["job_id"]), seconds=60)
    document: dict[str, Any] = item["document"]
    return document


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 900, 5000])
async def test_deeply_nested_upload_metadata_is_refused(client: httpx.AsyncClient, levels: int) -> None:
    account = await register(client)

    response = await upload_text(client, account, {"metadata": '{"deep":' + nested_array(levels - 1) + "}"})

    assert types(response) == ["json_too_deep"]
    assert limit_errors(response)[0]["loc"] == ["body", "metadata"]


async def test_oversized_upload_metadata_is_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await upload_text(client, account, {"metadata": json.dumps({"notes": "x" * 20_000})})

    # Refused on the field's bytes before it is decoded, as every over-long form field is.
    assert error_of(response, 422, "VALIDATION_ERROR")["details"] == {"field": "metadata"}


@pytest.mark.parametrize("tags", ["[" * 5000 + "]" * 5000, '["a", ' + "[" * 40 + "]" * 40 + "]"])
async def test_nested_tags_are_refused(client: httpx.AsyncClient, tags: str) -> None:
    account = await register(client)

    response = await upload_text(client, account, {"tags": tags})

    assert error_of(response, 422, "VALIDATION_ERROR")["details"] == {"field": "tags"}


async def test_metadata_at_the_depth_limit_is_kept(client: httpx.AsyncClient) -> None:
    account = await register(client)
    metadata = {"deep": json.loads(nested_array(MAX_JSON_DEPTH - 1))}

    document = await uploaded(client, account, {"metadata": json.dumps(metadata)})

    assert document["metadata"] == metadata


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 400, 900])
async def test_deeply_nested_metadata_in_a_document_update_is_refused(client: httpx.AsyncClient, levels: int) -> None:
    account = await register(client)
    url = f"{DOCS}/{(await uploaded(client, account, {}))['id']}"
    headers = {**account.headers, "Content-Type": "application/json"}

    body = '{"metadata":{"deep":' + nested_array(levels - 1) + "}}"
    response = await client.patch(url, content=body.encode(), headers=headers)

    assert types(response) == ["json_too_deep"]
    assert limit_errors(response)[0]["loc"] == ["body", "metadata"]
    large = await client.patch(url, json={"metadata": {"notes": "x" * 20_000}}, headers=account.headers)
    assert types(large) == ["json_too_large"]
    kept = await client.patch(url, json={"metadata": {"deep": [[["fine"]]]}}, headers=account.headers)
    assert kept.status_code == 200, kept.text
    assert kept.json()["metadata"] == {"deep": [[["fine"]]]}


@pytest.mark.parametrize("levels", [3, 300, 5000])
async def test_a_deeply_nested_record_mapping_is_refused(client: httpx.AsyncClient, levels: int) -> None:
    account = await register(client)
    mapping = '{"text":"body","customer":' + nested_array(levels - 1) + "}"
    files = [("file", ("rows.csv", b"body,customer\nhello,ann\n", "text/csv"))]

    response = await client.post(
        "/api/v1/cases/batches", files=files, data={"mapping": mapping}, headers=account.headers
    )

    assert response.status_code == 422, response.text


async def test_a_deeply_nested_enrichment_field_filter_is_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)
    url = "/api/v1/cases"

    deep = await client.get(
        url, params={"field": "product:" + nested_array(MAX_JSON_DEPTH + 1)}, headers=account.headers
    )
    enrich = await client.post(
        f"{url}/enrich",
        content=('{"filters":{"field":["product:' + nested_array(200) + '"]}}').encode(),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    fine = await client.get(url, params={"field": "product:" + nested_array(3)}, headers=account.headers)

    assert types(deep) == ["json_too_deep"]
    assert types(enrich) == ["json_too_deep"]
    assert fine.status_code == 200, fine.text


def test_the_schema_check_bounds_a_schema_whoever_calls_it() -> None:
    """The service checks on its own too: jsonschema recurses, so a deep schema from any caller would crash it."""
    with pytest.raises(EnrichmentSchemaInvalid) as raised:
        check_schema(json.loads(nested_schema(300)))

    assert raised.value.details == {"type": "json_too_deep"}
