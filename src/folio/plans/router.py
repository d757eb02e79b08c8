"""Plans: what an organization may hold and use (`FOLIO_PLANS__*`), enforced where it grows."""

from __future__ import annotations

from typing import Annotated

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, SessionDep, SettingsDep
from folio.errors import Forbidden
from folio.plans import service as plans
from folio.plans.schemas import LimitRead, PlanRead
from folio.routing import Router
from folio.usage import service as usage

router = Router(prefix=f"{API_V1}/plan", tags=["plans"])
Admin = Annotated[Principal, requires(Scope.ADMIN)]


@router.get(
    "",
    response_model=PlanRead,
    responses=authenticated(Forbidden),
    summary="The organization's plan, its limits and what is used of each (admins)",
    description=(
        "Each limit of the plan (null: none) beside what the organization holds or used: documents and their "
        "stored bytes, language-model tokens this calendar month (UTC), members with pending invitations, and "
        "connected sources. With `enforced` true, a request that would go past a limit answers 402 "
        "`PLAN_LIMIT_REACHED` naming the limit in `details`; a record import reports its rows past the limit as row "
        "errors of that code. Plans are changed by the deployment's operator (`folio orgs set-plan`)."
    ),
)
async def get_plan(principal: Admin, session: SessionDep, settings: SettingsDep) -> PlanRead:
    budget = await usage.budget_of(session, principal=principal)
    found = await plans.usage_of(
        session, plans=settings.plans, org_id=principal.org_id, tokens_this_month=budget.used_this_month
    )
    figures = {
        limit: LimitRead(
            allowed=figure.allowed,
            used=figure.used,
            remaining=None if figure.allowed is None else max(figure.allowed - figure.used, 0),
        )
        for limit, figure in found.figures.items()
    }
    return PlanRead(plan=found.plan.name, enforced=found.enforced, **figures)
