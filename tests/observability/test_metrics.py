"""Prometheus metrics at /metrics: requests by route template, latency, in-flight requests, the DB pool."""

from __future__ import annotations

from uuid import uuid4

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import register

ORG_ROUTE = "/api/v1/orgs/{org_id}"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> tuple[str, Samples]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_and_status(client: httpx.AsyncClient) -> None:
    account = await register(client)
    _, before = await scrape(client)
    assert (await client.get(f"/api/v1/orgs/{account.org_id}", headers=account.headers)).status_code == 200
    assert (await client.get(f"/api/v1/orgs/{uuid4()}", headers=account.headers)).status_code == 404
    text, after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "folio_http_requests_total"
    assert delta(requests, method="GET", route=ORG_ROUTE, status="200") == 1
    assert delta(requests, method="GET", route=ORG_ROUTE, status="404") == 1
    duration = "folio_http_request_duration_seconds"
    assert delta(f"{duration}_count", method="GET", route=ORG_ROUTE) == 2
    assert delta(f"{duration}_bucket", method="GET", route=ORG_ROUTE, le="+Inf") == 2
    assert value(after, f"{duration}_sum", method="GET", route=ORG_ROUTE) > 0
    assert str(account.org_id) not in text


async def test_metric_families_are_exposed(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    text, samples = await scrape(client)
    for name in (
        "folio_http_requests_total",
        "folio_http_request_duration_seconds",
        "folio_http_requests_in_flight",
        "folio_db_pool_connections_in_use",
        "folio_db_pool_connections_open",
        "folio_rate_limit_storage_errors_total",
    ):
        assert f"# TYPE {name} " in text, name
    # The scrape itself is in flight while the metrics are rendered.
    assert value(samples, "folio_http_requests_in_flight") >= 1
    assert value(samples, "folio_http_requests_total", method="GET", route="/health/live", status="200") >= 1


async def test_unmatched_routes_share_one_label(client: httpx.AsyncClient) -> None:
    _, before = await scrape(client)
    paths = [f"/no/such/{uuid4()}" for _ in range(3)]
    for path in paths:
        assert (await client.get(path)).status_code == 404
    text, after = await scrape(client)
    labels = {"method": "GET", "route": "<unmatched>", "status": "404"}
    name = "folio_http_requests_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 3
    for path in paths:
        assert path not in text


async def test_db_pool_gauges_follow_checkouts(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client)  # the pool has opened at least one connection
    in_use = "folio_db_pool_connections_in_use"
    # The gauges are the process's, and other apps of the test process (their reapers and periodic jobs) take
    # connections too: a window in which one did is measured again.
    for _ in range(5):
        _, idle = await scrape(client)
        async with app.state.engine.connect():
            _, busy = await scrape(client)
        _, released = await scrape(client)
        if value(released, in_use) == value(idle, in_use):
            break
    assert value(idle, "folio_db_pool_connections_open") >= 1
    assert value(busy, in_use) - value(idle, in_use) == 1
    assert value(released, in_use) == value(idle, in_use)
    assert value(busy, "folio_db_pool_connections_open") >= 1


async def test_the_api_documents_are_counted_under_their_own_paths(client: httpx.AsyncClient) -> None:
    _, before = await scrape(client)
    for path in ("/docs", "/openapi.json", "/docs/oauth2-redirect"):
        assert (await client.get(path)).status_code == 200
    _, after = await scrape(client)
    for path in ("/docs", "/openapi.json", "/docs/oauth2-redirect"):
        labels = {"method": "GET", "route": path, "status": "200"}
        name = "folio_http_requests_total"
        assert value(after, name, **labels) - value(before, name, **labels) == 1, path


async def test_a_method_the_api_does_not_use_is_counted_as_other(client: httpx.AsyncClient) -> None:
    _, before = await scrape(client)
    assert (await client.request("BREW", "/health/live")).status_code == 405
    text, after = await scrape(client)
    labels = {"method": "other", "route": "/health/live", "status": "405"}
    name = "folio_http_requests_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 1
    assert "BREW" not in text
