"""How a request's credentials are read: `X-API-Key`, `Authorization: Bearer` (the scheme in any case) and the
optional `X-Org-Id`, and how the OpenAPI document declares them on every operation that authenticates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import add_member, create_api_key, error_of, register

ME = "/api/v1/auth/me"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_bearer_scheme_is_read_in_any_case(client: httpx.AsyncClient, scheme: str) -> None:
    account = await register(client)
    response = await client.get(ME, headers={"Authorization": f"{scheme} {account.access_token}"})
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == account.email


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Token {token}", "{token}", "Bearer", ""])
async def test_another_scheme_is_no_credential(client: httpx.AsyncClient, authorization: str) -> None:
    account = await register(client)
    response = await client.get(ME, headers={"Authorization": authorization.format(token=account.access_token)})
    error_of(response, 401, "AUTH_REQUIRED")


async def test_an_api_key_is_read_before_the_bearer_token(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account)
    both = {**account.headers, "X-API-Key": key["secret"]}
    assert (await client.get(ME, headers=both)).json()["principal"] == "api_key"
    wrong_key = {**account.headers, "X-API-Key": key["secret"] + "x"}
    error_of(await client.get(ME, headers=wrong_key), 401, "AUTH_INVALID")


async def test_the_organization_header_chooses_among_the_users_organizations(client: httpx.AsyncClient) -> None:
    owner, member = await register(client), await register(client)
    await add_member(client, owner, member, "viewer")
    assert (await client.get(ME, headers=member.headers)).json()["org"]["id"] == str(member.org_id)
    chosen = await client.get(ME, headers=member.in_org(owner.org_id))
    assert chosen.json()["org"]["id"] == str(owner.org_id)
    assert chosen.json()["role"] == "viewer"
    stranger = await register(client)
    error_of(await client.get(ME, headers=stranger.in_org(owner.org_id)), 403, "ORG_ACCESS_DENIED")


@pytest.mark.parametrize("value", ["", "null", "not-a-uuid", "0" * 37, "-" * 36])
async def test_an_organization_header_that_is_no_uuid_is_refused(client: httpx.AsyncClient, value: str) -> None:
    account = await register(client)
    response = await client.get(ME, headers=[*account.headers.items(), ("X-Org-Id", value)])
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert [item["loc"] for item in error["details"]["errors"]] == [["header", "x-org-id"]]


async def test_openapi_declares_the_credentials_and_a_non_nullable_organization_header(
    client: httpx.AsyncClient,
) -> None:
    spec: dict[str, Any] = (await client.get("/openapi.json")).json()
    me = spec["paths"][ME]["get"]
    assert me["security"] == [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]
    (header,) = [parameter for parameter in me["parameters"] if parameter["in"] == "header"]
    assert header == {
        "name": "x-org-id",
        "in": "header",
        "required": False,
        "description": "The organization to act in, for users who belong to several.",
        "schema": {"type": "string", "format": "uuid"},
    }
    documents = spec["paths"]["/api/v1/documents/{document_id}"]["get"]["parameters"]
    assert [parameter["name"] for parameter in documents] == ["document_id", "x-org-id"]
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert "security" not in login
    assert all(parameter["name"] != "x-org-id" for parameter in login.get("parameters", []))
    assert spec == (await client.get("/openapi.json")).json()
