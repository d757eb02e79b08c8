"""The integrations API as an attacker uses it: oversized, deeply nested and NUL-laden bodies, another
organization's ids, sources on internal addresses under the strict outbound policy, floods of creations and syncs,
and fishing for credentials in answers. Every refusal is our envelope with a stable code, never a 500."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from anyio import to_thread
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from structlog.testing import capture_logs

from folio.outbound import policy as outbound_policy
from tests.factories import Account, error_of, register, wait_until_finished
from tests.integrations.conftest import INTEGRATIONS, RETURN_URL, last_sync
from tests.integrations.fakes.confluence import API_TOKEN, EMAIL, FakeConfluence
from tests.live_server import serve_in_thread

NOTION_ID = "0c5b0f9e3c8a4b7e9d2f1a6b5c4d3e2f"
SECRET = "ntn_attacker-sees-this-never-9Xq2"
NOTION: dict[str, Any] = {"kind": "notion", "name": "Notion", "credentials": {"token": SECRET}, "sync_now": False}
# Longest a held request waits for the test to let it go.
HOLD_SECONDS = 30


class Recorder:
    """A web site that logs every request and, until `opened` is set, holds each one unanswered."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.port = 0
        self.opened = threading.Event()
        self.opened.set()

    def app(self) -> Starlette:
        async def page(request: Request) -> Response:
            self.paths.append(request.url.path)
            await to_thread.run_sync(self.opened.wait, HOLD_SECONDS)
            if request.url.path == "/robots.txt":
                return Response(status_code=404)
            return HTMLResponse("<html><head><title>Inside</title></head><body>Internal only.</body></html>")

        return Starlette(routes=[Route("/{path:path}", page)])


@pytest.fixture(scope="module")
def recorder_server() -> Iterator[Recorder]:
    recorder = Recorder()
    with serve_in_thread(recorder.app(), lifespan="off") as url:
        recorder.port = int(url.rsplit(":", 1)[1])
        yield recorder


@pytest.fixture
def recorder(recorder_server: Recorder) -> Recorder:
    recorder_server.paths.clear()
    recorder_server.opened.set()
    return recorder_server


async def listed_names(client: httpx.AsyncClient, owner: Account) -> list[str]:
    listed = await client.get(INTEGRATIONS, params={"limit": 100}, headers=owner.headers)
    assert listed.status_code == 200, listed.text
    return [item["name"] for item in listed.json()["items"]]


def web(start_url: str, **config: Any) -> dict[str, Any]:
    return {"kind": "web", "name": "Web", "config": {"start_url": start_url, **config}}


def confluence(site_url: str, **config: Any) -> dict[str, Any]:
    credentials = {"email": EMAIL, "api_token": API_TOKEN}
    return {
        "kind": "confluence",
        "name": "Wiki",
        "config": {"site_url": site_url, **config},
        "credentials": credentials,
    }


# Bodies -------------------------------------------------------------------------------------------------------------

TEN_MB = "x" * (10 * 1024 * 1024)


@pytest.mark.parametrize(
    "body",
    [
        {**NOTION, "name": TEN_MB},
        {**NOTION, "credentials": {"token": TEN_MB}},
        {**NOTION, "config": {"page_ids": [NOTION_ID] * 50_000}},
        web(f"https://example.com/{TEN_MB}"),
    ],
    ids=["name", "credentials", "config-list", "start-url"],
)
async def test_a_body_past_the_servers_cap_is_413_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    owner = await register(client)
    kept = (await client.post(INTEGRATIONS, json={**NOTION, "name": "Kept"}, headers=owner.headers)).json()

    created = await client.post(INTEGRATIONS, json=body, headers=owner.headers)
    changed = await client.patch(f"{INTEGRATIONS}/{kept['id']}", json=body, headers=owner.headers)

    error_of(created, 413, "PAYLOAD_TOO_LARGE")
    error_of(changed, 413, "PAYLOAD_TOO_LARGE")
    fetched = await client.get(f"{INTEGRATIONS}/{kept['id']}", headers=owner.headers)
    assert fetched.json()["updated_at"] == kept["updated_at"]
    assert await listed_names(client, owner) == ["Kept"]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"page_ids": [NOTION_ID] * 20_000}, "config.page_ids"),
        ({"database_ids": [NOTION_ID] * 101}, "config.database_ids"),
        ({"page_ids": [NOTION_ID + "0" * 5000]}, "config.page_ids.0"),
    ],
)
async def test_a_config_within_the_body_cap_but_past_its_kinds_bounds_is_refused_by_field(
    client: httpx.AsyncClient, config: dict[str, Any], field: str
) -> None:
    owner = await register(client)

    response = await client.post(INTEGRATIONS, json={**NOTION, "config": config}, headers=owner.headers)

    error = error_of(response, 422, "INTEGRATION_CONFIG_INVALID")
    assert field in [each["field"] for each in error["details"]["errors"]]


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


URL = '"https://example.com/"'
START = f'{{"start_url": {URL}}}'


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"config": f'{{"start_url": "https://example.com/", "extra": {nested(100_000)}}}'}, "VALIDATION_ERROR"),
        ({"config": '{"a":' * 20_000 + "1" + "}" * 20_000}, "VALIDATION_ERROR"),
        ({"config": f'{{"start_url": {nested(100_000, URL)}}}'}, "VALIDATION_ERROR"),
        ({"config": f'{{"start_url": {nested(200, URL)}}}'}, "INTEGRATION_CONFIG_INVALID"),
        ({"config": START, "credentials": nested(100_000)}, "VALIDATION_ERROR"),
    ],
    ids=["unknown-key", "objects", "in-a-field", "shallower", "credentials"],
)
async def test_deeply_nested_json_is_refused(client: httpx.AsyncClient, fields: dict[str, str], code: str) -> None:
    """`fields` are raw JSON: a JSON encoder of our own would refuse to write them."""
    owner = await register(client)
    members = ", ".join(f'"{name}": {value}' for name, value in fields.items())
    body = f'{{"kind": "web", "name": "deep", "sync_now": false, {members}}}'

    response = await client.post(
        INTEGRATIONS, content=body, headers={**owner.headers, "Content-Type": "application/json"}
    )

    error_of(response, 422, code)
    assert await listed_names(client, owner) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "Note\x00book"},
        {"config": {"page_ids": [NOTION_ID + "\x00"]}},
        {"config": {"page_ids\x00": [NOTION_ID]}},
        {"credentials": {"token": "ntn_\x00secret"}},
        {"credentials": {"token\x00": "ntn_secret"}},
    ],
    ids=["name", "config-value", "config-key", "credentials-value", "credentials-key"],
)
async def test_nul_bytes_anywhere_in_a_body_are_refused(client: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    owner = await register(client)
    kept = (await client.post(INTEGRATIONS, json={**NOTION, "name": "Kept"}, headers=owner.headers)).json()

    created = await client.post(INTEGRATIONS, json={**NOTION, **fields}, headers=owner.headers)
    patched = await client.patch(f"{INTEGRATIONS}/{kept['id']}", json=fields, headers=owner.headers)

    error_of(created, 422, "VALIDATION_ERROR")
    error_of(patched, 422, "VALIDATION_ERROR")
    assert await listed_names(client, owner) == ["Kept"]


# Another organization's ids -----------------------------------------------------------------------------------------

FOREIGN_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PATCH", "", {"name": "Taken over", "credentials": {"token": "ntn_mine"}, "enabled": False}),
    ("POST", "/test", None),
    ("POST", "/sync", None),
    ("GET", "/syncs", None),
    ("DELETE", "", None),
]


async def test_another_organizations_integration_is_not_found_on_every_route(api: httpx.AsyncClient) -> None:
    """Run on the app with an OAuth app for Notion, so that reconnecting by OAuth is one of the routes tried."""
    owner, stranger = await register(api), await register(api)
    created = (await api.post(INTEGRATIONS, json=NOTION, headers=owner.headers)).json()

    answers = [
        await api.request(method, f"{INTEGRATIONS}/{created['id']}{path}", json=body, headers=stranger.headers)
        for method, path, body in FOREIGN_ROUTES
    ]
    answers.append(
        await api.post(
            f"{INTEGRATIONS}/oauth/notion/start",
            json={"integration_id": created["id"], "return_to": RETURN_URL},
            headers=stranger.headers,
        )
    )

    for answer in answers:
        error_of(answer, 404, "INTEGRATION_NOT_FOUND")
    fetched = await api.get(f"{INTEGRATIONS}/{created['id']}", headers=owner.headers)
    assert fetched.json()["name"] == "Notion"
    assert fetched.json()["updated_at"] == created["updated_at"]
    jobs = await api.get(
        "/api/v1/jobs", params={"kind": "sync_integration", "subject_id": created["id"]}, headers=owner.headers
    )
    assert jobs.json()["items"] == []


# Internal addresses under the strict outbound policy ----------------------------------------------------------------


async def refused_at_creation_or_sync(client: httpx.AsyncClient, owner: Account, body: dict[str, Any]) -> None:
    """The source is never reached: creation refuses it, or the sync it starts fails with OUTBOUND_URL_FORBIDDEN
    (creation accepts these today: see `test_creation_refuses_a_source_on_an_internal_address`)."""
    created = await client.post(INTEGRATIONS, json=body, headers=owner.headers)
    if created.status_code == 422:
        error_of(created, 422, "OUTBOUND_URL_FORBIDDEN")
        return
    assert created.status_code == 201, created.text
    integration = created.json()
    job = await wait_until_finished(client, owner, UUID(integration["sync_job_id"]), seconds=30)
    history = await last_sync(client, owner, integration["id"])
    checked = await client.post(f"{INTEGRATIONS}/{integration['id']}/test", headers=owner.headers)
    fetched = await client.get(f"{INTEGRATIONS}/{integration['id']}", headers=owner.headers)
    documents = await client.get("/api/v1/documents", headers=owner.headers)

    assert job["status"] == "failed"
    assert (history["status"], history["error_code"]) == ("failed", "OUTBOUND_URL_FORBIDDEN")
    assert (history["listed"], history["created"]) == (0, 0)
    assert fetched.json()["status"] == "failing"
    assert checked.json()["ok"] is False
    assert checked.json()["code"] == "OUTBOUND_URL_FORBIDDEN"
    assert documents.json()["items"] == []


@pytest.mark.parametrize(
    "start_url",
    [
        "http://127.0.0.1:{port}/",
        "http://localhost:{port}/",
        "http://2130706433:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[::1]:{port}/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_a_web_source_on_an_internal_address_is_never_fetched(
    client: httpx.AsyncClient, recorder: Recorder, start_url: str
) -> None:
    owner = await register(client)
    await refused_at_creation_or_sync(client, owner, web(start_url.format(port=recorder.port)))

    assert recorder.paths == []


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["93.184.216.34", "127.0.0.1"], ["::ffff:127.0.0.1"], ["169.254.169.254"]],
    ids=["loopback", "public-and-loopback", "mapped-loopback", "metadata"],
)
async def test_a_web_source_whose_name_resolves_inside_fails_its_sync_unfetched(
    client: httpx.AsyncClient, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, addresses: list[str]
) -> None:
    """A public-looking name cannot be refused when it is configured; the sync's connections are the wall."""
    system = outbound_policy.resolve_host

    async def resolve(host: str, resolved_port: int) -> list[str]:
        return addresses if host == "wiki.intranet-example.com" else await system(host, resolved_port)

    monkeypatch.setattr(outbound_policy, "resolve_host", resolve)
    owner = await register(client)
    start_url = f"http://wiki.intranet-example.com:{recorder.port}/"

    created = await client.post(INTEGRATIONS, json=web(start_url), headers=owner.headers)
    await wait_until_finished(client, owner, UUID(created.json()["sync_job_id"]), seconds=30)
    history = await last_sync(client, owner, created.json()["id"])

    assert (history["status"], history["error_code"]) == ("failed", "OUTBOUND_URL_FORBIDDEN")
    assert recorder.paths == []


@pytest.mark.parametrize(
    "site_url", ["https://10.0.0.7", "https://169.254.169.254", "https://127.0.0.1", "http://127.0.0.1:{port}"]
)
async def test_a_confluence_site_on_an_internal_address_is_never_called(
    client: httpx.AsyncClient, confluence_fake: FakeConfluence, site_url: str
) -> None:
    owner = await register(client)
    port = confluence_fake.base_url.rsplit(":", 1)[1]

    await refused_at_creation_or_sync(client, owner, confluence(site_url.format(port=port)))

    assert confluence_fake.calls == []


@pytest.mark.parametrize(
    "body",
    [
        web("http://127.0.0.1/"),
        web("http://[::1]/"),
        web("http://169.254.169.254/latest/meta-data/"),
        web("https://example.com/", sitemap_url="http://10.0.0.7/sitemap.xml"),
        confluence("https://10.0.0.7"),
    ],
    ids=["loopback", "ipv6-loopback", "metadata", "sitemap", "confluence"],
)
async def test_creation_refuses_a_source_on_an_internal_address(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    owner = await register(client)

    error_of(await client.post(INTEGRATIONS, json=body, headers=owner.headers), 422, "OUTBOUND_URL_FORBIDDEN")


# Floods -------------------------------------------------------------------------------------------------------------


async def test_a_hundred_creations_at_once_stop_at_the_servers_limit(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await register(client)
    limit = app.state.settings.integrations.max_per_org
    assert limit < 100

    answers = await asyncio.gather(
        *(
            client.post(INTEGRATIONS, json={**NOTION, "name": f"Notion {number}"}, headers=owner.headers)
            for number in range(100)
        )
    )

    created = [answer for answer in answers if answer.status_code == 201]
    refused = [answer for answer in answers if answer.status_code != 201]
    assert len(created) == limit
    for answer in refused:
        error_of(answer, 409, "TOO_MANY_INTEGRATIONS")
    assert sorted(await listed_names(client, owner)) == sorted(answer.json()["name"] for answer in created)


async def test_a_hundred_creations_of_one_name_at_once_make_one(client: httpx.AsyncClient) -> None:
    owner = await register(client)

    answers = await asyncio.gather(*(client.post(INTEGRATIONS, json=NOTION, headers=owner.headers) for _ in range(100)))

    assert [answer.status_code for answer in answers].count(201) == 1
    for answer in answers:
        if answer.status_code != 201:
            error_of(answer, 409, "INTEGRATION_NAME_TAKEN")
    assert await listed_names(client, owner) == ["Notion"]


async def test_a_hundred_syncs_at_once_start_one_job(api: httpx.AsyncClient, recorder: Recorder) -> None:
    """The sync's first request is held at the site until every answer is in, so the job is still running."""
    owner = await register(api)
    start_url = f"http://127.0.0.1:{recorder.port}/"
    created = await api.post(
        INTEGRATIONS,
        json={**web(start_url), "sync_now": False},
        headers=owner.headers,
    )
    integration_id = created.json()["id"]
    recorder.opened.clear()
    try:
        answers = await asyncio.gather(
            *(api.post(f"{INTEGRATIONS}/{integration_id}/sync", headers=owner.headers) for _ in range(100))
        )
    finally:
        recorder.opened.set()

    started = [answer.json()["job_id"] for answer in answers if answer.status_code == 202]
    assert len(started) == 1
    for answer in answers:
        if answer.status_code != 202:
            assert error_of(answer, 409, "INTEGRATION_SYNC_IN_PROGRESS")["details"]["job_id"] == started[0]
    finished = await wait_until_finished(api, owner, UUID(started[0]), seconds=30)
    jobs = await api.get(
        "/api/v1/jobs", params={"kind": "sync_integration", "subject_id": integration_id}, headers=owner.headers
    )
    assert finished["status"] == "succeeded"
    assert [job["id"] for job in jobs.json()["items"]] == started


# Credentials --------------------------------------------------------------------------------------------------------


async def test_credentials_never_come_back_in_any_answer_or_log(
    api: httpx.AsyncClient, confluence_fake: FakeConfluence, caplog: pytest.LogCaptureFixture
) -> None:
    """The right token, then a wrong one, through every route that shows an integration, its checks, syncs, jobs
    and refusals, and the notifications its refusal makes."""
    caplog.set_level(logging.DEBUG)
    confluence_fake.add_page(confluence_fake.add_space("ENG"), "Runbook", "<p>Restart with care.</p>")
    wrong = "ATATT-wrong-token-never-shown-8Rw1"

    def rekey(**credentials: Any) -> dict[str, Any]:
        return {"credentials": credentials}

    owner = await register(api)
    with capture_logs() as logs:
        created = await api.post(INTEGRATIONS, json=confluence(confluence_fake.base_url), headers=owner.headers)
        path, first_job = f"{INTEGRATIONS}/{created.json()['id']}", f"/api/v1/jobs/{created.json()['sync_job_id']}"
        await wait_until_finished(api, owner, UUID(created.json()["sync_job_id"]), seconds=60)
        answers = {
            "created": created,
            "first job": await api.get(first_job, headers=owner.headers),
            "list": await api.get(INTEGRATIONS, headers=owner.headers),
            "renamed": await api.patch(path, json={"name": "Engineering wiki"}, headers=owner.headers),
            "checked": await api.post(f"{path}/test", headers=owner.headers),
            "rekeyed": await api.patch(path, json=rekey(email=EMAIL, api_token=wrong), headers=owner.headers),
            "bad email": await api.patch(path, json=rekey(email=wrong, api_token=wrong), headers=owner.headers),
            "bad token": await api.patch(path, json=rekey(api_token=[wrong]), headers=owner.headers),
            "refused check": await api.post(f"{path}/test", headers=owner.headers),
            "sync": await api.post(f"{path}/sync", headers=owner.headers),
        }
        failed_job = f"/api/v1/jobs/{answers['sync'].json()['job_id']}"
        await wait_until_finished(api, owner, UUID(answers["sync"].json()["job_id"]), seconds=60)
        answers |= {
            "failed job": await api.get(failed_job, headers=owner.headers),
            "syncs": await api.get(f"{path}/syncs", headers=owner.headers),
            "needs reauth": await api.get(path, headers=owner.headers),
            "sync refused": await api.post(f"{path}/sync", headers=owner.headers),
            "feed": await api.get("/api/v1/feed", headers=owner.headers),
            "inbox": await api.get("/api/v1/inbox", headers=owner.headers),
        }

    assert answers["checked"].json()["ok"] is True
    assert answers["refused check"].json()["code"] == "INTEGRATION_CREDENTIALS_REJECTED"
    error_of(answers["bad email"], 422, "INTEGRATION_CONFIG_INVALID")
    error_of(answers["bad token"], 422, "INTEGRATION_CONFIG_INVALID")
    assert answers["needs reauth"].json()["status"] == "needs_reauth"
    error_of(answers["sync refused"], 409, "INTEGRATION_NEEDS_REAUTH")
    basic = base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    for text in [*(answer.text for answer in answers.values()), *(str(event) for event in logs), caplog.text]:
        assert API_TOKEN not in text
        assert wrong not in text
        assert basic not in text


@pytest.mark.parametrize("token", ["ntn_secret\r\nX-Injected: yes", "ntn_secret\nmore"], ids=["crlf", "lf"])
async def test_credentials_no_header_can_carry_are_refused(client: httpx.AsyncClient, token: str) -> None:
    owner = await register(client)

    created = await client.post(INTEGRATIONS, json={**NOTION, "credentials": {"token": token}}, headers=owner.headers)

    error = error_of(created, 422, "INTEGRATION_CONFIG_INVALID")
    assert "credentials.token" in [each["field"] for each in error["details"]["errors"]]
