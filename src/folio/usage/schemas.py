from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from folio.schemas import RequestModel


class UsageRow(BaseModel):
    day: date | None = Field(None, description="With `group_by=day`: the UTC day.")
    model: str | None = Field(None, description="With `group_by=model`.", examples=["gpt-4o-mini"])
    kind: str | None = Field(
        None, description="With `group_by=kind`: answer, chat, openai, summary, enrichment, embedding."
    )
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float | None = Field(description="USD, from FOLIO_USAGE__PRICES; null when no call had a price.")
    unpriced_calls: int = Field(description="Calls of models without a price: not in `cost`.")


class BudgetRead(BaseModel):
    monthly_tokens: int | None = Field(description="Language-model tokens allowed per calendar month; null: no limit.")
    used_this_month: int = Field(description="Language-model tokens used since the first of the month, UTC.")
    remaining: int | None


class UsageReport(BaseModel):
    scope: Literal["organization", "you"] = Field(
        description="Admins see the organization's usage; everyone else sees their own calls (or the API key's)."
    )
    since: datetime
    until: datetime
    group_by: list[Literal["day", "model", "kind"]]
    items: list[UsageRow]
    total: UsageRow
    budget: BudgetRead


class BudgetUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"monthly_tokens": 5_000_000}]})

    monthly_tokens: int | None = Field(
        ge=1, le=10**15, description="Tokens per calendar month (UTC) for language models; null removes the limit."
    )
