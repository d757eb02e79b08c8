from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field

from folio.models import Role
from folio.schemas import ReadModel, RequestModel


class OrgCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200, examples=["Acme Legal"])


class OrgUpdate(RequestModel):
    name: str | None = Field(None, min_length=1, max_length=200)


class OrgRead(ReadModel):
    id: UUID
    name: str
    is_personal: bool
    created_at: datetime
    role: Role | None = Field(None, description="Your role in this organization (null for API keys).")


class MemberAdd(RequestModel):
    email: EmailStr = Field(examples=["grace@example.com"])
    role: Role = Field(examples=["editor"])


class MemberUpdate(RequestModel):
    role: Role


class MemberRead(BaseModel):
    user_id: UUID
    email: str
    name: str
    role: Role
    joined_at: datetime
