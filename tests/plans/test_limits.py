"""Each plan limit at the boundary where the limited thing grows: one more than the plan allows is refused with
`PLAN_LIMIT_REACHED` and the figures in `details`, exactly the limit is accepted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import update

from folio.documents.multipart import UploadedFile
from folio.documents.service import Created, DocumentFields, create_documents
from folio.documents.storage import Storage, save
from folio.models import Invitation, Role
from folio.orgs import service as orgs
from folio.plans import service as plans
from folio.plans.errors import PlanLimitReached
from folio.settings import PlanSettings
from folio.usage.errors import BudgetExceeded
from folio.usage.service import Meter
from tests.factories import Account, error_of, register
from tests.orgs.membership import invite
from tests.plans.conftest import Enforcing, holding, owner, principal_of, spent
from tests.records.conftest import csv_bytes, errors_of, import_batch


def refusal(error: PlanLimitReached) -> dict[str, Any]:
    assert (error.status_code, error.code) == (402, "PLAN_LIMIT_REACHED")
    return error.details


async def one_chunk(content: bytes) -> AsyncIterator[bytes]:
    yield content


async def upload(
    enforcing: Enforcing, account: Account, *contents: bytes, plans: PlanSettings | None = None
) -> list[Created]:
    """Upload through the service, rolled back: what it would create, or its refusal."""
    storage: Storage = enforcing.app.state.storage
    files = [
        UploadedFile(f"file{number}.txt", await save(storage, one_chunk(content), max_bytes=1 << 20))
        for number, content in enumerate(contents)
    ]
    async with enforcing.session() as session:
        return await create_documents(
            session,
            principal=principal_of(account),
            storage=storage,
            files=files,
            fields=DocumentFields(None, [], {}),
            allow_duplicate=False,
            max_attempts=1,
            plans=enforcing.plans if plans is None else plans,
        )


async def test_uploads_stop_at_the_plans_documents(enforcing: Enforcing) -> None:
    account = await owner(enforcing)
    await holding(enforcing, account.org_id, documents=1, size_bytes=100)

    assert len(await upload(enforcing, account, b"first new", b"second new")) == 2
    with pytest.raises(PlanLimitReached) as refused:
        await upload(enforcing, account, b"one", b"two", b"three")
    assert refusal(refused.value) == {"limit": "documents", "plan": "free", "allowed": 3, "used": 1, "adding": 3}


async def test_a_file_the_organization_has_adds_no_document(enforcing: Enforcing) -> None:
    account = await owner(enforcing)
    storage: Storage = enforcing.app.state.storage
    async with enforcing.session() as session, session.begin():
        await create_documents(
            session,
            principal=principal_of(account),
            storage=storage,
            files=[UploadedFile("kept.txt", await save(storage, one_chunk(b"kept already"), max_bytes=1 << 20))],
            fields=DocumentFields(None, [], {}),
            allow_duplicate=False,
            max_attempts=1,
            plans=enforcing.plans,
        )
    await holding(enforcing, account.org_id, documents=1, size_bytes=0)

    # Two documents held: content the organization has adds nothing, and one content sent twice adds one.
    created = await upload(enforcing, account, b"kept already", b"new", b"new")
    assert [item.deduplicated for item in created] == [True, False, True]
    await holding(enforcing, account.org_id, documents=1, size_bytes=0)
    with pytest.raises(PlanLimitReached) as refused:
        await upload(enforcing, account, b"kept already", b"new")
    assert refusal(refused.value) == {"limit": "documents", "plan": "free", "allowed": 3, "used": 3, "adding": 1}


async def test_uploads_stop_at_the_plans_storage_bytes(enforcing: Enforcing) -> None:
    account = await owner(enforcing)
    await holding(enforcing, account.org_id, documents=0, size_bytes=10_000 - 10)

    assert len(await upload(enforcing, account, b"0123456789")) == 1
    with pytest.raises(PlanLimitReached) as refused:
        await upload(enforcing, account, b"0123456789A")
    assert refusal(refused.value) == {
        "limit": "storage_bytes",
        "plan": "free",
        "allowed": 10_000,
        "used": 9_990,
        "adding": 11,
    }


async def test_an_import_makes_the_rows_past_the_plans_documents_row_errors(enforcing: Enforcing) -> None:
    account = await owner(enforcing)
    lines = ["id,text", "A,first case", "B,second case", "A,first case again", "C,third case", "D,fourth", "E,fifth"]
    batch = await import_batch(
        enforcing.client, account, csv_bytes(*lines), {"text": "text", "external_id": "id"}, enrich="false"
    )
    assert (batch["rows_created"], batch["rows_failed"]) == (3, 2)
    assert errors_of(batch) == [(6, "PLAN_LIMIT_REACHED"), (7, "PLAN_LIMIT_REACHED")]
    assert "free plan allows 3 documents" in batch["errors"]["items"][0]["message"]

    # A known case is updated: it adds no document.
    again = await import_batch(
        enforcing.client,
        account,
        csv_bytes("id,text", "B,second case edited", "F,sixth"),
        {"text": "text", "external_id": "id"},
        enrich="false",
    )
    assert (again["rows_updated"], again["rows_failed"]) == (1, 1)


async def test_an_import_makes_the_rows_past_the_plans_storage_row_errors(enforcing: Enforcing) -> None:
    account = await owner(enforcing, "small_storage")
    # 20 + 20 bytes fit; 20 more would make 60, over 50; the last 10 make exactly 50.
    rows = ["x" * 20, "y" * 20, "z" * 20, "w" * 10]
    batch = await import_batch(enforcing.client, account, csv_bytes("text", *rows), {"text": "text"}, enrich="false")
    assert (batch["rows_created"], batch["rows_failed"]) == (3, 1)
    assert errors_of(batch) == [(4, "PLAN_LIMIT_REACHED")]
    plan = await enforcing.client.get("/api/v1/plan", headers=account.headers)
    assert plan.json()["storage_bytes"] == {"allowed": 50, "used": 50, "remaining": 0}


async def test_an_import_admits_a_new_case_once_whatever_its_rows_in_a_block(enforcing: Enforcing) -> None:
    account = await owner(enforcing, "one_document")
    lines = ["id,text", "X,first text", "X,second text", "Y,refused", "Y,refused again"]
    batch = await import_batch(
        enforcing.client, account, csv_bytes(*lines), {"text": "text", "external_id": "id"}, enrich="false"
    )
    assert (batch["rows_created"], batch["rows_updated"], batch["rows_failed"]) == (1, 1, 2)
    assert errors_of(batch) == [(4, "PLAN_LIMIT_REACHED"), (5, "PLAN_LIMIT_REACHED")]


async def test_invitations_count_against_the_plans_members(enforcing: Enforcing) -> None:
    account = await owner(enforcing)
    principal = principal_of(account)
    # An invitation that expired holds no place.
    lapsed = await invite(enforcing.client, account, "lapsed@example.com", "viewer")
    async with enforcing.session() as session, session.begin():
        await session.execute(
            update(Invitation).where(Invitation.id == UUID(lapsed["id"])).values(expires_at=datetime.now(UTC))
        )
    async with enforcing.session() as session, session.begin():
        await orgs.invite(
            session, principal=principal, email="second@example.com", role=Role.VIEWER, plans=enforcing.plans
        )
    async with enforcing.session() as session:
        with pytest.raises(PlanLimitReached) as refused:
            await orgs.invite(
                session, principal=principal, email="third@example.com", role=Role.VIEWER, plans=enforcing.plans
            )
        # Inviting the same address again refreshes its invitation: no one more. An expired one comes back as new.
        await orgs.invite(
            session, principal=principal, email="second@example.com", role=Role.ADMIN, plans=enforcing.plans
        )
        with pytest.raises(PlanLimitReached):
            await orgs.invite(
                session, principal=principal, email="lapsed@example.com", role=Role.VIEWER, plans=enforcing.plans
            )
    assert refusal(refused.value) == {"limit": "members", "plan": "free", "allowed": 2, "used": 2, "adding": 1}


async def test_joining_is_refused_when_the_members_fill_the_plan(enforcing: Enforcing) -> None:
    account = await owner(enforcing, "unlimited")
    first, second = await register(enforcing.client), await register(enforcing.client)
    one = await invite(enforcing.client, account, first.email, "viewer")
    other = await invite(enforcing.client, account, second.email, "viewer")
    async with enforcing.session() as session, session.begin():
        await plans.set_plan(session, org_id=account.org_id, plan="free")

    async with enforcing.session() as session, session.begin():
        await orgs.accept_invitation(
            session, principal=principal_of(first), invitation_id=UUID(one["id"]), plans=enforcing.plans
        )
    async with enforcing.session() as session:
        with pytest.raises(PlanLimitReached) as refused:
            await orgs.accept_invitation(
                session, principal=principal_of(second), invitation_id=UUID(other["id"]), plans=enforcing.plans
            )
    assert refusal(refused.value) == {"limit": "members", "plan": "free", "allowed": 2, "used": 2, "adding": 1}


async def test_model_calls_stop_at_the_plans_monthly_tokens(enforcing: Enforcing) -> None:
    account = await owner(enforcing)
    meter: Meter = enforcing.app.state.usage
    await spent(enforcing, account.org_id, 99)
    await meter.check_budget(principal_of(account))

    await spent(enforcing, account.org_id, 1)
    with pytest.raises(PlanLimitReached) as refused:
        await meter.check_budget(principal_of(account))
    assert refusal(refused.value) == {"limit": "monthly_tokens", "plan": "free", "allowed": 100, "used": 100}


async def test_the_smaller_of_the_budget_and_the_plan_stops_model_calls(enforcing: Enforcing) -> None:
    account = await owner(enforcing)
    meter: Meter = enforcing.app.state.usage
    await spent(enforcing, account.org_id, 50)
    budget = await enforcing.client.put("/api/v1/usage/budget", json={"monthly_tokens": 50}, headers=account.headers)
    assert budget.status_code == 200, budget.text
    with pytest.raises(BudgetExceeded):
        await meter.check_budget(principal_of(account))

    # Over both: raising the budget would not help, so the plan is named.
    await spent(enforcing, account.org_id, 50)
    with pytest.raises(PlanLimitReached):
        await meter.check_budget(principal_of(account))


async def test_a_plan_no_longer_configured_holds_the_organization_to_the_default(enforcing: Enforcing) -> None:
    account = await owner(enforcing, "retired")
    await holding(enforcing, account.org_id, documents=3, size_bytes=0)
    async with enforcing.session() as session:
        with pytest.raises(PlanLimitReached) as refused:
            await plans.check_can_add_documents(
                session, plans=enforcing.plans, org_id=account.org_id, documents=1, size_bytes=1
            )
    assert refusal(refused.value)["plan"] == "free"


async def test_nothing_is_enforced_with_enforcement_off(enforcing: Enforcing) -> None:
    off = enforcing.plans.model_copy(update={"enforce": False})
    account = await owner(enforcing)
    await holding(enforcing, account.org_id, documents=3, size_bytes=10_000)
    await spent(enforcing, account.org_id, 1_000)
    principal = principal_of(account)

    assert len(await upload(enforcing, account, b"past every limit", plans=off)) == 1
    async with enforcing.session() as session:
        await orgs.invite(session, principal=principal, email="a@example.com", role=Role.VIEWER, plans=off)
        await orgs.invite(session, principal=principal, email="b@example.com", role=Role.VIEWER, plans=off)
        await plans.check_monthly_tokens(session, plans=off, org_id=account.org_id, used=1_000)
        await plans.check_can_add_documents(session, plans=off, org_id=account.org_id, documents=1, size_bytes=1)
        assert await plans.room_for_documents(session, plans=off, org_id=account.org_id) is None


async def test_the_upload_route_holds_to_the_plan(enforcing: Enforcing) -> None:
    account = await owner(enforcing, "one_document")
    files = [("files", ("a.txt", b"first file", "text/plain")), ("files", ("b.txt", b"second file", "text/plain"))]
    response = await enforcing.client.post("/api/v1/documents", files=files, headers=account.headers)
    error = error_of(response, 402, "PLAN_LIMIT_REACHED")
    assert error["details"] == {"limit": "documents", "plan": "one_document", "allowed": 1, "used": 0, "adding": 2}
    one = await enforcing.client.post("/api/v1/documents", files=files[:1], headers=account.headers)
    assert one.status_code == 202, one.text


def test_an_organization_without_a_plan_of_its_own_is_on_the_deployments_default() -> None:
    settings = PlanSettings(default="team")
    assert plans.plan_named(settings, None).name == "team"
    assert plans.plan_named(settings, "free").name == "free"
    # A plan no longer configured falls back to the default too.
    assert plans.plan_named(settings, "gold").name == "team"


async def test_the_invitation_route_holds_to_the_plan(enforcing: Enforcing) -> None:
    account = await owner(enforcing)  # free: two members, the owner one of them
    route = f"/api/v1/orgs/{account.org_id}/invitations"
    first = await enforcing.client.post(
        route, json={"email": "first@example.com", "role": "viewer"}, headers=account.headers
    )
    assert first.status_code == 202, first.text
    second = await enforcing.client.post(
        route, json={"email": "second@example.com", "role": "viewer"}, headers=account.headers
    )
    assert error_of(second, 402, "PLAN_LIMIT_REACHED")["details"]["limit"] == "members"
