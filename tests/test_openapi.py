"""The OpenAPI document: names, summaries, tags and error examples; then schemathesis over the whole API.

Schemathesis calls the API synchronously, so it runs against a real uvicorn server in a background thread
(its own event loop and engine) on the test database, rather than in-process on the session's event loop.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any
from uuid import UUID

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from folio.main import create_app
from tests.conftest import empty_tables, make_settings
from tests.factories import PASSWORD
from tests.live_server import serve_in_thread

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
PUBLIC_OPERATIONS = {
    "auth-register",
    "auth-login",
    "auth-refresh",
    "ops-live",
    "ops-ready",
    "ops-prometheus_metrics",
    "shares-open_share_link",
    "shares-download_share_link_file",
    "exports-download_export_by_link",
    "auth-list_sso_providers",
    "auth-start_sso",
    "auth-sso_callback",
    "auth-exchange_sso_code",
    "auth-link_sso_identity",
    "integrations-connection_callback",
    "ops-list_error_codes",
}
AUTH_CODES = {"AUTH_REQUIRED", "AUTH_INVALID", "AUTH_EXPIRED"}
# Per operation and kind of case: CI's share (the suite's largest at 15: 260 s of 1,650); the 100-example run of
# every check against a live server is `make contract` (tests/contract/live.py).
MAX_EXAMPLES = 6
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Operation]
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def response_of(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """A response, the shared one it names (`#/components/responses/…`) with the operation's own description."""
    if "$ref" not in response:
        return response
    shared: dict[str, Any] = spec["components"]["responses"][response["$ref"].removeprefix("#/components/responses/")]
    return {**shared, "description": response.get("description", shared["description"])}


def assert_envelope(value: Any) -> dict[str, Any]:
    assert isinstance(value, dict)
    assert set(value) == {"error"}
    error: dict[str, Any] = value["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", error["code"])
    assert isinstance(error["message"], str)
    assert isinstance(error["details"], dict)
    return error


def assert_openai_error(value: Any) -> dict[str, Any]:
    """OpenAI's error shape, which the OpenAI-compatible routes (/v1) answer with instead of the envelope (the
    document leaves out a null `param` or `code`)."""
    assert isinstance(value, dict)
    assert set(value) == {"error"}
    error: dict[str, Any] = value["error"]
    assert {"message", "type"} <= set(error) <= {"message", "type", "param", "code"}
    assert re.fullmatch(r"[a-z_]+_error|insufficient_quota", error["type"])
    assert isinstance(error["message"], str)
    return error


def error_shape(path: str, status: str) -> tuple[str, Callable[[Any], dict[str, Any]]]:
    """The schema an operation's errors are documented with, and the check of its examples: OpenAI's on /v1, but
    for what the middleware refuses before any route is chosen (413, and 422 for a NUL in the URL)."""
    if path.startswith("/v1/") and status not in ("413", "422"):
        return "OpenAIErrorEnvelope", assert_openai_error
    return "ErrorEnvelope", assert_envelope


# The document


async def test_every_operation_has_a_tagged_operation_id_and_a_summary(client: httpx.AsyncClient) -> None:
    spec = await openapi(client)
    declared_tags = {tag["name"] for tag in spec["tags"]}
    seen: list[str] = []
    for method, path, operation in operations(spec):
        label = f"{method.upper()} {path}"
        tags = operation.get("tags")
        assert tags, label
        assert set(tags) <= declared_tags, label
        assert operation.get("summary"), label
        operation_id = operation["operationId"]
        assert operation_id.startswith(f"{tags[0]}-"), label
        assert re.fullmatch(r"[a-z-]+-[a-z][a-z0-9_]*", operation_id), label
        seen.append(operation_id)
    assert len(seen) == len(set(seen))
    assert {"auth-login", "auth-register", "auth-me", "orgs-list_members", "api-keys-create_api_key"} <= set(seen)


async def test_operation_ids_are_tag_and_route_name(app: FastAPI, client: httpx.AsyncClient) -> None:
    spec = await openapi(client)
    routes = [context.original_route for context in iter_route_contexts(app.routes)]
    by_route = {
        (method.lower(), route.path_format): f"{route.tags[0]}-{route.name}"
        for route in routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    assert len(by_route) >= 15
    documented = {(method, path): operation["operationId"] for method, path, operation in operations(spec)}
    assert documented == by_route


async def test_authenticated_operations_declare_both_credentials(client: httpx.AsyncClient) -> None:
    spec = await openapi(client)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "description": schemes["APIKeyHeader"]["description"],
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/login"
    for method, path, operation in operations(spec):
        security = operation.get("security")
        if operation["operationId"] in PUBLIC_OPERATIONS:
            assert not security, f"{method.upper()} {path}"
        else:
            assert security, f"{method.upper()} {path}"
            assert {name for requirement in security for name in requirement} == set(schemes)


async def test_authenticated_operations_document_401_with_envelope_examples(client: httpx.AsyncClient) -> None:
    spec = await openapi(client)
    authenticated = [(m, p, op) for m, p, op in operations(spec) if op.get("security")]
    assert len(authenticated) >= 10
    for method, path, operation in authenticated:
        label = f"{method.upper()} {path}"
        assert "401" in operation["responses"], label
        unauthorized = response_of(spec, operation["responses"]["401"])
        content = unauthorized["content"]["application/json"]
        schema, check = error_shape(path, "401")
        assert resolve(spec, content["schema"]) == resolve(spec, {"$ref": f"#/components/schemas/{schema}"})
        examples = content["examples"]
        assert set(examples) == AUTH_CODES, label
        for code, example in examples.items():
            assert check(example["value"])["code"] == code
        for code in AUTH_CODES:
            assert f"`{code}`" in unauthorized["description"], label
        assert "429" in operation["responses"], label


async def test_documented_error_responses_use_the_envelope(client: httpx.AsyncClient) -> None:
    spec = await openapi(client)
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status[0] not in "45" or (operation["operationId"], status) == ("ops-ready", "503"):
                continue  # readiness answers 503 with its per-check Health body, on purpose
            label = f"{method.upper()} {path} {status}"
            content = response_of(spec, response)["content"]["application/json"]
            schema, check = error_shape(path, status)
            envelope = resolve(spec, {"$ref": f"#/components/schemas/{schema}"})
            assert resolve(spec, content["schema"]) == envelope, label
            for name, example in content.get("examples", {}).items():
                code = check(example["value"]).get("code")
                assert code == name or schema != "ErrorEnvelope", label


async def test_error_envelope_schema(client: httpx.AsyncClient) -> None:
    spec = await openapi(client)
    envelope = resolve(spec, {"$ref": "#/components/schemas/ErrorEnvelope"})
    assert envelope["required"] == ["error"]
    body = resolve(spec, envelope["properties"]["error"])
    assert set(body["properties"]) == {"code", "message", "details", "request_id"}
    assert {"code", "message"} <= set(body["required"])


# Schemathesis over the whole API: one test per operation, so that pytest-xdist shares them among its workers.

# A valid request opens a stream that never ends by itself (heartbeats keep it alive); tests/events covers it.
ENDLESS = {"GET /api/v1/events"}


def covered_operations() -> list[str]:
    """`METHOD /path` of each operation schemathesis calls, from the routes of an app that is never started (the
    live server builds the document; test_schemathesis_covers_every_documented_operation checks they agree)."""
    application = create_app(make_settings("postgresql://folio@/folio"))
    labels = [
        f"{method} {route.path_format}"
        for route in (context.original_route for context in iter_route_contexts(application.routes))
        if isinstance(route, APIRoute) and route.include_in_schema
        # Sorted: a set's order changes between processes, and xdist's workers must collect one order.
        for method in sorted(route.methods or ())
    ]
    return [label for label in labels if label not in ENDLESS]


COVERED = covered_operations()


@pytest.fixture(scope="module")
async def _empty_tables(app: FastAPI) -> AsyncIterator[None]:
    """Instead of conftest's after each test: the tables are emptied once the module ends, so the schemathesis
    account and what earlier operations made stay for the next operation, as when one test ran them all."""
    yield
    await empty_tables(app)


@pytest.fixture(scope="module")
def live_server(database_url: str) -> Iterator[str]:
    with serve_in_thread(create_app(make_settings(database_url))) as url:
        yield url


@pytest.fixture(scope="module")
def api_schema(live_server: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_server}/openapi.json")


_emails = count()


@dataclass
class LiveAccount:
    base_url: str
    email: str
    user_id: UUID
    org_id: UUID
    access_token: str
    api_key: str

    def login(self) -> str:
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/login", json={"email": self.email, "password": PASSWORD}, timeout=30
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


@pytest.fixture(scope="module")
def live_account(live_server: str) -> LiveAccount:
    email = f"schemathesis{next(_emails)}@example.com"
    registered = httpx.post(
        f"{live_server}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": "Schemathesis"},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    token = registered.json()["access_token"]
    me = httpx.get(f"{live_server}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 200, me.text
    key = httpx.post(
        f"{live_server}/api/v1/api-keys",
        json={"name": "schemathesis", "scopes": ["documents:read", "documents:write", "search", "answers", "admin"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert key.status_code == 201, key.text
    return LiveAccount(
        base_url=live_server,
        email=email,
        user_id=UUID(me.json()["user"]["id"]),
        org_id=UUID(me.json()["org"]["id"]),
        access_token=token,
        api_key=key.json()["secret"],
    )


def _without_api_key(case: Case) -> Case:
    if case.headers:
        for name in [name for name in case.headers if name.lower() == "x-api-key"]:
            del case.headers[name]
    return case


def _strategies(operation: Operation, account: LiveAccount) -> dict[str, SearchStrategy[Any]]:
    strategies: dict[str, SearchStrategy[Any]] = {"positive": operation.as_strategy(GenerationMode.POSITIVE)}
    headers = {parameter.name.lower() for parameter in operation.headers}
    if "x-api-key" in headers:
        # Random ids mostly miss; these cases aim at the caller's own organization and user, so success paths
        # run too: as the member (bearer token, acting in their organization) and through an API key.
        own = {"org_id": str(account.org_id), "user_id": str(account.user_id)}
        own = {name: value for name, value in own.items() if name in {p.name for p in operation.path_parameters}}
        member = operation.as_strategy(path_parameters=own, headers={"x-org-id": str(account.org_id)})
        strategies["positive, own resources"] = member.map(_without_api_key)
        strategies["positive, API key"] = operation.as_strategy(
            path_parameters=own, headers={"X-API-Key": account.api_key}
        )
    parameters = (operation.path_parameters, operation.headers, operation.cookies, operation.query, operation.body)
    if any(len(group) for group in parameters):
        strategies["negative"] = operation.as_strategy(GenerationMode.NEGATIVE)
    return strategies


def _operation_failures(operation: Operation, account: LiveAccount) -> list[str]:
    """Run the generated cases of one operation; describe each kind of case that found a failure."""
    failures: list[str] = []
    for kind, strategy in _strategies(operation, account).items():

        @given(case=strategy)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Case) -> None:
            # Logging out revokes the session, so each logout uses a session of its own.
            logout = operation.path.endswith("/auth/logout")
            token = account.login() if logout else account.access_token
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # a group of failed checks, with a curl to reproduce
            failures.append(f"{operation.label} [{kind}]: {exc}")
    return failures


def test_schemathesis_covers_every_documented_operation(api_schema: schemathesis.BaseSchema) -> None:
    documented = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        documented.append(result.ok().label)
    assert sorted(set(documented) - ENDLESS) == sorted(COVERED)
    assert len(COVERED) >= 19


@pytest.mark.parametrize("label", COVERED)
def test_operation_conforms_to_its_schema(
    label: str, api_schema: schemathesis.BaseSchema, live_account: LiveAccount
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    failures = _operation_failures(operation, live_account)
    assert not failures, "\n\n".join(failures)
