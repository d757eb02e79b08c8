"""Recording what model calls cost, and refusing language-model calls once an organization's budget, or its plan's
monthly tokens (`FOLIO_PLANS__ENFORCE`), is spent: the smaller of the two stops the calls.

`Meter` is held by the app (`app.state.usage`) and the worker. `Meter.metered` wraps an organization's language
model so that every call checks the budget first and records its tokens after, in a transaction of its own: usage
is recorded even when the request or job that made the call fails later, because the tokens were spent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.auth.principal import Principal
from folio.embeddings.local import LocalMiniLM
from folio.llm.extractive import MODEL as EXTRACTIVE_MODEL
from folio.llm.provider import Completion, Delta, LLMProvider, Message, Usage
from folio.llm.tokens import approximate_prompt_tokens, approximate_tokens
from folio.llm.wrapped import relay
from folio.models import UsageEvent
from folio.plans import service as plans
from folio.settings import ModelPrice, PlanSettings, Settings
from folio.usage.errors import BudgetExceeded
from folio.usage.repository import GroupBy, UsageRepository

_PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Budget:
    monthly_tokens: int | None
    used_this_month: int

    @property
    def remaining(self) -> int | None:
        return None if self.monthly_tokens is None else max(self.monthly_tokens - self.used_this_month, 0)


class Meter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        prices: dict[str, ModelPrice],
        plans: PlanSettings,
        free_models: Sequence[str] = (),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.prices = prices
        self.plans = plans
        self.free_models = frozenset({EXTRACTIVE_MODEL, *free_models})

    def cost(self, model: str, usage: Usage) -> Decimal | None:
        if model in self.free_models:
            return Decimal(0)
        price = self.prices.get(model)
        if price is None:
            return None
        prompt = Decimal(usage.prompt_tokens) * Decimal(str(price.prompt))
        completion = Decimal(usage.completion_tokens) * Decimal(str(price.completion))
        return ((prompt + completion) / _PER_MILLION).quantize(Decimal("0.000001"))

    async def check_budget(self, principal: Principal) -> None:
        """Raise PlanLimitReached when the organization's plan allows no more tokens this month (checked first:
        raising the budget would not help), BudgetExceeded when it has a budget and has used it."""
        async with self.sessionmaker() as session:
            budget = await budget_of(session, principal=principal)
            await plans.check_monthly_tokens(
                session, plans=self.plans, org_id=principal.org_id, used=budget.used_this_month
            )
        if budget.remaining == 0:
            raise BudgetExceeded(
                details={"monthly_tokens": budget.monthly_tokens, "used_this_month": budget.used_this_month}
            )

    async def record(self, principal: Principal, kind: str, model: str, usage: Usage) -> None:
        async with self.sessionmaker() as session, session.begin():
            await UsageRepository(session).add(
                UsageEvent(
                    org_id=principal.org_id,
                    user_id=principal.member_id,
                    api_key_id=principal.api_key_id,
                    kind=kind,
                    model=model,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    cost=self.cost(model, usage),
                )
            )

    def metered(self, llm: LLMProvider, principal: Principal, kind: str) -> MeteredLLM:
        return MeteredLLM(llm, self, principal, kind)


def meter_for(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> Meter:
    """The deployment's meter: its price table and plans, and the local embedding model free of charge."""
    local = [LocalMiniLM.model] if settings.embeddings.provider == "local" else []
    return Meter(sessionmaker, settings.usage.prices, settings.plans, free_models=local)


class MeteredLLM:
    """An organization's language model whose every call is checked against the budget and recorded."""

    def __init__(self, llm: LLMProvider, meter: Meter, principal: Principal, kind: str) -> None:
        self.llm = llm
        self.meter = meter
        self.principal = principal
        self.kind = kind

    @property
    def model(self) -> str:
        return self.llm.model

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        await self.meter.check_budget(self.principal)
        completion = await self.llm.complete(
            messages, max_tokens=max_tokens, temperature=temperature, json_schema=json_schema
        )
        await self.meter.record(self.principal, self.kind, completion.model, completion.usage)
        return completion

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[Delta]:
        await self.meter.check_budget(self.principal)
        text: list[str] = []
        usage: Usage | None = None
        try:
            async for delta in relay(self.llm.stream(messages, max_tokens=max_tokens, temperature=temperature)):
                text.append(delta.text)
                usage = delta.usage or usage
                yield delta
        finally:
            # A stream cut short (a client gone, a failure) still spent tokens: estimated when the model said nothing.
            if usage is None:
                usage = Usage(approximate_prompt_tokens(messages), approximate_tokens("".join(text)))
            await self.meter.record(self.principal, self.kind, self.llm.model, usage)

    async def close(self) -> None:
        """The registry owns the model's connections; nothing to release here."""


async def budget_of(session: AsyncSession, *, principal: Principal) -> Budget:
    repository = UsageRepository(session)
    monthly = await repository.budget(principal.org_id)
    used = await repository.tokens_this_month(principal.org_id)
    return Budget(monthly, used)


async def set_budget(session: AsyncSession, *, principal: Principal, monthly_tokens: int | None) -> Budget:
    await UsageRepository(session).set_budget(principal.org_id, monthly_tokens)
    return await budget_of(session, principal=principal)


async def report(
    session: AsyncSession,
    *,
    principal: Principal,
    since: datetime,
    until: datetime,
    group_by: Sequence[GroupBy],
    everyone: bool,
) -> Sequence[Any]:
    """Usage of the organization (`everyone`), or only the principal's own calls."""
    return await UsageRepository(session).report(
        principal.org_id,
        since=since,
        until=until,
        group_by=group_by,
        user_id=None if everyone else principal.member_id,
        api_key_id=None if everyone else principal.api_key_id,
    )
