from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field

from folio.models import ShareItemType
from folio.schemas import ReadModel, RequestModel
from folio.shares.service import MAX_NOTE_LENGTH, MAX_RECIPIENTS


def _distinct(user_ids: list[UUID]) -> list[UUID]:
    return list(dict.fromkeys(user_ids))


class ShareCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "item_type": "case",
                    "item_id": "0193a5c2-7d1e-7c3a-9f10-4b5e6a7b8c9d",
                    "recipients": ["0193a5c2-1111-7c3a-9f10-4b5e6a7b8c9d"],
                    "note": "Can you take this one? The customer called twice.",
                }
            ]
        },
    )

    item_type: ShareItemType = Field(description="`case`, `document`, `summary` or `chat` (one of yours).")
    item_id: UUID = Field(description="The item's id (a case's id is its record id).")
    recipients: Annotated[list[UUID], AfterValidator(_distinct)] = Field(
        min_length=1,
        max_length=MAX_RECIPIENTS,
        description=f"Members of your organization (at most {MAX_RECIPIENTS}, not yourself) who may each read the "
        "item themselves.",
    )
    note: str = Field("", max_length=MAX_NOTE_LENGTH, description="Shown with the share and in the inbox.")


class ShareRead(ReadModel):
    id: UUID
    item_type: ShareItemType
    item_id: UUID
    item_title: str = Field(description="The item's title when it was shared.")
    note: str
    shared_by: UUID = Field(description="The member who shared it.")
    recipients: list[UUID]
    created_at: datetime
