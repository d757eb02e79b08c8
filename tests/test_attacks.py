"""The outside test's attacks against a live `folio serve` (a child process, real HTTP): each is refused with a code,
nothing grows the server's memory by more than 256 MiB, and nothing answers 500 (see tests/attacks.py)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.attacks import (
    Target,
    account,
    deep_schema,
    docx_bombs,
    hanging_model,
    job_flood,
    many_form_fields,
    mixed_load,
    multipart_to_json_routes,
    nul_bytes,
    ssrf_model_settings,
    unterminated_csv,
)
from tests.processes import folio_server

GROWTH_MIB = 256


@pytest.fixture(scope="module")
def hanging_model_url() -> Iterator[str]:
    """A model endpoint that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.fixture(scope="module")
def target(hanging_model_url: str) -> Iterator[Target]:
    # Short, because the embedded server's Unix socket lives in it.
    data_dir = Path(tempfile.mkdtemp(prefix="folio-attack-"))
    settings = {
        "FOLIO_LLM__PROVIDER": "openai",
        "FOLIO_LLM__BASE_URL": hanging_model_url,
        "FOLIO_LLM__MAX_RETRIES": "0",
        "FOLIO_LLM__TIMEOUT_SECONDS": "8",
        "FOLIO_LOG__LEVEL": "WARNING",
    }
    try:
        with folio_server(data_dir, settings) as (pid, url):
            yield Target(pid, url)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def client(target: Target) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=target.url, timeout=120) as http:
        yield http


@pytest.fixture
async def member(client: httpx.AsyncClient) -> dict[str, str]:
    return await account(client, "member")


async def test_multipart_bodies_to_json_routes_are_refused_at_the_json_limit(target: Target) -> None:
    outcome = await multipart_to_json_routes(target)
    assert outcome.answer == "413 PAYLOAD_TOO_LARGE"
    assert outcome.growth_mib < GROWTH_MIB


async def test_thousands_of_form_fields_are_refused_while_streaming(target: Target, member: dict[str, str]) -> None:
    outcome = await many_form_fields(target, member)
    assert outcome.answer == "413 FORM_TOO_LARGE"
    assert outcome.growth_mib < GROWTH_MIB


async def test_model_endpoints_at_internal_addresses_are_refused(
    client: httpx.AsyncClient, target: Target, member: dict[str, str]
) -> None:
    outcome = await ssrf_model_settings(client, target, member)
    assert list(outcome.facts["answers"]) == ["422 OUTBOUND_URL_FORBIDDEN"]


async def test_nul_bytes_are_refused(client: httpx.AsyncClient, target: Target, member: dict[str, str]) -> None:
    outcome = await nul_bytes(client, target, member)
    assert set(outcome.facts["answers"]) == {"422 VALIDATION_ERROR"}


async def test_a_deeply_nested_schema_is_refused(
    client: httpx.AsyncClient, target: Target, member: dict[str, str]
) -> None:
    outcome = await deep_schema(client, target, member)
    assert outcome.answer.startswith("422 ")


async def test_a_csv_with_an_unterminated_quote_fails_its_row_in_bounded_memory(
    client: httpx.AsyncClient, target: Target, member: dict[str, str]
) -> None:
    outcome = await unterminated_csv(client, target, member)
    assert "ROW_TOO_LARGE" in outcome.facts["row_errors"]
    assert outcome.growth_mib < GROWTH_MIB


async def test_docx_bombs_with_false_sizes_fail_in_bounded_memory(
    client: httpx.AsyncClient, target: Target, member: dict[str, str]
) -> None:
    outcome = await docx_bombs(client, target, member)
    assert outcome.answer == "failed ARCHIVE_BOMB"
    assert outcome.growth_mib < GROWTH_MIB


async def test_one_upload_of_many_files_runs_at_most_the_job_concurrency(
    client: httpx.AsyncClient, target: Target, member: dict[str, str]
) -> None:
    outcome = await job_flood(client, target, member)
    assert 1 <= outcome.facts["jobs"] <= 2
    assert outcome.facts["children"] <= 2


async def test_a_hanging_model_does_not_starve_another_organization(client: httpx.AsyncClient, target: Target) -> None:
    outcome = await hanging_model(client, target)
    assert outcome.facts["other_status"] == 200
    assert not any(answer.startswith("500") for answer in outcome.facts["answers"])


async def test_mixed_load_sheds_instead_of_failing(target: Target) -> None:
    report = await mixed_load(target, clients=50, seconds=15)
    assert report.requests > 0
    assert report.statuses["500"] == 0
    assert report.timeouts == 0
