"""Connected sources: where each kind's API is, the OAuth apps for the connection flow, and the bounds of a sync."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class OAuthApp(BaseModel):
    """The deployment's OAuth app at a source (registered there with the redirect URI
    `<public_url>/api/v1/integrations/oauth/callback`)."""

    client_id: str
    client_secret: SecretStr


class IntegrationSettings(BaseModel):
    notion_api_url: str = Field(
        "https://api.notion.com", description="Notion's API (a stand-in's, in development and tests)."
    )
    guru_api_url: str = Field("https://api.getguru.com", description="Guru's API.")
    atlassian_api_url: str = Field(
        "https://api.atlassian.com", description="Atlassian's API gateway, which OAuth-connected Confluence sites use."
    )
    atlassian_auth_url: str = Field("https://auth.atlassian.com", description="Atlassian's authorization server.")
    notion_oauth: OAuthApp | None = Field(None, description="Notion's public integration, for the connection flow.")
    confluence_oauth: OAuthApp | None = Field(
        None, description="The Atlassian OAuth 2.0 (3LO) app, for the connection flow."
    )
    max_per_org: int = Field(20, ge=1, le=1000, description="Integrations an organization may have, whatever its plan.")
    min_interval_minutes: int = Field(15, ge=1, le=1440, description="The shortest sync interval one may set.")
    max_items: int = Field(
        20_000,
        ge=1,
        le=1_000_000,
        description="Items one sync takes from a source; past it the sync stops and says so.",
    )
    max_item_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest page, card or attachment a sync stores; larger ones fail alone."
    )
    max_retries: int = Field(5, ge=0, le=20, description="Retries of a call the source rate-limited or failed (5xx).")
    max_retry_after_seconds: float = Field(
        60, gt=0, le=600, description="Longest wait a source's Retry-After is honoured for; longer fails the sync."
    )
    max_web_pages: int = Field(1000, ge=1, le=100_000, description="Pages a web source may list at most.")
    max_web_depth: int = Field(5, ge=0, le=20, description="Links a crawl may follow from its start URL at most.")
