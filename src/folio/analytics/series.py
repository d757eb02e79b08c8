"""Counts over time: one series per group, bucketed in the caller's time zone, zero-filled.

Case metrics read `records` alone (the list's filters and the principal's units); a case counts at `opened_at`
(`cases`) or `resolved_at` (`resolved`). Usage is the organization's for admins and the principal's own calls for
everyone else, as `GET /api/v1/usage` reports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.errors import FilterNotApplicable
from folio.analytics.periods import Interval, Period
from folio.auth.principal import Principal, Scope
from folio.cases.repository import CaseFilters, case_conditions
from folio.models import BusinessUnit, Document, Record, SearchQuery, UsageEvent, User
from folio.repository import sees_case, sees_document

# The group of rows whose field is empty, and of the groups beyond the largest ones asked for.
NONE_KEY = None
OTHER_KEY = "__other__"


class Metric(StrEnum):
    CASES = "cases"
    RESOLVED = "resolved"
    DOCUMENTS = "documents"
    SEARCHES = "searches"
    TOKENS = "tokens"
    COST = "cost"

    @property
    def of_cases(self) -> bool:
        return self in (Metric.CASES, Metric.RESOLVED)


class GroupBy(StrEnum):
    STATUS = "status"
    PRIORITY = "priority"
    UNIT = "unit"
    CHANNEL = "channel"
    ASSIGNEE = "assignee"
    SENTIMENT = "sentiment"
    SEVERITY = "severity"
    CATEGORY = "category"
    KIND = "kind"
    MODE = "mode"
    SOURCE = "source"
    MODEL = "model"


_CASE_GROUPS: Mapping[GroupBy, Any] = {
    GroupBy.STATUS: Record.case_status,
    GroupBy.PRIORITY: Record.priority,
    GroupBy.UNIT: Record.unit_id,
    GroupBy.CHANNEL: Record.channel,
    GroupBy.ASSIGNEE: Record.assigned_to,
    GroupBy.SENTIMENT: Record.sentiment,
    GroupBy.SEVERITY: Record.severity,
    GroupBy.CATEGORY: Record.category,
}
_USAGE_GROUPS: Mapping[GroupBy, Any] = {GroupBy.KIND: UsageEvent.kind, GroupBy.MODEL: UsageEvent.model}
GROUPINGS: Mapping[Metric, Mapping[GroupBy, Any]] = {
    Metric.CASES: _CASE_GROUPS,
    Metric.RESOLVED: _CASE_GROUPS,
    Metric.DOCUMENTS: {GroupBy.KIND: Document.kind, GroupBy.STATUS: Document.status},
    Metric.SEARCHES: {GroupBy.MODE: SearchQuery.mode, GroupBy.SOURCE: SearchQuery.source},
    Metric.TOKENS: _USAGE_GROUPS,
    Metric.COST: _USAGE_GROUPS,
}


@dataclass(frozen=True, slots=True)
class Group:
    key: str | None
    label: str | None
    values: list[float]

    @property
    def total(self) -> float:
        return sum(self.values)


@dataclass(frozen=True, slots=True)
class Series:
    buckets: list[datetime]
    groups: list[Group]


def check_grouping(metric: Metric, group_by: GroupBy | None, filtered: bool) -> None:
    allowed = GROUPINGS[metric]
    if group_by is not None and group_by not in allowed:
        raise FilterNotApplicable(details={"metric": metric.value, "allowed": sorted(allowed)})
    if filtered and not metric.of_cases:
        raise FilterNotApplicable(
            "Case filters apply to the case metrics only.", details={"metric": metric.value, "allowed": []}
        )


async def counts(
    session: AsyncSession,
    *,
    principal: Principal,
    metric: Metric,
    group_by: GroupBy | None,
    filters: CaseFilters | None,
    period: Period,
    interval: Interval,
    groups: int,
) -> Series:
    """`metric` per bucket of `interval` over `period`, for the `groups` largest groups of `group_by` (the rest
    summed as `__other__`), or one series of everything."""
    check_grouping(metric, group_by, filters is not None and filters != CaseFilters())
    moment, value, statement = _source(principal, metric, filters or CaseFilters())
    bucket = func.date_trunc(interval.value, moment, period.tz.key).label("bucket")
    key = cast(GROUPINGS[metric][group_by], String).label("key") if group_by else None
    columns = [bucket, value.label("value")] + ([key] if key is not None else [])
    rows = (
        await session.execute(
            statement.with_only_columns(*columns)
            .where(moment >= period.start, moment < period.end)
            .group_by(*([bucket] + ([key] if key is not None else [])))
        )
    ).all()
    starts = period.buckets(interval)
    position = {start.astimezone(UTC): index for index, start in enumerate(starts)}
    sums: dict[str | None, list[float]] = {}
    for row in rows:
        values = sums.setdefault(row.key if key is not None else NONE_KEY, [0.0] * len(starts))
        values[position[row.bucket.astimezone(UTC)]] += float(row.value or 0)
    ranked = sorted(sums.items(), key=lambda item: (-sum(item[1]), item[0] is None, item[0] or ""))
    kept, rest = ranked[:groups], ranked[groups:]
    if rest:
        kept.append((OTHER_KEY, [sum(column) for column in zip(*(values for _, values in rest), strict=True)]))
    labels = await _labels(session, principal, group_by, [name for name, _ in kept])
    return Series(starts, [Group(name, labels.get(name), values) for name, values in kept])


def _source(principal: Principal, metric: Metric, filters: CaseFilters) -> tuple[Any, Any, Select[Any]]:
    """The time a row counts at, what it adds, and the rows the principal may count."""
    if metric.of_cases:
        moment = Record.opened_at if metric is Metric.CASES else Record.resolved_at
        statement = select(Record).where(
            Record.org_id == principal.org_id, sees_case(principal, Record.unit_id), *case_conditions(filters)
        )
        if filters.on_document:
            statement = statement.join(Document, Document.id == Record.document_id)
        return moment, func.count(), statement
    if metric is Metric.DOCUMENTS:
        documents = select(Document).where(Document.org_id == principal.org_id, sees_document(principal))
        return Document.created_at, func.count(), documents
    if metric is Metric.SEARCHES:
        return SearchQuery.created_at, func.count(), select(SearchQuery).where(SearchQuery.org_id == principal.org_id)
    usage = select(UsageEvent).where(UsageEvent.org_id == principal.org_id)
    if not principal.has(Scope.ADMIN):
        usage = usage.where(
            (UsageEvent.user_id == principal.member_id) & UsageEvent.api_key_id.is_(None)
            if principal.api_key_id is None
            else UsageEvent.api_key_id == principal.api_key_id
        )
    value = (
        func.sum(UsageEvent.prompt_tokens + UsageEvent.completion_tokens)
        if metric is Metric.TOKENS
        else func.sum(UsageEvent.cost)
    )
    return UsageEvent.created_at, value, usage


async def _labels(
    session: AsyncSession, principal: Principal, group_by: GroupBy | None, keys: Sequence[str | None]
) -> dict[str | None, str]:
    """Names for the groups that are ids: a unit's name, an assignee's name."""
    if group_by not in (GroupBy.UNIT, GroupBy.ASSIGNEE):
        return {}
    ids = [UUID(key) for key in keys if key is not None and key != OTHER_KEY]
    if not ids:
        return {}
    if group_by is GroupBy.UNIT:
        named = select(BusinessUnit.id, BusinessUnit.name).where(
            BusinessUnit.org_id == principal.org_id, BusinessUnit.id.in_(ids)
        )
    else:
        named = select(User.id, User.name).where(User.id.in_(ids))
    return {str(row_id): name for row_id, name in (await session.execute(named)).all()}
