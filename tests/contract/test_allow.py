"""A method a path does not accept answers 405 with `Allow` naming every method the path documents."""

from __future__ import annotations

import re

import httpx

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
SOME_ID = "0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0d"


async def test_405_allows_every_documented_method_of_the_path(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    several = 0
    for template, item in spec["paths"].items():
        documented = {method.upper() for method in item if method in HTTP_METHODS}
        several += len(documented) > 1
        # Any value fills a parameter: routing answers 405 before a route reads it.
        path = re.sub(r"\{[^}]+\}", SOME_ID, template)
        for method in ("OPTIONS", "TRACE", *sorted({"GET", "POST", "PATCH", "DELETE"} - documented)):
            response = await client.request(method, path)
            if method not in ("OPTIONS", "TRACE") and response.status_code != 405:
                continue  # another template takes it: DELETE /documents/import-url is the document "import-url"
            assert response.status_code == 405, f"{method} {template}"
            assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
            assert set(response.headers["allow"].split(", ")) == documented, f"{method} {template}"
    assert several >= 30


async def test_405_allow_names_the_most_literal_template(client: httpx.AsyncClient) -> None:
    """`/shares/links` also matches `/shares/{share_id}` (DELETE), whose route routing tries first."""
    response = await client.put("/api/v1/shares/links")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
