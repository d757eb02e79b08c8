"""Operator signals after real work (an ingestion, a failed one, searches in every mode, an answer from a model),
and the Grafana dashboard (`deploy/grafana/folio.json`): every metric and label its PromQL names is one that
/metrics exports."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from folio.jobs.kinds import INGEST_DOCUMENT, WRITE_EXPORT
from folio.main import create_app
from tests.conftest import empty_tables, make_settings
from tests.corpus import Doc, ingest
from tests.factories import Account, register, wait_until_finished
from tests.fake_openai import FakeOpenAI, llm_settings, serve_fake_openai

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "folio.json"
CORPUS = {
    "contract": Doc(
        "contract.txt",
        "Master services agreement.\n\nEither party may terminate this agreement with ninety days written notice.",
    )
}
_METRIC = re.compile(r"\bfolio_[a-z0-9_]+\b")
_BY = re.compile(r"\bby\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"\b(folio_[a-z0-9_]+)\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Scrape:
    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float:
        return sum(s.value for s in self.samples if s.name == name and labels.items() <= s.labels.items())

    def labels_of(self) -> dict[str, set[str]]:
        found: defaultdict[str, set[str]] = defaultdict(set)
        for sample in self.samples:
            found[sample.name] |= set(sample.labels)
        return found


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """The module's work is read by every test; its rows go when the module ends."""


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


async def broken_pdf(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    content = b"%PDF-1.7\n" + b"not the rest of a PDF\x00\xff" * 40
    response = await client.post(
        "/api/v1/documents", files=[("files", ("broken.pdf", content, "application/pdf"))], headers=account.headers
    )
    assert response.status_code == 202, response.text
    return await wait_until_finished(client, account, UUID(response.json()["items"][0]["job_id"]), seconds=90)


@pytest.fixture(scope="module")
async def scrape(database_url: str, fake_model: FakeOpenAI) -> AsyncIterator[Scrape]:
    application = create_app(make_settings(database_url, llm=llm_settings(fake_model)))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        account = await register(client)
        await ingest(client, account, CORPUS)
        failed = await broken_pdf(client, account)
        assert (failed["status"], failed["error_code"]) == ("failed", "CORRUPT_FILE")
        for mode in ("keyword", "vector", "hybrid"):
            found = await client.post("/api/v1/search", json={"query": "notice", "mode": mode}, headers=account.headers)
            assert found.status_code == 200, found.text
        answered = await client.post(
            "/api/v1/answers", json={"question": "How much notice ends the agreement?"}, headers=account.headers
        )
        assert answered.status_code == 200, answered.text
        response = await client.get("/metrics")
        assert response.status_code == 200
        yield Scrape(
            [
                Sample(sample.name, dict(sample.labels), sample.value)
                for family in text_string_to_metric_families(response.text)
                for sample in family.samples
            ]
        )
        await empty_tables(application)


def test_work_shows_in_the_metrics_with_its_labels(scrape: Scrape) -> None:
    ingestion = {"kind": INGEST_DOCUMENT}
    assert scrape.value("folio_job_attempts_total", **ingestion, outcome="succeeded") >= 1
    assert scrape.value("folio_job_attempts_total", **ingestion, outcome="failed") >= 1
    assert scrape.value("folio_job_duration_seconds_count", **ingestion, outcome="succeeded") >= 1
    assert scrape.value("folio_job_failures_total", **ingestion, code="CORRUPT_FILE") >= 1
    assert scrape.value("folio_ingestion_pages_total", format="text") >= 1
    assert scrape.value("folio_ingestion_chunks_total") >= 1
    assert scrape.value("folio_embedding_duration_seconds_count", provider="local") >= 1
    assert scrape.value("folio_embedding_texts_total", provider="local") >= 1
    for mode in ("keyword", "vector", "hybrid"):
        assert scrape.value("folio_search_duration_seconds_count", mode=mode) >= 1
    assert scrape.value("folio_llm_provider_calls_total", provider="127.0.0.1", outcome="ok") >= 1
    # The reaper's gauges cover every kind the process runs, waiting or not.
    assert {INGEST_DOCUMENT, WRITE_EXPORT} <= {
        s.labels["kind"] for s in scrape.samples if s.name == "folio_jobs_queued"
    }


def expressions() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_the_dashboard_charts_only_metrics_and_labels_folio_exports(scrape: Scrape) -> None:
    exported = scrape.labels_of()
    queries = expressions()
    assert len(queries) >= 20
    for query in queries:
        names = set(_METRIC.findall(query))
        assert names, query
        unknown = names - set(exported)
        assert not unknown, f"{query}: not exported: {sorted(unknown)}"
        labels = set().union(*(exported[name] for name in names))
        grouped = {label.strip() for clause in _BY.findall(query) for label in clause.split(",") if label.strip()}
        assert grouped <= labels, f"{query}: no such label: {sorted(grouped - labels)}"
        for name, matchers in _SELECTOR.findall(query):
            matched = set(_MATCHER.findall(matchers))
            assert matched <= exported[name], f"{query}: {name} has no label {sorted(matched - exported[name])}"
