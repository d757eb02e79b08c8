"""Outbound HTTP to addresses a tenant gives: which may be reached, how long to wait, how much to read, and how
many URL imports an organization may run at once."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OutboundSettings(BaseModel):
    """Outbound HTTP to URLs a tenant gives (its model endpoint; later webhooks and connectors)."""

    allow_private: bool = Field(
        False,
        description="Let tenant-given URLs reach loopback, private, link-local and other internal addresses "
        "(a self-hosted Ollama or vLLM on the deployment's own network). Off: such URLs are refused.",
    )
    allow_hosts: list[str] = Field(
        default_factory=list,
        description="With allow_private, only these host names, addresses or networks (CIDR) may be internal; "
        "empty: any. Cloud metadata addresses stay refused unless listed here.",
    )
    connect_timeout_seconds: float = Field(
        5, gt=0, le=60, description="Longest name resolution, and longest TCP/TLS connect, to a tenant-given URL."
    )
    timeout_seconds: float = Field(
        30,
        gt=0,
        le=600,
        description="Longest wait for a read or write of a tenant-given URL (model endpoints use "
        "FOLIO_LLM__TIMEOUT_SECONDS instead).",
    )
    max_response_kb: int = Field(
        10_240, ge=1, description="Largest response body read from a tenant-given URL, in KiB; larger is refused."
    )
    max_url_imports_per_org: int = Field(
        4,
        ge=1,
        le=1000,
        description="URL imports (POST /api/v1/documents/import-url) one organization may have running at once on one "
        "API process; past it, 429 TOO_MANY_URL_IMPORTS.",
    )
