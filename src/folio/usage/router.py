from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query

from folio.auth.deps import CurrentPrincipal, authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, SessionDep
from folio.errors import Forbidden, ValidationFailed
from folio.routing import Router
from folio.usage import service
from folio.usage.repository import GroupBy
from folio.usage.schemas import BudgetRead, BudgetUpdate, UsageReport, UsageRow
from folio.usage.service import Budget

router = Router(prefix=f"{API_V1}/usage", tags=["usage"])
Admin = Annotated[Principal, requires(Scope.ADMIN)]
# The longest period one report covers.
MAX_DAYS = 366


@router.get(
    "",
    response_model=UsageReport,
    responses=authenticated(),
    summary="Tokens and cost of model calls, grouped by day, model and/or kind",
    description=(
        "Every language-model and embedding call is recorded with its organization, user or API key, model, "
        "tokens and cost (from FOLIO_USAGE__PRICES). Admins see the organization's; everyone else their own. "
        "`since`/`until` default to the last 30 days; at most 366 days. Repeat `group_by` to combine groupings, "
        "as in `?group_by=day&group_by=model`; without it, `items` holds one row of totals."
    ),
)
async def get_usage(
    principal: CurrentPrincipal,
    session: SessionDep,
    since: Annotated[datetime | None, Query(description="From (ISO 8601, inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Until (ISO 8601, exclusive); default now.")] = None,
    group_by: Annotated[list[GroupBy] | None, Query(description="day, model, kind; repeatable.")] = None,
) -> UsageReport:
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("`since` and `until` need a time zone (such as Z).")
    if not start < end or end - start > timedelta(days=MAX_DAYS):
        raise ValidationFailed(f"`since` must be before `until`, at most {MAX_DAYS} days apart.")
    groups = list(dict.fromkeys(group_by or []))
    everyone = principal.has(Scope.ADMIN)
    rows = await service.report(
        session, principal=principal, since=start, until=end, group_by=groups, everyone=everyone
    )
    totals = (
        await service.report(session, principal=principal, since=start, until=end, group_by=[], everyone=everyone)
        if groups
        else rows
    )
    return UsageReport(
        scope="organization" if everyone else "you",
        since=start,
        until=end,
        group_by=groups,
        items=[_row(row._mapping) for row in rows],
        total=_row(totals[0]._mapping),
        budget=_budget(await service.budget_of(session, principal=principal)),
    )


@router.get(
    "/budget",
    response_model=BudgetRead,
    responses=authenticated(),
    summary="The organization's monthly token budget and what is used of it",
)
async def get_budget(principal: CurrentPrincipal, session: SessionDep) -> BudgetRead:
    return _budget(await service.budget_of(session, principal=principal))


@router.put(
    "/budget",
    response_model=BudgetRead,
    responses=authenticated(Forbidden),
    summary="Set or remove the monthly token budget (admins)",
    description="Once the organization's language-model tokens of the calendar month (UTC) reach it, calls to the "
    "model answer 402 `BUDGET_EXCEEDED` (summaries fail with that code). The offline engine, which spends no "
    "tokens, keeps answering. Embedding tokens are recorded but not counted.",
)
async def put_budget(body: BudgetUpdate, principal: Admin, session: SessionDep) -> BudgetRead:
    return _budget(await service.set_budget(session, principal=principal, monthly_tokens=body.monthly_tokens))


def _row(values: Any) -> UsageRow:
    prompt, completion = int(values["prompt_tokens"]), int(values["completion_tokens"])
    cost = values["cost"]
    return UsageRow(
        day=values.get("day"),
        model=values.get("model"),
        kind=values.get("kind"),
        calls=values["calls"],
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost=None if cost is None else float(cost),
        unpriced_calls=values["unpriced_calls"],
    )


def _budget(budget: Budget) -> BudgetRead:
    return BudgetRead(
        monthly_tokens=budget.monthly_tokens, used_this_month=budget.used_this_month, remaining=budget.remaining
    )
