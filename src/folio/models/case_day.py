from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import BigInteger, Identity, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base


class CaseDay(Base):
    """An organization's cases of one business unit (none: cases of no unit) on one UTC day: those opened that day,
    their times to first response, and those resolved that day, with their times to resolution. What the overview
    sums over a period's whole days (the partial days at its ends it reads from `records`).

    Times are kept whole and sorted (big-endian float8 seconds, packed), so that a median over any days is exact.
    Computed by `refresh_case_days(org)` for the days triggers on `records` marked in `CaseDayStale` (migration
    `e6c7a3f40d02`); no writer of cases waits for it.
    """

    __tablename__ = "case_days"
    __table_args__ = (Index("ix_case_days_org_id_day", "org_id", "day"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[UUID]
    unit_id: Mapped[UUID | None]
    day: Mapped[date]
    opened: Mapped[int] = mapped_column(BigInteger)
    first_responses: Mapped[int] = mapped_column(BigInteger)
    first_response_seconds: Mapped[bytes | None] = mapped_column(LargeBinary)
    resolved: Mapped[int] = mapped_column(BigInteger)
    resolved_late: Mapped[int] = mapped_column(BigInteger)
    resolve_seconds: Mapped[bytes | None] = mapped_column(LargeBinary)


class CaseDayLabel(Base):
    """How many of the cases of a `CaseDay` (opened that day) have each value of a field the overview breaks cases
    down by (status, priority, severity, sentiment, category, channel)."""

    __tablename__ = "case_day_labels"
    __table_args__ = (
        Index(
            "ix_case_day_labels_org_id_day", "org_id", "day", postgresql_include=["unit_id", "field", "value", "cases"]
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[UUID]
    unit_id: Mapped[UUID | None]
    day: Mapped[date]
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[str | None] = mapped_column(Text)
    cases: Mapped[int] = mapped_column(BigInteger)


class CaseDayStale(Base):
    """A UTC day of an organization whose `CaseDay` and `CaseDayLabel` rows changed cases have made stale: appended
    by triggers on `records`, taken by `refresh_case_days(org)`."""

    __tablename__ = "case_days_stale"
    __table_args__ = (Index("ix_case_days_stale_org_id", "org_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[UUID]
    day: Mapped[date]
