"""Usage: every model call recorded with who made it, its tokens and cost; reports; monthly budgets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from folio.embeddings.local import LocalMiniLM
from folio.llm.tokens import approximate_prompt_tokens, approximate_tokens
from folio.main import create_app
from tests.conftest import make_settings
from tests.corpus import Doc, ingest
from tests.factories import Account, add_member, create_api_key, error_of, register, wait_until_finished
from tests.fake_openai import FakeOpenAI, llm_settings, serve_fake_openai

USAGE = "/api/v1/usage"
BUDGET = "/api/v1/usage/budget"
# USD per million tokens.
PRICES = {"fake-chat": {"prompt": 1.5, "completion": 4.0}}
CONTRACT = Doc(
    "contract.txt",
    "Either party may terminate this agreement with ninety days written notice. "
    "Notice must be sent to the registered office by recorded delivery.",
)
QUESTION = "How much notice is needed to terminate the agreement?"


@dataclass
class Setup:
    client: httpx.AsyncClient
    account: Account
    document_id: UUID
    fake: FakeOpenAI
    app: FastAPI


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's database is its own (see `module_setup`)."""


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
async def module_setup(separate_database_url: str, fake_model: FakeOpenAI) -> AsyncIterator[Setup]:
    settings = make_settings(
        separate_database_url, llm=llm_settings(fake_model), usage={"prices": PRICES}, jobs={"max_attempts": 1}
    )
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        account = await register(client)
        ids, _ = await ingest(client, account, {"contract": CONTRACT})
        yield Setup(client, account, ids["contract"], fake_model, application)


@pytest.fixture
async def setup(module_setup: Setup) -> AsyncIterator[Setup]:
    module_setup.fake.requests.clear()
    module_setup.fake.default_reply = "Ninety days written notice [1]."
    yield module_setup
    await module_setup.client.put(BUDGET, json={"monthly_tokens": None}, headers=module_setup.account.headers)


async def usage(setup: Setup, account: Account | None = None, **params: Any) -> dict[str, Any]:
    account = account or setup.account
    response = await setup.client.get(USAGE, params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def fake_usage(fake: FakeOpenAI) -> tuple[int, int]:
    """What the fake reported for its chat requests: a word of the messages a prompt token, a word of the reply a
    completion token."""
    prompt = sum(
        sum(len(str(message["content"]).split()) for message in request["body"]["messages"])
        for request in fake.chat_requests()
    )
    completion = len(str(fake.default_reply).split()) * len(fake.chat_requests())
    return prompt, completion


async def test_ingestion_records_its_embedding_tokens_free_of_charge(setup: Setup) -> None:
    report = await usage(setup, group_by="kind")
    [embedding] = [row for row in report["items"] if row["kind"] == "embedding"]
    chunks = await setup.client.get(f"/api/v1/documents/{setup.document_id}/chunks", headers=setup.account.headers)
    tokens = sum(chunk["token_count"] for chunk in chunks.json()["items"])
    assert (embedding["calls"], embedding["prompt_tokens"], embedding["completion_tokens"]) == (1, tokens, 0)
    assert embedding["cost"] == 0.0
    by_model = await usage(setup, group_by="model")
    assert LocalMiniLM.model in {row["model"] for row in by_model["items"]}


def answer_row(report: dict[str, Any]) -> dict[str, Any]:
    rows = [row for row in report["items"] if row["kind"] == "answer"]
    return rows[0] if rows else {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}


async def test_answers_record_the_models_tokens_and_their_cost(setup: Setup) -> None:
    before = await usage(setup, group_by=["kind", "model"])
    answered = await setup.client.post("/api/v1/answers", json={"question": QUESTION}, headers=setup.account.headers)
    assert answered.status_code == 200, answered.text
    streamed = await setup.client.post(
        "/api/v1/answers", json={"question": QUESTION, "stream": True}, headers=setup.account.headers
    )
    assert "event: done" in streamed.text
    prompt, completion = fake_usage(setup.fake)

    after = await usage(setup, group_by=["kind", "model"])
    answers, earlier = answer_row(after), answer_row(before)
    assert answers["model"] == "fake-chat"
    assert answers["calls"] - earlier["calls"] == 2
    assert answers["prompt_tokens"] - earlier["prompt_tokens"] == prompt
    assert answers["completion_tokens"] - earlier["completion_tokens"] == completion
    assert answers["cost"] - earlier["cost"] == pytest.approx((prompt * 1.5 + completion * 4.0) / 1_000_000, abs=2e-6)
    assert answers["unpriced_calls"] == 0
    assert after["scope"] == "organization"
    assert after["total"]["calls"] == before["total"]["calls"] + 2
    assert after["total"]["total_tokens"] == before["total"]["total_tokens"] + prompt + completion


async def test_a_stream_cut_short_is_recorded_with_estimated_tokens(setup: Setup) -> None:
    before = answer_row(await usage(setup, group_by="kind"))
    setup.fake.fail_stream_after = 2  # the model's stream breaks after two words, before any usage is reported
    try:
        streamed = await setup.client.post(
            "/api/v1/answers", json={"question": QUESTION, "stream": True}, headers=setup.account.headers
        )
    finally:
        setup.fake.fail_stream_after = None
    assert "event: error" in streamed.text
    after = answer_row(await usage(setup, group_by="kind"))
    assert after["calls"] == before["calls"] + 1
    # Estimated from the prompt sent and the two words that came back.
    [request] = setup.fake.chat_requests()
    assert after["prompt_tokens"] - before["prompt_tokens"] == approximate_prompt_tokens(request["body"]["messages"])
    assert after["completion_tokens"] - before["completion_tokens"] == approximate_tokens("Ninety days ")


async def test_a_spent_budget_stops_model_calls_with_402(setup: Setup) -> None:
    await setup.client.post("/api/v1/answers", json={"question": QUESTION}, headers=setup.account.headers)
    used = (await setup.client.get(BUDGET, headers=setup.account.headers)).json()["used_this_month"]
    assert used > 0

    budget = await setup.client.put(BUDGET, json={"monthly_tokens": used + 1_000_000}, headers=setup.account.headers)
    assert budget.json() == {"monthly_tokens": used + 1_000_000, "used_this_month": used, "remaining": 1_000_000}
    ok = await setup.client.post("/api/v1/answers", json={"question": QUESTION}, headers=setup.account.headers)
    assert ok.status_code == 200

    spent = await setup.client.put(BUDGET, json={"monthly_tokens": used}, headers=setup.account.headers)
    assert spent.json()["remaining"] == 0
    calls = len(setup.fake.chat_requests())
    for body in ({"question": QUESTION}, {"question": QUESTION, "stream": True}):
        refused = await setup.client.post("/api/v1/answers", json=body, headers=setup.account.headers)
        error = error_of(refused, 402, "BUDGET_EXCEEDED")
        assert error["details"]["monthly_tokens"] == used
    assert len(setup.fake.chat_requests()) == calls  # the model was not called

    summary = await setup.client.post(
        f"/api/v1/documents/{setup.document_id}/summaries", json={}, headers=setup.account.headers
    )
    job = await wait_until_finished(setup.client, setup.account, UUID(summary.json()["job_id"]), seconds=60)
    assert (job["status"], job["error_code"]) == ("failed", "BUDGET_EXCEEDED")
    assert len(setup.fake.chat_requests()) == calls


async def test_summaries_record_their_calls(setup: Setup) -> None:
    summary = await setup.client.post(
        f"/api/v1/documents/{setup.document_id}/summaries", json={}, headers=setup.account.headers
    )
    job = await wait_until_finished(setup.client, setup.account, UUID(summary.json()["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    url = f"/api/v1/summaries/{summary.json()['id']}"
    written = (await setup.client.get(url, headers=setup.account.headers)).json()
    report = await usage(setup, group_by="kind")
    [row] = [row for row in report["items"] if row["kind"] == "summary"]
    # This module's only summary that reached the model: its one call is the summary's usage.
    assert (row["calls"], row["prompt_tokens"], row["completion_tokens"]) == (
        1,
        written["prompt_tokens"],
        written["completion_tokens"],
    )


async def test_members_see_their_own_usage_and_only_admins_set_budgets(setup: Setup) -> None:
    editor = await register(setup.client)
    await add_member(setup.client, setup.account, editor, "editor")
    as_editor = editor.in_org(setup.account.org_id)
    answered = await setup.client.post("/api/v1/answers", json={"question": QUESTION}, headers=as_editor)
    assert answered.status_code == 200, answered.text
    mine = (await setup.client.get(USAGE, params={"group_by": "kind"}, headers=as_editor)).json()
    assert mine["scope"] == "you"
    assert [(row["kind"], row["calls"]) for row in mine["items"]] == [("answer", 1)]
    error_of(await setup.client.put(BUDGET, json={"monthly_tokens": 5}, headers=as_editor), 403, "FORBIDDEN")

    key = await create_api_key(setup.client, setup.account, scopes=["answers", "search"])
    by_key = {"X-API-Key": key["secret"]}
    await setup.client.post("/api/v1/answers", json={"question": QUESTION}, headers=by_key)
    report = (await setup.client.get(USAGE, headers=by_key)).json()
    assert (report["scope"], report["total"]["calls"]) == ("you", 1)

    stranger = await register(setup.client)
    assert (await usage(setup, stranger))["total"]["calls"] == 0


async def test_reports_group_by_day_and_refuse_bad_periods(setup: Setup) -> None:
    today = datetime.now(UTC).date().isoformat()
    report = await usage(setup, group_by="day")
    assert [row["day"] for row in report["items"]] == [today]
    assert report["items"][0]["calls"] == report["total"]["calls"]
    future = datetime.now(UTC) + timedelta(days=1)
    empty = await usage(setup, since=future.isoformat(), until=(future + timedelta(days=1)).isoformat())
    assert empty["total"]["calls"] == 0
    assert empty["items"] == [empty["total"]]
    for params in (
        {"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        {"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "2026-11-01T00:00:00"},
        {"group_by": "week"},
    ):
        error_of(await setup.client.get(USAGE, params=params, headers=setup.account.headers), 422, "VALIDATION_ERROR")
    error_of(
        await setup.client.put(BUDGET, json={"monthly_tokens": 0}, headers=setup.account.headers),
        422,
        "VALIDATION_ERROR",
    )
    assert json.loads((await setup.client.get(BUDGET, headers=setup.account.headers)).text)["monthly_tokens"] is None
