from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from folio.events.schemas import Subject


class FeedActor(BaseModel):
    type: str = Field(description="`user`, `api_key` or `system`.", examples=["user"])
    id: UUID | None
    name: str = Field(description="The member's name, the API key's name, or Folio.", examples=["Ann Lee"])


class FeedItemRead(BaseModel):
    id: int = Field(description="The event's id (as in live streams and webhooks).")
    type: str = Field(examples=["case.updated"])
    line: str = Field(
        description="What happened, in a sentence.", examples=["Ann Lee changed C-000123: status open → in_progress"]
    )
    actor: FeedActor
    subject: Subject
    unit_id: UUID | None = Field(description="The business unit of the case it concerns.")
    data: dict[str, Any] = Field(description="The event's data, as live streams carry it.")
    created_at: datetime
