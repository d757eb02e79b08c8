from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field

from folio.models import IntegrationKind, IntegrationStatus, SyncStatus
from folio.schemas import ReadModel, RequestModel

Name = Annotated[str, Field(min_length=1, max_length=200, examples=["Engineering wiki"])]
Config = Annotated[
    dict[str, Any],
    Field(
        description="What to sync, by kind: notion `{database_ids, page_ids}`; confluence `{site_url, space_keys, "
        "include_attachments}`; guru `{collection_ids, verified_only}`; web `{start_url, sitemap_url, max_pages, "
        "max_depth, path_prefix}`. Checked against the kind (`INTEGRATION_CONFIG_INVALID`).",
        examples=[{"database_ids": ["0c5b0f9e3c8a4b7e9d2f1a6b5c4d3e2f"]}],
    ),
]
Credentials = Annotated[
    dict[str, Any],
    Field(
        description="Write-only, encrypted at rest, never returned: notion `{token}` (an internal integration's "
        "secret); confluence `{email, api_token}`; guru `{username, token}`; web none.",
        examples=[{"token": "ntn_0000000000000000000000000000000000000000000"}],
    ),
]
Interval = Annotated[
    int | None,
    Field(
        ge=1,
        le=10_080,
        description="Minutes between scheduled syncs (at least the server's minimum, "
        "FOLIO_INTEGRATIONS__MIN_INTERVAL_MINUTES); null: only when asked.",
        examples=[60],
    ),
]


class IntegrationCreate(RequestModel):
    kind: IntegrationKind
    name: Name
    config: Config = {}
    credentials: Credentials = {}
    sync_interval_minutes: Interval = None
    enabled: bool = True
    sync_now: bool = Field(True, description="Start a first sync at once (its job is in the answer).")


class IntegrationUpdate(RequestModel):
    """Only the fields given change. New `credentials` make a `needs_reauth` integration active again."""

    name: Name | None = None
    config: Config | None = None
    credentials: Credentials | None = None
    sync_interval_minutes: Interval = None
    enabled: bool | None = None


class IntegrationRead(ReadModel):
    id: UUID
    kind: IntegrationKind
    name: str
    config: dict[str, Any]
    auth_method: str = Field(description="`token` (set through the API) or `oauth` (the connection flow).")
    has_credentials: bool
    sync_interval_minutes: int | None
    enabled: bool
    status: IntegrationStatus = Field(
        description="`needs_reauth`: the source refused the credentials; no sync runs until new ones are set. "
        "`failing`: the last sync failed for another reason."
    )
    status_message: str | None
    last_synced_at: datetime | None
    next_sync_at: datetime | None
    created_at: datetime
    updated_at: datetime


class IntegrationCreated(IntegrationRead):
    sync_job_id: UUID | None = Field(None, description="The first sync's job, when `sync_now`.")


class CheckResult(ReadModel):
    ok: bool
    reached: str | None = Field(None, description="What the credentials reach, when they work.", examples=["Acme"])
    code: str | None = Field(None, description="Why not: an error code such as INTEGRATION_CREDENTIALS_REJECTED.")
    message: str | None = None


class SyncStarted(ReadModel):
    job_id: UUID


class SyncError(ReadModel):
    external_id: str
    title: str
    code: str
    message: str


class SyncRead(ReadModel):
    id: UUID
    job_id: UUID | None
    status: SyncStatus
    started_at: datetime
    finished_at: datetime | None
    listed: int = Field(description="Items the source listed in scope.")
    created: int
    updated: int
    deleted: int
    failed: int
    requests: int = Field(description="Calls made to the source.")
    error_code: str | None
    error_message: str | None
    errors: list[SyncError] = Field(description="The items that failed (the first 100).")


class ConnectStart(RequestModel):
    """A new integration (`name`, and optionally `config` and `sync_interval_minutes`), or new tokens for an
    existing one (`integration_id`)."""

    name: Name | None = None
    config: Config = {}
    sync_interval_minutes: Interval = None
    integration_id: UUID | None = Field(None, description="Reconnect this integration (of the same kind).")
    return_to: str | None = Field(
        None,
        max_length=2000,
        description="Where the browser goes once connected (with `integration_id`) or refused (with "
        "`integration_error`, a code); one of FOLIO_SSO__RETURN_URLS' prefixes. None: the callback answers JSON.",
    )


class ConnectUrl(ReadModel):
    authorization_url: str = Field(description="Send the person's browser here.")


class PublishRequest(RequestModel):
    summary_id: UUID
    target_id: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Where at the source: a Notion page id, a Confluence page id (or `attachment:<id>`). None: the "
        "item the summary's document was synced from.",
    )


class PublicationRead(ReadModel):
    id: UUID
    summary_id: UUID
    integration_id: UUID
    target_id: str
    remote_id: str = Field(description="The block (Notion) or comment (Confluence) written.")
    url: str | None = Field(description="Where a person opens it at the source.")
    created_at: datetime
