"""Helpers for the alert tests: rules through the API, members limited to units, cases written straight into the
database (fields, labels, times) for evaluations run at a chosen time, and reading alerts back."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from folio.alerts import evaluation
from folio.db import new_id
from folio.enrichment.triage import TRIAGE_SCHEMA_ID
from folio.ingestion.extracted import FileKind
from folio.models import (
    Alert,
    AlertMatch,
    CasePriority,
    Document,
    DocumentStatus,
    Enrichment,
    EnrichmentStatus,
    Event,
    Notification,
    Record,
)
from tests.cases.conftest import make_unit
from tests.factories import Account, add_member, register

RULES = "/api/v1/alerts/rules"
ALERTS = "/api/v1/alerts"
_numbers = itertools.count(1)

__all__ = ["ALERTS", "RULES", "make_unit"]


@pytest.fixture
def held_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Evaluations' clock held at the test's start, so that a test's steps share one throttle window even when it
    runs across the end of one (windows are whole hours by default)."""
    still = datetime.now(UTC)
    monkeypatch.setattr(evaluation, "clock", lambda: still)
    return still


def condition_rule(condition: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "A condition", "definition": {"kind": "condition", "condition": condition}, **fields}


def search_rule(query: str, **definition: Any) -> dict[str, Any]:
    return {"name": "A saved search", "definition": {"kind": "search", "query": query, **definition}}


def spike_rule(group_by: str, **definition: Any) -> dict[str, Any]:
    return {"name": "A spike", "definition": {"kind": "spike", "group_by": group_by, **definition}}


async def create_rule(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(RULES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()
    return rule


async def alerts_of(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every alert the member may see (newest first), following the cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        response = await client.get(ALERTS, params=params | ({"cursor": cursor} if cursor else {}), headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        if (cursor := response.json()["next_cursor"]) is None:
            return items


async def alert_detail(client: httpx.AsyncClient, headers: dict[str, str], alert_id: str) -> dict[str, Any]:
    response = await client.get(f"{ALERTS}/{alert_id}", params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def member(client: httpx.AsyncClient, owner: Account, role: str) -> Account:
    """A new member of the owner's organization with `role` (who acts in it with `in_org(owner.org_id)`)."""
    account = await register(client)
    await add_member(client, owner, account, role)
    return account


@dataclass
class Case:
    """A case to write straight into the database: its fields, and its labels when it has been enriched."""

    unit_id: UUID | None = None
    occurred_at: datetime | None = None
    priority: CasePriority = CasePriority.NORMAL
    due_at: datetime | None = None
    labels: dict[str, Any] | None = None
    title: str = "A case"
    id: UUID = field(default_factory=new_id)


async def write_cases(app: FastAPI, org_id: UUID, cases: Sequence[Case]) -> list[UUID]:
    """The cases as documents of kind `record` with their records (and enrichments), in one transaction."""
    async with app.state.sessionmaker() as session, session.begin():
        for case in cases:
            digest = hashlib.sha256(case.id.bytes).hexdigest()
            session.add(
                Document(
                    id=case.id,
                    org_id=org_id,
                    title=case.title,
                    filename="cases.csv",
                    kind=FileKind.RECORD,
                    status=DocumentStatus.READY,
                    size_bytes=1,
                    sha256=digest,
                )
            )
        await session.flush()
        for case in cases:
            session.add(
                Record(
                    document_id=case.id,
                    org_id=org_id,
                    number=next(_numbers),
                    unit_id=case.unit_id,
                    occurred_at=case.occurred_at,
                    priority=case.priority,
                    due_at=case.due_at,
                )
            )
            if case.labels is not None:
                session.add(
                    Enrichment(
                        org_id=org_id,
                        document_id=case.id,
                        schema_id=TRIAGE_SCHEMA_ID,
                        status=EnrichmentStatus.ENRICHED,
                        data=case.labels,
                        confidence=case.labels.get("confidence"),
                        enriched_at=datetime.now(UTC),
                    )
                )
    return [case.id for case in cases]


async def stored_alerts(app: FastAPI, org_id: UUID) -> list[tuple[Alert, list[UUID]]]:
    """The organization's alerts, oldest first, each with its matching items' ids (sorted)."""
    async with app.state.sessionmaker() as session:
        alerts = (await session.scalars(select(Alert).where(Alert.org_id == org_id).order_by(Alert.id))).all()
        found = []
        for alert in alerts:
            items = await session.scalars(
                select(AlertMatch.document_id).where(AlertMatch.alert_id == alert.id).order_by(AlertMatch.document_id)
            )
            found.append((alert, list(items.all())))
        return found


async def events_of(app: FastAPI, org_id: UUID, type: str) -> list[Event]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(select(Event).where(Event.org_id == org_id, Event.type == type).order_by(Event.id))
        return list(rows.all())


async def notifications_of(app: FastAPI, user_id: UUID) -> int:
    async with app.state.sessionmaker() as session:
        count = await session.scalar(select(func.count()).where(Notification.user_id == user_id))
        return int(count or 0)
