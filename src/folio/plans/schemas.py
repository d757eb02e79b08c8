from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LimitRead(BaseModel):
    allowed: int | None = Field(description="What the plan allows; null: no limit.")
    used: int = Field(description="What the organization holds, or used this month for tokens.")
    remaining: int | None = Field(description="`allowed` less `used`, never below 0; null: no limit.")


class PlanRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "plan": "free",
                    "enforced": True,
                    "documents": {"allowed": 1000, "used": 212, "remaining": 788},
                    "storage_bytes": {"allowed": 1073741824, "used": 48213700, "remaining": 1025528124},
                    "monthly_tokens": {"allowed": 1000000, "used": 1000000, "remaining": 0},
                    "members": {"allowed": 5, "used": 3, "remaining": 2},
                    "integrations": {"allowed": 1, "used": 0, "remaining": 1},
                }
            ]
        }
    )

    plan: str = Field(description="The organization's plan (a key of FOLIO_PLANS__LIMITS).", examples=["free"])
    enforced: bool = Field(description="Whether the limits apply (FOLIO_PLANS__ENFORCE); off, they are shown only.")
    documents: LimitRead = Field(description="Documents: files, pages and cases, in any status.")
    storage_bytes: LimitRead = Field(description="Bytes of stored files and case texts.")
    monthly_tokens: LimitRead = Field(
        description="Language-model tokens since the first of the month, UTC (embeddings not counted). The "
        "organization's own budget (`/api/v1/usage/budget`) may stop model calls sooner."
    )
    members: LimitRead = Field(description="Members, pending invitations included.")
    integrations: LimitRead = Field(description="Connected sources (Notion, Confluence, Guru, the web).")
