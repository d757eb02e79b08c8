"""An organization's plan, its limits, and the checks made where each limited thing grows.

Every check does nothing unless `FOLIO_PLANS__ENFORCE` is on. Counts are read in the caller's transaction without
a lock: two requests of one organization running at the same moment may each pass a check that only one of them
would pass after the other, so a limit can be overshot by what concurrent requests add (an upload's files, for
instance). Invitations and integrations are the exception: adding one holds the organization's lock already, so
they stay within their limits exactly. Record imports of an organization run one block at a time under its import
lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.orgs.errors import OrgNotFound
from folio.plans.errors import PlanLimitReached
from folio.plans.repository import PlanRepository
from folio.settings import PlanLimits, PlanSettings

Limit = Literal["documents", "storage_bytes", "monthly_tokens", "members", "integrations"]


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    limits: PlanLimits


@dataclass(frozen=True, slots=True)
class Figure:
    """What the plan allows of one thing (None: no limit) and what the organization has of it."""

    allowed: int | None
    used: int


@dataclass(frozen=True, slots=True)
class PlanUsage:
    plan: Plan
    enforced: bool
    figures: dict[Limit, Figure]


def plan_named(plans: PlanSettings, plan_type: str | None) -> Plan:
    """The plan of that name; an organization with none set, or whose plan is no longer configured, is held to the
    default one."""
    name = plan_type if plan_type in plans.limits else plans.default
    return Plan(name, plans.limits[name])


async def plan_of(session: AsyncSession, *, plans: PlanSettings, org_id: UUID) -> Plan:
    found = await PlanRepository(session).plan_type(org_id)
    if found is None:
        raise OrgNotFound()
    return plan_named(plans, found.plan_type)


def refuse(plan: Plan, limit: Limit, *, allowed: int, used: int, adding: int | None = None) -> PlanLimitReached:
    details: dict[str, str | int] = {"limit": limit, "plan": plan.name, "allowed": allowed, "used": used}
    if adding is not None:
        details["adding"] = adding
    return PlanLimitReached(
        f"The {plan.name} plan allows {allowed} {limit.replace('_', ' ')}; the organization has {used}.",
        details=details,
    )


def _check(plan: Plan, limit: Limit, *, used: int, adding: int) -> None:
    allowed: int | None = getattr(plan.limits, limit)
    if allowed is not None and used + adding > allowed:
        raise refuse(plan, limit, allowed=allowed, used=used, adding=adding)


async def check_can_add_documents(
    session: AsyncSession, *, plans: PlanSettings, org_id: UUID, documents: int, size_bytes: int
) -> None:
    """Refuse adding `documents` documents of `size_bytes` bytes in all when the plan's documents or storage would
    be exceeded."""
    if not plans.enforce or documents == 0:
        return
    plan = await plan_of(session, plans=plans, org_id=org_id)
    if plan.limits.documents is None and plan.limits.storage_bytes is None:
        return
    held, stored = await PlanRepository(session).documents(org_id)
    _check(plan, "documents", used=held, adding=documents)
    _check(plan, "storage_bytes", used=stored, adding=size_bytes)


@dataclass(slots=True)
class DocumentRoom:
    """What an organization holds under its plan, grown document by document as an import's rows are admitted."""

    plan: Plan
    documents: int
    size_bytes: int

    def admit(self, size_bytes: int) -> Limit | None:
        """Count one more document of `size_bytes` if it fits; else the limit it would exceed (and count nothing)."""
        if self.plan.limits.documents is not None and self.documents + 1 > self.plan.limits.documents:
            return "documents"
        if self.plan.limits.storage_bytes is not None and self.size_bytes + size_bytes > self.plan.limits.storage_bytes:
            return "storage_bytes"
        self.documents += 1
        self.size_bytes += size_bytes
        return None

    def reason(self, limit: Limit) -> str:
        allowed = self.plan.limits.documents if limit == "documents" else self.plan.limits.storage_bytes
        what = limit.replace("_", " ")
        return f"The organization's {self.plan.name} plan allows {allowed} {what}; this row would exceed it."


async def room_for_documents(session: AsyncSession, *, plans: PlanSettings, org_id: UUID) -> DocumentRoom | None:
    """What the organization may still add, or None when nothing limits it."""
    if not plans.enforce:
        return None
    plan = await plan_of(session, plans=plans, org_id=org_id)
    if plan.limits.documents is None and plan.limits.storage_bytes is None:
        return None
    held, stored = await PlanRepository(session).documents(org_id)
    return DocumentRoom(plan, held, stored)


async def check_can_add_member(
    session: AsyncSession, *, plans: PlanSettings, org_id: UUID, inviting: bool, now: datetime
) -> None:
    """Refuse a new invitation (`inviting`) when members and pending invitations would exceed the plan's members,
    and a member joining when the members alone would (a pending invitation was counted when it was made)."""
    if not plans.enforce:
        return
    plan = await plan_of(session, plans=plans, org_id=org_id)
    if plan.limits.members is None:
        return
    members, pending = await PlanRepository(session).members(org_id, now)
    _check(plan, "members", used=members + pending if inviting else members, adding=1)


async def check_can_add_integration(session: AsyncSession, *, plans: PlanSettings, org_id: UUID) -> None:
    """Refuse connecting one more source when the plan's integrations would be exceeded (the organization's row is
    locked by the caller, so concurrent connections count each other)."""
    if not plans.enforce:
        return
    plan = await plan_of(session, plans=plans, org_id=org_id)
    if plan.limits.integrations is None:
        return
    _check(plan, "integrations", used=await PlanRepository(session).integrations(org_id), adding=1)


async def check_monthly_tokens(session: AsyncSession, *, plans: PlanSettings, org_id: UUID, used: int) -> None:
    """Refuse a model call once the organization's language-model tokens this month (`used`) reach the plan's."""
    if not plans.enforce:
        return
    plan = await plan_of(session, plans=plans, org_id=org_id)
    allowed = plan.limits.monthly_tokens
    if allowed is not None and used >= allowed:
        raise refuse(plan, "monthly_tokens", allowed=allowed, used=used)


async def usage_of(session: AsyncSession, *, plans: PlanSettings, org_id: UUID, tokens_this_month: int) -> PlanUsage:
    """The organization's plan and, for each limit, what it holds or used against it."""
    plan = await plan_of(session, plans=plans, org_id=org_id)
    repository = PlanRepository(session)
    held, stored = await repository.documents(org_id)
    members, pending = await repository.members(org_id, datetime.now(UTC))
    used: dict[Limit, int] = {
        "documents": held,
        "storage_bytes": stored,
        "monthly_tokens": tokens_this_month,
        "members": members + pending,
        "integrations": await repository.integrations(org_id),
    }
    figures = {limit: Figure(getattr(plan.limits, limit), value) for limit, value in used.items()}
    return PlanUsage(plan, plans.enforce, figures)


async def set_plan(session: AsyncSession, *, org_id: UUID, plan: str) -> None:
    """For operators (the CLI), who check that `plan` is one of the configured plans."""
    if not await PlanRepository(session).set_plan_type(org_id, plan):
        raise OrgNotFound()
