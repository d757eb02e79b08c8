"""The OpenAPI document as generated clients read it (`folio.openapi`): shared error responses, error codes as an
enum, named request bodies, defaults that do not make request fields required, no NUL in request text, and
parameters that cannot be null."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from folio.errors import folio_error_codes
from folio.openapi import HTTP_METHODS, NO_NUL, SCHEMAS, reachable
from folio.pagination import CURSOR_PATTERN, encode_cursor
from tests.factories import register

Spec = dict[str, Any]


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> Spec:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: Spec = response.json()
    return document


def operations(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def response_of(spec: Spec, response: dict[str, Any]) -> dict[str, Any]:
    shared: dict[str, Any] = spec["components"]["responses"][response["$ref"].removeprefix("#/components/responses/")]
    return shared


def schema_named(spec: Spec, reference: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][reference["$ref"].removeprefix(SCHEMAS)]
    return schema


async def test_error_responses_are_shared_and_the_document_is_small(spec: Spec) -> None:
    shared = spec["components"]["responses"]
    errors = 0
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status[0] not in "45" or (operation["operationId"], status) == ("ops-ready", "503"):
                continue
            errors += 1
            assert response["$ref"].removeprefix("#/components/responses/") in shared, f"{method} {path} {status}"
    assert errors > 500
    # Every code of the 401 of an authenticated route, in one shared response named after them.
    unauthorized = shared["AuthRequiredOrAuthInvalidOrAuthExpired"]["content"]["application/json"]
    assert list(unauthorized["examples"]) == ["AUTH_REQUIRED", "AUTH_INVALID", "AUTH_EXPIRED"]
    # It was 1.07 MB with the examples on every operation.
    assert len(json.dumps(spec, separators=(",", ":"))) < 700_000


async def test_an_operation_keeps_its_own_description_of_a_shared_response(spec: Spec) -> None:
    """The /v1 routes say that a 413 comes before routing, in Folio's envelope; the response is the shared one."""
    operation = spec["paths"]["/v1/embeddings"]["post"]
    too_large = operation["responses"]["413"]
    assert too_large["$ref"] == "#/components/responses/PayloadTooLarge"
    assert too_large["description"].startswith("Refused before the route is chosen")
    assert response_of(spec, too_large)["content"]["application/json"]["examples"]["PAYLOAD_TOO_LARGE"]


async def test_error_codes_are_an_enum_of_every_code(spec: Spec, client: httpx.AsyncClient) -> None:
    code = spec["components"]["schemas"]["ErrorBody"]["properties"]["code"]
    listed = [entry["code"] for entry in (await client.get("/api/v1/errors")).json()]
    assert code["enum"] == listed == folio_error_codes()
    assert {"AUTH_REQUIRED", "VALIDATION_ERROR", "DOCUMENT_NOT_FOUND", "INTERNAL_ERROR"} <= set(code["enum"])
    for response in spec["components"]["responses"].values():
        content = response["content"]["application/json"]
        if content["schema"] == {"$ref": SCHEMAS + "ErrorEnvelope"}:
            assert set(content["examples"]) <= set(code["enum"])


async def test_every_request_body_is_a_named_schema(spec: Spec) -> None:
    names = {}
    for method, path, operation in operations(spec):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            reference = content["schema"].get("$ref", "")
            assert reference.startswith(SCHEMAS), f"{method} {path} {media_type}"
            name = reference.removeprefix(SCHEMAS)
            assert not re.fullmatch(r"Body(_.*)?", name), f"{method} {path}: FastAPI's generic name"
            names[(method, path, media_type)] = name
    assert names[("post", "/api/v1/documents", "multipart/form-data")] == "DocumentUploadForm"
    assert names[("post", "/api/v1/cases/batches", "multipart/form-data")] == "CaseBatchForm"
    assert names[("post", "/api/v1/exports", "application/json")] == "ExportJobCreate"
    assert names[("post", "/api/v1/auth/login", "application/json")] == "LoginRequest"
    assert names[("post", "/api/v1/auth/login", "application/x-www-form-urlencoded")].endswith("Form")
    upload = spec["components"]["schemas"]["DocumentUploadForm"]
    assert upload["properties"]["files"]["items"]["format"] == "binary"


async def test_request_fields_with_defaults_are_optional_for_clients(spec: Spec) -> None:
    """openapi-typescript makes a property with a `default` required: requests say their defaults in words."""
    schemas = spec["components"]["schemas"]
    answer = schemas["AnswerRequest"]
    assert answer["required"] == ["question"]
    assert "default" not in answer["properties"]["top_k"]
    assert answer["properties"]["top_k"]["description"].endswith("Default: `6`.")
    assert answer["properties"]["stream"]["description"].endswith("Default: `false`.")
    # A response keeps its defaults: the field is always there.
    assert schemas["TokenResponse"]["properties"]["token_type"]["default"] == "bearer"
    for name in reachable(spec)[0]:
        for field, value in schemas[name].get("properties", {}).items():
            assert "default" not in value, f"{name}.{field}"


async def test_a_component_both_sides_carry_is_split(spec: Spec) -> None:
    preferences = spec["paths"]["/api/v1/inbox/preferences"]
    sent = preferences["put"]["requestBody"]["content"]["application/json"]["schema"]
    answered = preferences["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert sent == {"$ref": SCHEMAS + "InboxPreferences"}
    assert answered == {"$ref": SCHEMAS + "InboxPreferences-Output"}
    assert "default" not in schema_named(spec, sent)["properties"]["mention"]
    assert schema_named(spec, answered)["properties"]["mention"]["default"] == "in_app"


async def test_request_text_refuses_nul_as_the_server_does(spec: Spec, client: httpx.AsyncClient) -> None:
    schemas = spec["components"]["schemas"]
    strings = 0
    for name in reachable(spec)[0]:
        for string in _strings(schemas[name]):
            strings += 1
            assert {"pattern", "format", "enum", "const"} & string.keys(), name
    assert strings > 100
    email = schemas["LoginRequest"]["properties"]["email"]
    assert email["pattern"] == NO_NUL
    refused = await client.post("/api/v1/auth/login", json={"email": "a\x00@example.com", "password": "x"})
    assert refused.status_code == 422
    assert re.fullmatch(NO_NUL, "ada@example.com")
    assert not re.fullmatch(NO_NUL, "a\x00@example.com")
    for method, path, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter["in"] in ("path", "query"):
                for string in _strings(parameter["schema"]):
                    assert {"pattern", "format", "enum", "const"} & string.keys(), f"{method} {path}"


async def test_parameters_are_not_nullable(spec: Spec) -> None:
    """A URL or a header cannot carry a null; FastAPI describes `X | None = None` as one."""
    for method, path, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            assert {"type": "null"} not in schema.get("anyOf", []), f"{method} {path} {parameter['name']}"
            assert "title" not in schema
    since = next(p for p in spec["paths"]["/api/v1/events"]["get"]["parameters"] if p["name"] == "since")
    assert since["schema"]["type"] == "integer"


def _strings(node: Any) -> Iterator[dict[str, Any]]:
    """The string schemas of a schema (not through references), by JSON Schema's keywords."""
    if not isinstance(node, dict):
        return
    if node.get("type") == "string":
        yield node
    for key in ("items", "additionalProperties", "not", "contentSchema", "propertyNames"):
        yield from _strings(node.get(key))
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for each in node.get(key, []):
            yield from _strings(each)
    for key in ("properties", "patternProperties", "$defs"):
        for each in node.get(key, {}).values():
            yield from _strings(each)


async def test_request_schemas_state_what_validators_check(spec: Spec) -> None:
    """Checks written as validators, said in the schema too: a question with no character but white space, a case
    field filter's `name:value`, and embedding inputs' counts and lengths."""
    schemas = spec["components"]["schemas"]
    for name, field in (("AnswerRequest", "question"), ("MessageCreate", "content")):
        pattern = re.compile(schemas[name]["properties"][field]["pattern"])
        assert pattern.search("What is due?")
        assert not any(pattern.search(blank) for blank in ("", "  \t", "\x1c\x85", "a\x00b"))
    name_value = re.compile(schemas["CaseQuery"]["properties"]["field"]["items"]["pattern"])
    assert all(name_value.search(good) for good in ("product:mobile app", "score:3", " a :"))
    assert not any(name_value.search(bad) for bad in ("no-colon", " :x", "a:\x00", "a:\\u0000", "\\u0000a:b"))
    text, texts = schemas["EmbeddingRequest"]["properties"]["input"]["anyOf"]
    assert text["minLength"] == 1
    assert texts["minItems"] == 1
    assert texts["items"] == text


async def test_cursor_parameters_state_the_cursors_the_server_issues(spec: Spec) -> None:
    """A cursor the server did not issue is refused with 422 INVALID_CURSOR, so each `cursor` parameter says which
    it issues."""
    cursors = [
        (f"{method} {path}", parameter["schema"].get("pattern"))
        for method, path, operation in operations(spec)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "cursor"
    ]
    assert len(cursors) > 30
    assert [where for where, pattern in cursors if pattern != CURSOR_PATTERN] == []
    assert all(re.search(CURSOR_PATTERN, encode_cursor(uuid4())) for _ in range(100))


async def test_the_upload_schema_counts_files_as_the_server_does(spec: Spec, client: httpx.AsyncClient) -> None:
    files = spec["components"]["schemas"]["DocumentUploadForm"]["properties"]["files"]
    account = await register(client)
    for count in (files["minItems"] - 1, files["maxItems"] + 1):
        parts = [("files", (f"{index}.txt", b"text", "text/plain")) for index in range(count)]
        # No file at all: a form with a title only.
        form = {"files": parts} if parts else {"data": {"title": "no file"}, "files": {"": ("", b"", "text/plain")}}
        refused = await client.post("/api/v1/documents", headers=account.headers, **form)
        assert refused.status_code == 422, (count, refused.text)
