"""SQL for usage: events written one per model call, summed per organization and month, grouped for reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import ColumnElement, Date, Row, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.models import Organization, UsageEvent

GroupBy = Literal["day", "model", "kind"]
# Embedding calls are recorded but do not count against a budget of language-model tokens.
EMBEDDING = "embedding"


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: UsageEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def budget(self, org_id: UUID) -> int | None:
        budget: int | None = await self.session.scalar(
            select(Organization.monthly_token_budget).where(Organization.id == org_id)
        )
        return budget

    async def set_budget(self, org_id: UUID, monthly_tokens: int | None) -> None:
        organization = await self.session.get_one(Organization, org_id)
        organization.monthly_token_budget = monthly_tokens
        await self.session.flush()

    async def tokens_this_month(self, org_id: UUID) -> int:
        """Language-model tokens the organization used since the first of this month, 00:00 UTC."""
        month = func.date_trunc("month", func.now(), "UTC")
        used: int = (
            await self.session.scalar(
                select(func.coalesce(func.sum(UsageEvent.prompt_tokens + UsageEvent.completion_tokens), 0)).where(
                    UsageEvent.org_id == org_id, UsageEvent.created_at >= month, UsageEvent.kind != EMBEDDING
                )
            )
            or 0
        )
        return int(used)

    async def report(
        self,
        org_id: UUID,
        *,
        since: datetime,
        until: datetime,
        group_by: Sequence[GroupBy],
        user_id: UUID | None = None,
        api_key_id: UUID | None = None,
    ) -> Sequence[Row[*tuple[Any, ...]]]:
        """Calls, tokens and cost per group (in group order); with no grouping, one row of totals."""
        keys: dict[GroupBy, ColumnElement[Any]] = {
            "day": cast(func.date_trunc("day", UsageEvent.created_at, "UTC"), Date).label("day"),
            "model": UsageEvent.model.label("model"),
            "kind": UsageEvent.kind.label("kind"),
        }
        columns = [keys[name] for name in group_by]
        statement = select(
            *columns,
            func.count().label("calls"),
            func.coalesce(func.sum(UsageEvent.prompt_tokens), 0).label("prompt_tokens"),
            func.coalesce(func.sum(UsageEvent.completion_tokens), 0).label("completion_tokens"),
            func.sum(UsageEvent.cost).label("cost"),
            func.count().filter(UsageEvent.cost.is_(None)).label("unpriced_calls"),
        ).where(UsageEvent.org_id == org_id, UsageEvent.created_at >= since, UsageEvent.created_at < until)
        if user_id is not None:
            statement = statement.where(UsageEvent.user_id == user_id, UsageEvent.api_key_id.is_(None))
        if api_key_id is not None:
            statement = statement.where(UsageEvent.api_key_id == api_key_id)
        if columns:
            statement = statement.group_by(*columns).order_by(*columns)
        return (await self.session.execute(statement)).all()
