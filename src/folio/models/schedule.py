from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base


class Schedule(Base):
    """A periodic job: when it is next due. Processes that run jobs share these rows; whichever locks a due row
    first enqueues its job, so each period runs once however many processes there are."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    every_seconds: Mapped[float] = mapped_column(Float)
    next_run_at: Mapped[datetime]
    last_job_id: Mapped[UUID | None]
