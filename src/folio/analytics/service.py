"""The overview and time series: figures of what the principal sees, for a period."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics import series
from folio.analytics.periods import Interval, Period, check_buckets
from folio.analytics.repository import OverviewRepository
from folio.analytics.schemas import (
    CaseOverview,
    Count,
    DocumentOverview,
    JobKindOverview,
    OverviewRead,
    PeriodRead,
    SeriesRead,
    TimeseriesRead,
    UsageOverview,
)
from folio.auth.principal import Principal, Scope
from folio.cases import service as cases
from folio.cases.schemas import CaseQuery
from folio.usage import service as usage


async def overview(session: AsyncSession, *, principal: Principal, period: Period) -> OverviewRead:
    repository = OverviewRepository(session)
    figures = await repository.cases(principal, period)
    open_now, overdue_now = await repository.backlog(principal)
    units = await repository.unit_names(principal) if figures.breakdowns["unit"] else {}

    def counts(name: str) -> list[Count]:
        labels = units if name == "unit" else {}
        return [
            Count(key=key, label=labels.get(key or ""), count=count) for key, count in figures.breakdowns[name].items()
        ]

    by_status, by_kind, chunks, size = await repository.documents(principal)
    return OverviewRead(
        period=_period(period),
        cases=CaseOverview(
            opened=figures.opened,
            resolved=figures.resolved,
            open_now=open_now,
            overdue_now=overdue_now,
            resolved_late=figures.resolved_late,
            median_first_response_seconds=figures.first_response_seconds,
            first_responses=figures.first_responses,
            median_resolve_seconds=figures.resolve_seconds,
            **{f"by_{name}": counts(name) for name in figures.breakdowns},
        ),
        documents=DocumentOverview(
            total=sum(by_status.values()), by_status=by_status, by_kind=by_kind, chunks=chunks, storage_bytes=size
        ),
        jobs=[
            JobKindOverview(
                kind=job.kind, by_status=job.counts, p50_seconds=job.p50_seconds, p95_seconds=job.p95_seconds
            )
            # Jobs belong to no business unit: a member limited to units is not shown the organization's.
            for job in (await repository.jobs(principal, period) if principal.units is None else [])
        ],
        usage=await _usage(session, principal),
    )


async def _usage(session: AsyncSession, principal: Principal) -> UsageOverview:
    now = datetime.now(UTC)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    everyone = principal.has(Scope.ADMIN)
    (totals,) = await usage.report(session, principal=principal, since=month, until=now, group_by=[], everyone=everyone)
    budget = await usage.budget_of(session, principal=principal)
    return UsageOverview(
        scope="organization" if everyone else "you",
        month_start=month,
        tokens=int(totals.prompt_tokens + totals.completion_tokens),
        cost=totals.cost,
        monthly_budget_tokens=budget.monthly_tokens,
        budget_used_tokens=budget.used_this_month,
    )


async def timeseries(
    session: AsyncSession,
    *,
    principal: Principal,
    metric: series.Metric,
    group_by: series.GroupBy | None,
    query: CaseQuery,
    period: Period,
    interval: Interval,
    groups: int,
) -> TimeseriesRead:
    check_buckets(period, interval)
    filtered = query.model_dump(exclude_unset=True) != {}
    series.check_grouping(metric, group_by, filtered)
    filters = await cases.filters_of(session, principal=principal, query=query) if filtered else None
    found = await series.counts(
        session,
        principal=principal,
        metric=metric,
        group_by=group_by,
        filters=filters,
        period=period,
        interval=interval,
        groups=groups,
    )
    return TimeseriesRead(
        metric=metric,
        group_by=group_by,
        interval=interval,
        period=_period(period),
        buckets=found.buckets,
        series=[
            SeriesRead(key=group.key, label=group.label, values=group.values, total=group.total)
            for group in found.groups
        ],
        total=[sum(values) for values in zip(*(group.values for group in found.groups), strict=True)]
        if found.groups
        else [0.0] * len(found.buckets),
    )


def _period(period: Period) -> PeriodRead:
    return PeriodRead(start=period.start.astimezone(period.tz), to=period.end.astimezone(period.tz), tz=period.tz.key)
