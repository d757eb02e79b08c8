from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin


class Event(CreatedAtMixin, Base):
    """The outbox: a domain event, written in the transaction of the change it describes.

    Ids increase in commit order (`folio.events.outbox` takes a lock for the insert, just before the commit), so
    a reader that has seen id N has seen every earlier event: clients resume with `since=N`.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_org_id_id", "org_id", "id"),
        # The retention job's: a case's events are its history and stay (`folio.events.tasks`).
        Index("ix_events_created_at", "created_at", postgresql_where=text("type NOT LIKE 'case.%'")),
        Index("ix_events_subject_id_id", "subject_id", "id"),
        # The feed's: a reader who may see few events (one quiet business unit) finds them without scanning the rest.
        Index("ix_events_org_id_id_org", "org_id", "id", postgresql_where=text("visibility = 'org'")),
        Index("ix_events_org_id_unit_id_id", "org_id", "unit_id", "id", postgresql_where=text("visibility = 'unit'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[UUID | None]
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[UUID | None]
    # Who receives it (`folio.events.schemas.Visibility`): the organization, a business unit's viewers, one member.
    visibility: Mapped[str] = mapped_column(String(16), default="org", server_default="org")
    unit_id: Mapped[UUID | None]
    recipient_id: Mapped[UUID | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
