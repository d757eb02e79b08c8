"""The SDK's hand-written models and requests against the server's OpenAPI document: a field, a type, an enum value
or a route that changes on either side fails here."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_type_hints

import folio_client
import httpx
import pytest
from folio_client import Folio
from folio_client.models import SCHEMA_OF, DoneEvent, FolioModel, JobEvent
from folio_client.resources.answers import Answers
from folio_client.resources.auth import ApiKeys
from folio_client.resources.documents import Documents
from folio_client.resources.jobs import Jobs
from folio_client.resources.search import HybridTuning, SearchFilters, TagFilter
from folio_client.resources.summaries import Summaries
from pydantic import BaseModel

from tests.client.conftest import Served

Shape = tuple[Any, ...]
COMPONENT_OF = {model.__name__: component for model, component in SCHEMA_OF.items()}


@pytest.fixture(scope="module")
def openapi(served: Served) -> dict[str, Any]:
    response = httpx.get(f"{served.url}/openapi.json", timeout=60)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def shape(node: dict[str, Any], defs: dict[str, Any], rename: dict[str, str]) -> Shape:
    """What a JSON schema accepts, without its descriptions and bounds: types, formats, enum values, and the
    component a reference names (an SDK model by the server's name for it)."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        target = defs[name]
        return ("enum", frozenset(target["enum"])) if "enum" in target else ("model", rename.get(name, name))
    if "anyOf" in node:
        return ("any", frozenset(shape(each, defs, rename) for each in node["anyOf"]))
    if "enum" in node or "const" in node:
        return ("enum", frozenset(node.get("enum", [node.get("const")])))
    kind = node.get("type")
    if kind == "array":
        return ("array", shape(node.get("items", {}), defs, rename))
    if kind == "string":
        return ("string", node.get("format"))
    return (kind or "any",)


def fields(schema: dict[str, Any], defs: dict[str, Any], rename: dict[str, str]) -> dict[str, Shape]:
    return {name: shape(node, defs, rename) for name, node in schema.get("properties", {}).items()}


def sdk_schema(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = model.model_json_schema()
    return schema, schema.get("$defs", {})


@pytest.mark.parametrize("model", list(SCHEMA_OF), ids=lambda model: model.__name__)
def test_each_model_has_the_fields_types_and_required_fields_of_its_component(
    model: type[FolioModel], openapi: dict[str, Any]
) -> None:
    components = openapi["components"]["schemas"]
    server = components[SCHEMA_OF[model]]
    mine, defs = sdk_schema(model)

    assert fields(mine, defs, COMPONENT_OF) == fields(server, components, {})
    assert set(mine.get("required", [])) == set(server.get("required", []))


def test_job_events_and_the_done_event_match_the_server(openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    job_event, defs = sdk_schema(JobEvent)
    server_event = fields(components["JobEvent"], components, {})
    mine = fields(job_event, defs, {**COMPONENT_OF, "Subject": "Subject"})
    assert {name: mine[name] for name in mine if name != "subject"} == {
        name: server_event[name] for name in mine if name != "subject"
    }
    assert set(components["Subject"]["properties"]) == set(job_event["$defs"]["Subject"]["properties"])

    done, done_defs = sdk_schema(DoneEvent)
    answer = fields(components["AnswerResponse"], components, {})
    expected = {name: kind for name, kind in answer.items() if name not in ("answer", "sources")}
    assert {name: kind for name, kind in fields(done, done_defs, COMPONENT_OF).items() if name != "type"} == expected


def test_pages_are_items_and_a_cursor(openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    for name in ("Page_DocumentRead_", "Page_JobRead_", "Page_SummaryRead_", "Page_ApiKeyRead_", "Page_ChunkRead_"):
        assert set(components[name]["properties"]) == {"items", "next_cursor"}, name


def parameters(method: Callable[..., Any]) -> set[str]:
    return {name for name, each in inspect.signature(method).parameters.items() if name != "self"}


def test_request_dictionaries_have_the_fields_of_the_request_components(openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    requests = ((SearchFilters, "SearchFilters"), (TagFilter, "TagFilter"), (HybridTuning, "HybridTuning"))
    for typed, component in requests:
        assert set(get_type_hints(typed)) == set(components[component]["properties"]), component


@pytest.mark.parametrize(
    ("method", "component", "differences"),
    [
        (Folio.search, "SearchRequest", {"cursor"}),
        (Answers.create, "AnswerRequest", {"stream"}),
        (Summaries.create, "SummaryCreate", {"document_id"}),
        (ApiKeys.create, "ApiKeyCreate", set()),
        (Documents.update, "DocumentUpdate", {"document_id"}),
    ],
    ids=["search", "answers", "summaries", "api-keys", "document-update"],
)
def test_each_request_method_takes_the_fields_of_its_body(
    method: Callable[..., Any], component: str, differences: set[str], openapi: dict[str, Any]
) -> None:
    body = set(openapi["components"]["schemas"][component]["properties"])
    assert parameters(method) ^ body == differences


@pytest.mark.parametrize(
    ("method", "route", "renamed"),
    [
        (Documents.list, "/api/v1/documents", {"title_contains": "q", "kind": "type", "tags": "tag"}),
        (Jobs.list, "/api/v1/jobs", {}),
        (Summaries.list, "/api/v1/summaries", {}),
    ],
    ids=["documents", "jobs", "summaries"],
)
def test_list_methods_take_the_filters_of_their_route(
    method: Callable[..., Any], route: str, renamed: dict[str, str], openapi: dict[str, Any]
) -> None:
    query = {
        parameter["name"] for parameter in openapi["paths"][route]["get"]["parameters"] if parameter["in"] == "query"
    }
    # `ids` (a batch read of jobs) is what `wait_all` does.
    assert {renamed.get(name, name) for name in parameters(method)} == query - {"ids"}


def sdk_routes() -> Iterator[tuple[str, str]]:
    """Every `Call("METHOD", path("/template", …))` in the SDK's source."""
    root = Path(folio_client.__file__).parent
    for module in root.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Call"):
                continue
            method, where = node.args[0], node.args[1]
            assert isinstance(where, ast.Call), ast.unparse(node)
            template = where.args[0]
            assert isinstance(method, ast.Constant), ast.unparse(node)
            assert isinstance(template, ast.Constant), ast.unparse(node)
            yield str(method.value), str(template.value)


def test_every_route_the_sdk_calls_is_in_the_api(openapi: dict[str, Any]) -> None:
    routes = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", route))
        for route, operations in openapi["paths"].items()
        for method in operations
    }
    called = set(sdk_routes())
    assert len(called) >= 25
    assert {(method, f"/api/v1{template}") for method, template in called} <= routes
