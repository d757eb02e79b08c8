"""Public links: read-only, expiring, revocable, optionally password-protected, every visit logged, and a link
shows its item and nothing else."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select

from folio.models import ShareLink
from folio.shares.links import service
from tests.conftest import AppFactory
from tests.factories import Account, create_api_key, error_of, wait_until_finished
from tests.shares.conftest import LINKS, PUBLIC, REPORT, World, member

LINK_KEYS = {
    "id",
    "item_type",
    "item_id",
    "created_by",
    "status",
    "expires_at",
    "revoked_at",
    "password_protected",
    "locked_until",
    "created_at",
}
PASSWORD = "a long link passphrase"


class Clock:
    """The links' clock, moved by the test instead of waiting."""

    def __init__(self) -> None:
        self.current = service.now()

    def __call__(self) -> datetime:
        return self.current

    def set(self, instant: datetime) -> None:
        self.current = instant


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(service, "now", frozen)
    return frozen


async def create_link(
    world: World, item_type: str = "document", /, by: Account | None = None, **fields: Any
) -> dict[str, Any]:
    response = await post_link(world, item_type, by=by, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def post_link(world: World, item_type: str, /, by: Account | None = None, **fields: Any) -> httpx.Response:
    item_id = world.document_id if item_type == "document" else world.summary_id
    body = {"item_type": item_type, "item_id": str(item_id), **fields}
    return await world.client.post(LINKS, json=body, headers=(by or world.owner).headers)


async def visit(world: World, token: str, password: str | None = None, *, file: bool = False) -> httpx.Response:
    headers = {"User-Agent": "link-test/1.0"} | ({"X-Share-Password": password} if password is not None else {})
    return await world.client.get(f"{PUBLIC}/{token}{'/file' if file else ''}", headers=headers)


async def accesses(world: World, link_id: str, account: Account | None = None) -> list[dict[str, Any]]:
    response = await world.client.get(f"{LINKS}/{link_id}/accesses", headers=(account or world.owner).headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def without_request_id(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return {key: value for key, value in error.items() if key != "request_id"}


# --- the happy paths --------------------------------------------------------------------------------------------


async def test_a_document_link_shows_the_document_and_nothing_more(world: World) -> None:
    link = await create_link(world, "document")

    assert set(link) == LINK_KEYS | {"token", "url"}
    assert link["token"].startswith("fsl_")
    assert link["url"] == f"http://testserver{PUBLIC}/{link['token']}"
    assert (link["status"], link["password_protected"], link["item_id"]) == ("live", False, str(world.document_id))
    response = await visit(world, link["token"])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "type": "document",
        "title": "report.txt",
        "filename": "report.txt",
        "content_type": "text/plain",
        "text": response.json()["text"],
    }
    assert "42 gigawatt hours" in response.json()["text"]
    for secret in (world.owner.org_id, world.owner.user_id, world.document_id, link["id"]):
        assert str(secret) not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_a_document_link_downloads_the_original_file(world: World) -> None:
    link = await create_link(world, "document")

    response = await visit(world, link["token"], file=True)

    assert response.status_code == 200, response.text
    assert response.content == REPORT.text.encode()
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"
    assert [(item["outcome"], item["download"]) for item in await accesses(world, link["id"])] == [("ok", True)]


async def test_a_summary_link_shows_the_summary_and_its_documents_title(world: World) -> None:
    summary = (await world.client.get(f"/api/v1/summaries/{world.summary_id}", headers=world.owner.headers)).json()
    link = await create_link(world, "summary")

    response = await visit(world, link["token"])

    assert response.status_code == 200, response.text
    assert response.json() == {
        "type": "summary",
        "document_title": "report.txt",
        "text": summary["text"],
        "format": summary["format"],
    }
    error_of(await visit(world, link["token"], file=True), 404, "SHARE_LINK_NOT_FOUND")
    assert [item["outcome"] for item in await accesses(world, link["id"])] == ["unavailable", "ok"]


async def test_the_token_is_stored_only_as_a_digest_and_shown_once(world: World) -> None:
    link = await create_link(world, "document", password=PASSWORD)

    listed = await world.client.get(LINKS, headers=world.owner.headers)

    assert [set(item) for item in listed.json()["items"]] == [LINK_KEYS]
    assert link["token"] not in listed.text
    async with world.app.state.sessionmaker() as session:
        row = await session.scalar(select(ShareLink).where(ShareLink.id == UUID(link["id"])))
    assert row is not None
    assert row.token_digest != link["token"]
    assert row.password_hash is not None
    assert row.password_hash.startswith("$argon2")


# --- expiry and revocation --------------------------------------------------------------------------------------


async def test_a_link_expires_to_the_minute(world: World, clock: Clock) -> None:
    link = await create_link(world, "document", expires_in_days=2)
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert expires_at == clock.current + timedelta(days=2)

    clock.set(expires_at - timedelta(minutes=1))
    assert (await visit(world, link["token"])).status_code == 200
    clock.set(expires_at)
    expired = await visit(world, link["token"])

    assert without_request_id(expired) == without_request_id(await visit(world, "fsl_" + "x" * 43))
    error_of(expired, 404, "SHARE_LINK_NOT_FOUND")
    listed = (await world.client.get(LINKS, headers=world.owner.headers)).json()["items"]
    assert [item["status"] for item in listed] == ["expired"]
    assert [item["outcome"] for item in await accesses(world, link["id"])] == ["expired", "ok"]


async def test_an_explicit_expiry_is_kept(world: World, clock: Clock) -> None:
    at = (clock.current + timedelta(hours=5)).replace(microsecond=0)

    link = await create_link(world, "summary", expires_at=at.isoformat())

    assert datetime.fromisoformat(link["expires_at"]) == at
    clock.set(at + timedelta(minutes=1))
    error_of(await visit(world, link["token"]), 404, "SHARE_LINK_NOT_FOUND")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"expires_in_days": 0}, "VALIDATION_ERROR"),
        ({"expires_in_days": 91}, "VALIDATION_ERROR"),
        ({"expires_in_days": 1, "expires_at": "2030-01-01T00:00:00Z"}, "VALIDATION_ERROR"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "EXPIRES_AT_IN_PAST"),
        ({"expires_at": "2020-01-01T00:00:00"}, "VALIDATION_ERROR"),
        ({"password": "password123"}, "WEAK_PASSWORD"),
        ({"password": "x" * 129}, "VALIDATION_ERROR"),
        ({"password": "nul\x00 in a long passphrase"}, "VALIDATION_ERROR"),
        ({"item_type": "case"}, "VALIDATION_ERROR"),
    ],
)
async def test_expiry_and_password_are_bounded(world: World, fields: dict[str, Any], code: str) -> None:
    error_of(await post_link(world, "document", **fields), 422, code)


async def test_an_expiry_beyond_ninety_days_is_refused(world: World, clock: Clock) -> None:
    too_far = clock.current + timedelta(days=90, minutes=1)
    error_of(await post_link(world, "document", expires_at=too_far.isoformat()), 422, "VALIDATION_ERROR")


async def test_a_revoked_link_dies(world: World) -> None:
    link = await create_link(world, "document")
    assert (await visit(world, link["token"])).status_code == 200

    revoked = await world.client.delete(f"{LINKS}/{link['id']}", headers=world.owner.headers)

    assert revoked.status_code == 204, revoked.text
    error_of(await visit(world, link["token"]), 404, "SHARE_LINK_NOT_FOUND")
    error_of(await visit(world, link["token"], file=True), 404, "SHARE_LINK_NOT_FOUND")
    assert (await world.client.delete(f"{LINKS}/{link['id']}", headers=world.owner.headers)).status_code == 204
    listed = (await world.client.get(LINKS, headers=world.owner.headers)).json()["items"]
    assert [item["status"] for item in listed] == ["revoked"]
    assert [item["outcome"] for item in await accesses(world, link["id"])] == ["revoked", "revoked", "ok"]


async def test_deleting_the_document_deletes_its_links(world: World) -> None:
    uploaded = await world.client.post(
        "/api/v1/documents",
        files=[("files", ("brief.txt", b"A short brief about the harbour extension.", "text/plain"))],
        headers=world.owner.headers,
    )
    item = uploaded.json()["items"][0]
    job = await wait_until_finished(world.client, world.owner, UUID(item["job_id"]), seconds=60)
    assert job["status"] == "succeeded", job
    body = {"item_type": "document", "item_id": item["document"]["id"]}
    link = (await world.client.post(LINKS, json=body, headers=world.owner.headers)).json()
    assert (await visit(world, link["token"])).status_code == 200

    deleted = await world.client.delete(f"/api/v1/documents/{item['document']['id']}", headers=world.owner.headers)

    assert deleted.status_code == 204
    error_of(await visit(world, link["token"]), 404, "SHARE_LINK_NOT_FOUND")
    assert (await world.client.get(LINKS, headers=world.owner.headers)).json()["items"] == []


async def test_a_link_dies_with_its_makers_membership(world: World) -> None:
    leaver = await member(world.client, world.owner, "editor", "Lee Leaver")
    link = await create_link(world, "document", by=leaver)
    assert (await visit(world, link["token"])).status_code == 200

    removed = await world.client.delete(
        f"/api/v1/orgs/{world.owner.org_id}/members/{leaver.user_id}", headers=world.owner.headers
    )

    assert removed.status_code == 204, removed.text
    error_of(await visit(world, link["token"]), 404, "SHARE_LINK_NOT_FOUND")
    assert [item["outcome"] for item in await accesses(world, link["id"])] == ["unavailable", "ok"]


# --- passwords ----------------------------------------------------------------------------------------------------


async def test_a_password_is_asked_for_checked_and_accepted(world: World) -> None:
    link = await create_link(world, "summary", password=PASSWORD)
    assert link["password_protected"] is True

    missing = await visit(world, link["token"])
    error_of(missing, 401, "SHARE_LINK_PASSWORD_REQUIRED")
    assert missing.headers["www-authenticate"].startswith("SharePassword")
    wrong = await visit(world, link["token"], "not the passphrase")
    error_of(wrong, 404, "SHARE_LINK_NOT_FOUND")
    assert without_request_id(wrong) == without_request_id(await visit(world, link["token"] + "x", PASSWORD))
    error_of(await visit(world, link["token"], "y" * 129), 422, "VALIDATION_ERROR")
    right = await visit(world, link["token"], PASSWORD)
    assert right.status_code == 200, right.text
    assert right.json()["type"] == "summary"

    outcomes = [item["outcome"] for item in await accesses(world, link["id"])]
    assert outcomes == ["ok", "wrong_password", "needs_password"]


async def test_wrong_passwords_lock_the_link_for_a_while(world: World, clock: Clock) -> None:
    link = await create_link(world, "document", password=PASSWORD)
    for _ in range(service.MAX_PASSWORD_ATTEMPTS):
        error_of(await visit(world, link["token"], "a wrong guess"), 404, "SHARE_LINK_NOT_FOUND")

    locked = await visit(world, link["token"], PASSWORD)

    error_of(locked, 429, "SHARE_LINK_LOCKED")
    assert int(locked.headers["retry-after"]) == service.LOCK_DURATION.total_seconds()
    clock.set(clock.current + service.LOCK_DURATION - timedelta(seconds=1))
    error_of(await visit(world, link["token"], PASSWORD), 429, "SHARE_LINK_LOCKED")
    clock.set(clock.current + timedelta(seconds=2))
    assert (await visit(world, link["token"], PASSWORD)).status_code == 200
    # A right password starts the count again.
    for _ in range(service.MAX_PASSWORD_ATTEMPTS):
        error_of(await visit(world, link["token"], "a wrong guess"), 404, "SHARE_LINK_NOT_FOUND")
    assert (await visit(world, link["token"], PASSWORD)).status_code == 429


async def test_guesses_sent_at_once_are_counted_before_they_are_checked(world: World) -> None:
    link = await create_link(world, "document", password=PASSWORD)

    guesses = await asyncio.gather(*(visit(world, link["token"], f"guess number {n}") for n in range(20)))

    statuses = sorted(guess.status_code for guess in guesses)
    assert statuses == [404] * service.MAX_PASSWORD_ATTEMPTS + [429] * (20 - service.MAX_PASSWORD_ATTEMPTS)
    error_of(await visit(world, link["token"], PASSWORD), 429, "SHARE_LINK_LOCKED")


async def test_what_cannot_be_a_token_is_refused_before_it_is_looked_up(world: World) -> None:
    for token in ("x" * 5000, "fsl_" + "x" * 61, "fsl_%20x", "fsl_x%00"):
        error_of(await visit(world, token), 422, "VALIDATION_ERROR")
    error_of(await visit(world, "fsl_" + "x" * 60), 404, "SHARE_LINK_NOT_FOUND")


# --- the access log -----------------------------------------------------------------------------------------------


async def test_each_visit_is_logged_and_the_log_is_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_ACCESSES_PER_LINK", 3)
    link = await create_link(world, "document")
    for _ in range(5):
        assert (await visit(world, link["token"])).status_code == 200

    logged = await accesses(world, link["id"])

    assert len(logged) == 3
    assert {key for item in logged for key in item} == {"id", "outcome", "download", "ip", "user_agent", "created_at"}
    assert {(item["outcome"], item["ip"], item["user_agent"]) for item in logged} == {
        ("ok", "127.0.0.1", "link-test/1.0")
    }
    error_of(
        await world.client.get(f"{LINKS}/{link['id']}/accesses", headers=world.outsider.headers),
        404,
        "SHARE_LINK_NOT_FOUND",
    )


# --- who manages links ----------------------------------------------------------------------------------------------


async def test_members_manage_their_own_links_and_admins_every_link(world: World) -> None:
    mine = await create_link(world, "document", by=world.viewer)
    owners = await create_link(world, "summary")

    listed = await world.client.get(LINKS, headers=world.viewer.headers)
    assert [item["id"] for item in listed.json()["items"]] == [mine["id"]]
    error_of(
        await world.client.delete(f"{LINKS}/{owners['id']}", headers=world.viewer.headers), 404, "SHARE_LINK_NOT_FOUND"
    )
    error_of(
        await world.client.delete(f"{LINKS}/{owners['id']}", headers=world.outsider.headers),
        404,
        "SHARE_LINK_NOT_FOUND",
    )
    everything = await world.client.get(LINKS, headers=world.owner.headers)
    assert {item["id"] for item in everything.json()["items"]} == {mine["id"], owners["id"]}
    assert (await world.client.delete(f"{LINKS}/{mine['id']}", headers=world.owner.headers)).status_code == 204
    assert (await world.client.get(LINKS, headers=world.outsider.headers)).json()["items"] == []


async def test_only_readable_documents_and_summaries_are_published(world: World) -> None:
    for item_id in (world.outsider_document_id, uuid4()):
        body = {"item_type": "document", "item_id": str(item_id)}
        error_of(await world.client.post(LINKS, json=body, headers=world.owner.headers), 404, "SHARE_ITEM_NOT_FOUND")
    unknown_summary = {"item_type": "summary", "item_id": str(uuid4())}
    error_of(
        await world.client.post(LINKS, json=unknown_summary, headers=world.owner.headers), 404, "SHARE_ITEM_NOT_FOUND"
    )
    case = {"item_type": "document", "item_id": str(world.case_id)}
    error_of(await world.client.post(LINKS, json=case, headers=world.owner.headers), 422, "SHARE_LINK_NOT_ALLOWED")


async def test_an_api_key_needs_the_shares_scope(world: World) -> None:
    reader = await create_api_key(world.client, world.owner, scopes=["documents:read"])
    publisher = await create_api_key(world.client, world.owner, scopes=["documents:read", "shares"])
    body = {"item_type": "document", "item_id": str(world.document_id)}

    error_of(await world.client.post(LINKS, json=body, headers={"X-API-Key": reader["secret"]}), 403, "FORBIDDEN")
    created = await world.client.post(LINKS, json=body, headers={"X-API-Key": publisher["secret"]})
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == str(world.owner.user_id)


async def test_live_links_are_bounded_per_organization(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_LIVE_LINKS", 2)
    first = await create_link(world, "document")
    await create_link(world, "summary")

    error_of(await post_link(world, "document"), 409, "TOO_MANY_SHARE_LINKS")
    await world.client.delete(f"{LINKS}/{first['id']}", headers=world.owner.headers)
    assert (await post_link(world, "document")).status_code == 201


async def test_dead_links_beyond_the_kept_number_are_pruned(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "KEPT_DEAD_LINKS", 1)
    for _ in range(3):
        link = await create_link(world, "document")
        await world.client.delete(f"{LINKS}/{link['id']}", headers=world.owner.headers)

    await create_link(world, "document")

    statuses = [item["status"] for item in (await world.client.get(LINKS, headers=world.owner.headers)).json()["items"]]
    assert statuses == ["revoked", "live"]


# --- guessing ---------------------------------------------------------------------------------------------------


async def test_guessing_is_rate_limited_per_address(world: World, app_factory: AppFactory) -> None:
    link = await create_link(world, "document")
    async with app_factory(rate_limit={"enabled": True, "anonymous": "3/hour"}) as limited:
        for _ in range(3):
            guess = await limited.get(f"{PUBLIC}/fsl_{uuid4().hex}")
            error_of(guess, 404, "SHARE_LINK_NOT_FOUND")

        refused = await limited.get(f"{PUBLIC}/{link['token']}")

    error_of(refused, 429, "RATE_LIMIT_EXCEEDED")
    assert json.loads(refused.text)["error"]["details"]["retry_after"] > 0
