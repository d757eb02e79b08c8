"""An app that enforces small plans, on a database of the module's own (its imports run jobs), and helpers that set
what an organization holds or used."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import DocumentTally, Role, UsageEvent
from folio.plans import service as plans
from folio.settings import PlanSettings
from tests.apps import serve
from tests.factories import Account, register

PLAN = "/api/v1/plan"
LIMITS = {
    "free": {"documents": 3, "storage_bytes": 10_000, "monthly_tokens": 100, "members": 2, "integrations": 1},
    "small_storage": {"storage_bytes": 50},
    "one_document": {"documents": 1},
    "unlimited": {},
}


@dataclass
class Enforcing:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def plans(self) -> PlanSettings:
        settings: PlanSettings = self.app.state.settings.plans
        return settings

    def session(self) -> AsyncSession:
        session: AsyncSession = self.app.state.sessionmaker()
        return session


@pytest.fixture(scope="module")
async def enforcing(separate_database_url: str) -> AsyncIterator[Enforcing]:
    """Import blocks of two rows, so that a batch's later blocks see what its earlier ones added."""
    async with serve(
        separate_database_url,
        plans={"enforce": True, "default": "free", "limits": LIMITS},
        records={"import_rows": 2},
    ) as (app, client):
        yield Enforcing(app, client)


async def owner(enforcing: Enforcing, plan: str = "free") -> Account:
    account = await register(enforcing.client)
    async with enforcing.session() as session, session.begin():
        await plans.set_plan(session, org_id=account.org_id, plan=plan)
    return account


def principal_of(account: Account, org_id: UUID | None = None) -> Principal:
    return Principal.for_member(org_id=org_id or account.org_id, user_id=account.user_id, role=Role.OWNER)


async def holding(enforcing: Enforcing, org_id: UUID, *, documents: int, size_bytes: int) -> None:
    """The organization holds that much more: a row of the tallies the triggers keep."""
    async with enforcing.session() as session, session.begin():
        session.add(
            DocumentTally(
                org_id=org_id, unit_id=None, kind="pdf", status="ready", documents=documents, chunks=0, bytes=size_bytes
            )
        )


async def spent(enforcing: Enforcing, org_id: UUID, tokens: int) -> None:
    async with enforcing.session() as session, session.begin():
        session.add(
            UsageEvent(org_id=org_id, kind="answer", model="fake-chat", prompt_tokens=tokens, completion_tokens=0)
        )


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's database is its own, and every test makes organizations of its own."""
