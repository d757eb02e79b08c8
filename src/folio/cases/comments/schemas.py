from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints

from folio.schemas import ReadModel, RequestModel

MAX_BODY = 10_000
MAX_MENTIONS = 20

CommentBody = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY, pattern=r"\S")]


class CommentCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "body": "@0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0d can you call the customer back today?",
                    "mentions": [],
                }
            ]
        },
    )

    body: CommentBody = Field(
        description="Up to 10,000 characters. `@` followed by a member's user id mentions that member."
    )
    mentions: list[UUID] = Field(
        default_factory=list,
        max_length=MAX_MENTIONS,
        description="Members to mention besides those written `@<user id>` in the body; 20 at most in all.",
    )


class CommentRead(ReadModel):
    id: UUID
    case_id: UUID
    author_id: UUID | None = Field(description="The member who wrote it; null once they are deleted.")
    body: str
    mentions: list[UUID] = Field(description="The members it mentions (who were notified).")
    created_at: datetime
