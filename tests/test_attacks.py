"""The outside test's attacks against a live `folio serve` (a child process, real HTTP): each is refused with a code,
nothing grows the server's memory by more than 256 MiB, and nothing answers 500 (see tests/attacks.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.attacks import (
    Target,
    account,
    attack_target,
    deep_schema,
    docx_bombs,
    hanging_model,
    invitation_enumeration,
    job_flood,
    many_form_fields,
    mixed_load,
    multipart_to_json_routes,
    nul_bytes,
    removed_members_key,
    session_edges,
    ssrf_model_settings,
    unterminated_csv,
)
from tests.cli_process import folio_env, run_folio
from tests.conftest import TEST_ENCRYPTION_KEY

GROWTH_MIB = 256


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with attack_target() as served:
        yield served


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
    assert 1 <= outcome.facts["children"] <= 2


async def test_a_hanging_model_does_not_starve_another_organization(client: httpx.AsyncClient, target: Target) -> None:
    outcome = await hanging_model(client, target)
    assert outcome.facts["other_status"] == 200
    # The model never answers: each answer ends with its timeout, or waits for a slot and gets LLM_BUSY.
    assert set(outcome.facts["answers"]) <= {"504 LLM_TIMEOUT", "429 LLM_BUSY"}


async def test_mixed_load_sheds_instead_of_failing(target: Target) -> None:
    report = await mixed_load(target, clients=50, seconds=15)
    assert report.requests > 0
    assert report.statuses["500"] == 0
    assert {status for status in report.statuses if status.startswith("4")} <= {"429"}
    assert report.timeouts == 0


async def test_a_removed_members_api_key_stays_revoked_after_re_adding(
    client: httpx.AsyncClient, target: Target
) -> None:
    outcome = await removed_members_key(client, target)
    assert outcome.facts == {"while_removed": 401, "after": 401}


async def test_invitations_answer_alike_for_existing_and_unknown_addresses(
    client: httpx.AsyncClient, target: Target
) -> None:
    outcome = await invitation_enumeration(client, target)
    assert outcome.answer == "alike"
    assert outcome.facts["shapes"][0][0] == 202


async def test_two_tabs_refreshing_at_once_keep_the_session(client: httpx.AsyncClient, target: Target) -> None:
    outcome = await session_edges(client, target)
    assert outcome.facts["refreshes"] == [200, 200]
    assert outcome.facts["expired_key"] == "422 EXPIRES_AT_IN_PAST"
    assert outcome.facts["security_headers"]


async def test_production_refuses_to_start_with_a_guessable_jwt_secret(tmp_path: Path) -> None:
    for secret in (" " * 32, "a" * 32, "correct horse battery staple correct horse"):
        completed = await run_folio(
            "serve",
            env=folio_env(
                FOLIO_ENV="production",
                FOLIO_AUTH__JWT_SECRET=secret,
                FOLIO_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEY,
                FOLIO_DATA_DIR=str(tmp_path),
            ),
            cwd=tmp_path,
        )
        assert completed.code != 0
        assert "FOLIO_AUTH__JWT_SECRET" in completed.stdout + completed.stderr
