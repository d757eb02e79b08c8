"""The settings groups of accounts: plans (`FOLIO_PLANS__*`) and sign-in providers (`FOLIO_SSO__*`)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, SecretStr, model_validator


class PlanLimits(BaseModel):
    """What an organization on a plan may hold or use; None: no limit."""

    documents: int | None = Field(None, ge=0, description="Documents (files, pages and cases) it holds.")
    storage_bytes: int | None = Field(None, ge=0, description="Bytes of stored files and texts.")
    monthly_tokens: int | None = Field(None, ge=0, description="Model tokens per calendar month (UTC).")
    members: int | None = Field(None, ge=1, description="Members, invitations pending included.")
    integrations: int | None = Field(None, ge=0, description="Connected sources (Notion, Confluence, Guru, web).")


def _default_plans() -> dict[str, PlanLimits]:
    return {
        "free": PlanLimits(documents=1_000, storage_bytes=1 << 30, monthly_tokens=1_000_000, members=5, integrations=1),
        "team": PlanLimits(
            documents=100_000, storage_bytes=100 << 30, monthly_tokens=50_000_000, members=100, integrations=10
        ),
        "enterprise": PlanLimits(),
    }


class PlanSettings(BaseModel):
    enforce: bool = Field(
        False,
        description="Whether plan limits apply. Off, every organization may hold and use anything (a deployment "
        "for one team); on, each organization is held to its plan's limits.",
    )
    default: str = Field("free", description="The plan of a new organization (a key of `limits`).")
    limits: dict[str, PlanLimits] = Field(
        default_factory=_default_plans, description="Each plan's limits, by plan name (`plan_type`)."
    )

    @model_validator(mode="after")
    def _default_is_a_plan(self) -> Self:
        if self.default not in self.limits:
            raise ValueError(f"FOLIO_PLANS__DEFAULT {self.default!r} is none of the plans {sorted(self.limits)}")
        return self


class SsoProvider(BaseModel):
    """An OpenID Connect provider people may sign in with (Google: issuer `https://accounts.google.com`)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="Its name in URLs and on identities.")
    issuer: str = Field(description="The issuer URL; its discovery document is at /.well-known/openid-configuration.")
    client_id: str
    client_secret: SecretStr
    label: str | None = Field(None, description="What a sign-in button shows (default: the name).")
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])


class SsoSettings(BaseModel):
    providers: list[SsoProvider] = Field(default_factory=list, description="Sign-in providers (none: password only).")
    public_url: str | None = Field(
        None,
        description="The API's public base URL, for the redirect URI providers call back (default: the request's).",
    )
    return_urls: list[str] = Field(
        default_factory=list,
        description="Front-end URLs a sign-in may return to (exact origin and path prefix); none: only the API's own "
        "page that shows the tokens.",
    )
    flow_minutes: int = Field(10, ge=1, le=60, description="How long a started sign-in may take to come back.")
