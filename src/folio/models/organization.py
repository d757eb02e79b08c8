from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class Organization(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    is_personal: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Language-model tokens (prompt and completion) the organization may use per calendar month (UTC); NULL: no limit.
    monthly_token_budget: Mapped[int | None] = mapped_column(BigInteger)
    # Case numbers handed out so far: a case takes the next one, and a number is never reused.
    case_numbers: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Hours from a case's creation to its SLA due time, by priority.
    sla_hours: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # The plan whose limits hold the organization when `FOLIO_PLANS__ENFORCE` is on (a key of `FOLIO_PLANS__LIMITS`),
    # set by the operator (`folio orgs set-plan`); None: the deployment's default plan (`FOLIO_PLANS__DEFAULT`).
    plan_type: Mapped[str | None] = mapped_column(String(32))
    # Members sign in through a provider only (`FOLIO_SSO__PROVIDERS`): password sign-in is refused to them.
    require_sso: Mapped[bool] = mapped_column(default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
