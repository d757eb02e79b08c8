from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from folio.auth.passwords import MAX_LENGTH as MAX_PASSWORD_LENGTH
from folio.models import AccessOutcome, ShareItemType, SummaryFormat
from folio.schemas import ReadModel, RequestModel

DEFAULT_DAYS = 7


class LinkCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"item_type": "document", "item_id": "0193a5c2-7d1e-7c3a-9f10-4b5e6a7b8c9d", "expires_in_days": 3},
                {
                    "item_type": "summary",
                    "item_id": "0193a5c2-7d1e-7c3a-9f10-4b5e6a7b8c9e",
                    "expires_at": "2027-01-31T18:00:00Z",
                    "password": "correct horse battery",
                },
            ]
        },
    )

    item_type: Literal["document", "summary"]
    item_id: UUID = Field(description="A ready document (not a case's record), or a summary with text.")
    expires_in_days: int | None = Field(
        None, ge=1, le=90, description=f"Days from now until the link dies; default {DEFAULT_DAYS}."
    )
    expires_at: AwareDatetime | None = Field(
        None,
        description="When the link dies instead (ISO 8601 with a timezone, within 90 days); not with "
        "`expires_in_days`.",
    )
    password: str | None = Field(
        None,
        max_length=MAX_PASSWORD_LENGTH,
        description="Visitors must send it in `X-Share-Password`. At least 10 characters, not a common password; "
        "stored only as an Argon2 hash.",
    )

    @model_validator(mode="after")
    def _one_expiry(self) -> LinkCreate:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("give expires_in_days or expires_at, not both")
        return self


class LinkRead(ReadModel):
    id: UUID
    item_type: ShareItemType
    item_id: UUID
    created_by: UUID | None = Field(
        description="The member the link reads the item as; null once their account is gone."
    )
    status: Literal["live", "expired", "revoked"]
    expires_at: datetime
    revoked_at: datetime | None
    password_protected: bool
    locked_until: datetime | None = Field(description="Until when wrong passwords have locked the link.")
    created_at: datetime


class LinkCreated(LinkRead):
    token: str = Field(description="Shown only now: the link's secret.", examples=["fsl_3q2Xr…"])
    url: str = Field(
        description="The public URL to hand out (`GET` it, no credentials).",
        examples=["https://folio.example.com/api/v1/public/links/fsl_3q2Xr…"],
    )


class AccessRead(ReadModel):
    id: UUID
    outcome: AccessOutcome = Field(
        description="`ok`, or why the visit was refused: `expired`, `revoked`, `needs_password` (none sent), "
        "`wrong_password`, `locked`, `unavailable` (the item is gone, or its maker may no longer read it)."
    )
    download: bool = Field(description="The original file was asked for (`/file`).")
    ip: str
    user_agent: str
    created_at: datetime


class PublicDocumentRead(BaseModel):
    type: Literal["document"] = "document"
    title: str
    filename: str
    content_type: str = Field(examples=["application/pdf"])
    text: str = Field(description="The extracted text; `/file` downloads the original.")


class PublicSummaryRead(BaseModel):
    type: Literal["summary"] = "summary"
    document_title: str
    text: str
    format: SummaryFormat = Field(description="How `text` is written: `paragraph`, `bullets` or `markdown`.")


PublicItem = Annotated[PublicDocumentRead | PublicSummaryRead, Field(discriminator="type")]
