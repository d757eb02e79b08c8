from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field

from folio.models import InvitationStatus, Role
from folio.schemas import ReadModel, RequestModel

# RFC 5321 caps a forward path at 256 octets, so no deliverable address is longer than 254 characters.
Email = Annotated[EmailStr, Field(max_length=254, examples=["grace@example.com"])]


class OrgCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200, examples=["Acme Legal"])


class OrgUpdate(RequestModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    require_sso: bool | None = Field(
        None,
        description="Members other than owners sign in through a provider only (password login answers "
        "SSO_REQUIRED). Turning it on needs an admin whose own account is linked to a provider, and signs those "
        "members out once (their sessions may have begun with a password).",
    )


class OrgRead(ReadModel):
    id: UUID
    name: str
    is_personal: bool
    require_sso: bool = Field(description="Members other than owners must sign in through a provider.")
    created_at: datetime
    role: Role | None = Field(None, description="Your role in this organization (null for API keys).")


class InvitationCreate(RequestModel):
    email: Email
    role: Role = Field(examples=["editor"])


class MemberUpdate(RequestModel):
    role: Role


class MemberRead(BaseModel):
    user_id: UUID
    email: str
    name: str
    role: Role
    joined_at: datetime


class InvitationRead(ReadModel):
    id: UUID
    org_id: UUID
    email: str
    role: Role
    status: InvitationStatus
    invited_by: UUID | None = Field(description="The member who sent it; null when an API key did.")
    created_at: datetime
    expires_at: datetime


class InvitingOrg(ReadModel):
    id: UUID
    name: str


class MyInvitationRead(BaseModel):
    id: UUID
    org: InvitingOrg
    role: Role = Field(description="The role you get by accepting.")
    created_at: datetime
    expires_at: datetime
