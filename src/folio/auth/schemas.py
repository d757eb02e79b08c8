from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, EmailStr, Field

from folio.auth.passwords import MAX_LENGTH
from folio.auth.principal import Scope
from folio.models import Role
from folio.schemas import ReadModel, RequestModel


class UserRead(ReadModel):
    id: UUID
    email: str
    name: str
    created_at: datetime


class RegisterRequest(RequestModel):
    email: EmailStr = Field(examples=["ada@example.com"])
    password: str = Field(
        min_length=1,
        max_length=MAX_LENGTH,
        description="At least 10 characters and not among the most common passwords.",
        examples=["correct horse battery staple"],
    )
    name: str = Field(min_length=1, max_length=200, examples=["Ada Lovelace"])


class LoginRequest(RequestModel):
    email: str = Field(min_length=1, max_length=320, examples=["ada@example.com"])
    password: str = Field(min_length=1, max_length=MAX_LENGTH, examples=["correct horse battery staple"])


class RefreshRequest(RequestModel):
    # Generous on purpose: a wrong kind of token (an access JWT) should be told apart by a 401, not a 422.
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Lifetime of the access token in seconds.", examples=[900])


class RegisterResponse(TokenResponse):
    user: UserRead


class OrgSummary(ReadModel):
    id: UUID
    name: str


class ApiKeySummary(ReadModel):
    id: UUID
    name: str
    prefix: str


class MeResponse(BaseModel):
    principal: Literal["user", "api_key"]
    user: UserRead | None = Field(description="The signed-in user, or the member who created the API key.")
    org: OrgSummary
    role: Role | None = Field(
        description="The user's role in the active organization; for an API key, its creator's (null for keys "
        "made by the system)."
    )
    scopes: list[Scope]
    units: list[UUID] | None = Field(
        description="The business units whose cases alone are visible; null when not limited to any."
    )
    api_key: ApiKeySummary | None = None


class ApiKeyCreate(RequestModel):
    name: str = Field(min_length=1, max_length=100, examples=["ingestion script"])
    scopes: list[Scope] = Field(min_length=1, examples=[["documents:read", "search"]])
    expires_at: AwareDatetime | None = Field(
        None, description="When the key stops working, with a time zone and in the future; null for never."
    )


class ApiKeyRead(ReadModel):
    id: UUID
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.", examples=["folio_Zk3v9QbA"])
    scopes: list[Scope]
    created_by: UUID | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(description="The key itself. It is shown only in this response; store it now.")
