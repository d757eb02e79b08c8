from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class PulseDigest(IdMixin, CreatedAtMixin, Base):
    """A periodic pulse digest sent to an organization: the row is written in the transaction that emits the
    `pulse.digest` event and notifies, and its key lets one period's digest be sent once, however many workers or
    retries try."""

    __tablename__ = "pulse_digests"
    __table_args__ = (UniqueConstraint("org_id", "period_start"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    # The model that wrote the digest, or `offline` for the templated one.
    generated_by: Mapped[str] = mapped_column(String(200))
