"""The settings groups: `FOLIO_<GROUP>__<NAME>` variables, one model per group."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator

DEVELOPMENT_JWT_SECRET = "folio-development-secret-do-not-use-in-production"  # noqa: S105


class DatabaseSettings(BaseModel):
    pool_size: int = Field(10, ge=1, description="Connections kept open per process.")
    max_overflow: int = Field(10, ge=0, description="Extra connections allowed under load.")
    migrate_on_start: bool = Field(True, description="Run Alembic migrations to head when the API starts.")
    pool_timeout_seconds: float = Field(
        5, gt=0, description="Longest wait for a pooled connection; then the request answers 503 with Retry-After."
    )
    echo: bool = False


class AuthSettings(BaseModel):
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    jwt_issuer: str = "folio"
    jwt_audience: str = "folio-api"
    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(30, ge=1, le=365)
    refresh_grace_seconds: int = Field(
        30,
        ge=0,
        le=300,
        description="How long a refresh token may be presented again after its first use (two tabs refreshing at "
        "once) and still get new tokens in the same session; later reuse revokes the session. 0: never.",
    )
    principal_cache_seconds: float = Field(
        60,
        ge=0,
        le=3600,
        description="How long a request's authenticated principal (session or API key, user, membership, role, "
        "units, organization) is reused without reading the database. Logout, key revocation, role, membership and "
        "unit changes hold from the next request in every process: at once in this one, elsewhere through "
        "per-principal versions in Redis that every cached request checks. While Redis cannot be reached, requests "
        "read the database and a change's response waits up to this long. 0: read the database on every request.",
    )
    principal_cache_entries: int = Field(
        10_000, ge=1, description="Principals one API process keeps cached (least recently used go first)."
    )

    @property
    def access_token_ttl(self) -> timedelta:
        return timedelta(minutes=self.access_token_minutes)

    @property
    def refresh_token_ttl(self) -> timedelta:
        return timedelta(days=self.refresh_token_days)


class RateLimitSettings(BaseModel):
    """Limits in the `limits` notation ("600/minute", "10/second;100/hour")."""

    enabled: bool = True
    user: str = "600/minute"
    api_key: str = "1200/minute"
    anonymous: str = "120/minute"
    auth: str = "10/minute"


class HttpSettings(BaseModel):
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Allowed browser origins; empty in development means every origin.",
    )
    max_body_kb: int = Field(1024, ge=1, description="Largest JSON or form body accepted, in KiB.")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Proxy addresses whose X-Forwarded-For is believed."
    )
    max_in_flight: int = Field(
        200,
        ge=1,
        description="Requests one API process serves at once; more answer 503 SERVER_BUSY with Retry-After at once "
        "instead of queueing (health probes and /metrics are always served).",
    )
    max_form_fields: int = Field(32, ge=1, description="Text fields an upload may carry besides its files.")
    max_form_kb: int = Field(256, ge=1, description="Total size of an upload's text fields and part headers, in KiB.")
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token /metrics requires. Unset: /metrics is open in development and off (404) in "
        "production, so set it there (Prometheus: `authorization: {credentials: <token>}`).",
    )


class IngestionSettings(BaseModel):
    max_pages: int = Field(2000, ge=1, description="Pages a document may have.")
    max_chars: int = Field(20_000_000, ge=1, description="Characters of text a document may have.")
    max_archive_mb: int = Field(
        200, ge=1, description="Uncompressed size a DOCX may have, in MiB: declared, and checked by inflating."
    )
    max_archive_entries: int = Field(5000, ge=1, description="Files a DOCX may contain.")
    extract_seconds: float = Field(300, gt=0, description="Time one file's extraction may take.")
    # The model reads 256 tokens including its two special ones, so a chunk holds at most 254.
    chunk_tokens: int = Field(250, ge=16, le=254, description="Largest chunk, in embedding-model tokens.")
    chunk_overlap: int = Field(32, ge=0, description="Tokens repeated from a split paragraph's previous chunk.")

    @model_validator(mode="after")
    def _overlap_smaller_than_chunk(self) -> Self:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("FOLIO_INGESTION__CHUNK_OVERLAP must be smaller than FOLIO_INGESTION__CHUNK_TOKENS.")
        return self


class EmbeddingSettings(BaseModel):
    provider: Literal["local", "openai"] = Field(
        "local", description="`local`: MiniLM on this machine; `openai`: an OpenAI-compatible /v1/embeddings."
    )
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (unset: OpenAI's).")
    api_key: SecretStr = SecretStr("")
    model: str = Field("text-embedding-3-small", description="The remote model (provider `openai`).")
    request_dimensions: bool = Field(
        True, description="Ask the endpoint for 384 dimensions (OpenAI v3 models); off for servers that refuse it."
    )
    timeout_seconds: float = Field(30, gt=0)
    max_retries: int = Field(3, ge=0, le=10, description="SDK retries on timeouts, 429 and 5xx (with backoff).")
    threads: int = Field(0, ge=0, description="ONNX Runtime intra-op threads; 0: one per CPU this process may use.")
    batch_size: int | None = Field(
        None,
        ge=1,
        le=512,
        description="Texts per model call (local, default 8: fastest and leanest here) or per request (openai, 64).",
    )


class SearchSettings(BaseModel):
    text_search_config: str = Field(
        "english", pattern=r"^[a-z_]+$", description="PostgreSQL text search configuration when no language is told."
    )
    rrf_k: int = Field(60, ge=1, le=1000, description="Reciprocal rank fusion constant: higher flattens the ranks.")
    keyword_weight: float = Field(1.0, ge=0, le=10, description="Weight of the keyword ranking in hybrid fusion.")
    vector_weight: float = Field(1.0, ge=0, le=10, description="Weight of the vector ranking in hybrid fusion.")
    candidates: int = Field(100, ge=10, le=1000, description="Candidates each side ranks before fusion.")
    keyword_candidates: int = Field(
        1000,
        ge=100,
        description="Most chunks BM25 scores for one query, chosen by the query's rarest words: keeps keyword search "
        "fast when a query word is in a large share of the organization's chunks.",
    )
    bm25_k1: float = Field(1.2, ge=0, le=5, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation.")
    exact_below: int = Field(
        20_000, ge=0, description="An organization with fewer live chunks is searched exactly instead of by HNSW."
    )
    ef_search: int = Field(100, ge=10, le=1000, description="HNSW candidate list (pgvector `hnsw.ef_search`).")


class LLMSettings(BaseModel):
    """The server's language model; an organization's own settings (PUT /api/v1/llm/settings) take precedence."""

    provider: Literal["extractive", "openai"] = Field(
        "extractive",
        description="`extractive`: the offline engine (cited sentences, no model); `openai`: an OpenAI-compatible "
        "/v1/chat/completions.",
    )
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (unset: OpenAI's).")
    api_key: SecretStr = SecretStr("")
    model: str = Field("gpt-4o-mini", min_length=1, description="The remote model (provider `openai`).")
    timeout_seconds: float = Field(60, gt=0, description="Per request; for a stream, the longest wait for a chunk.")
    max_retries: int = Field(2, ge=0, le=10, description="SDK retries on timeouts, connection errors, 429 and 5xx.")
    breaker_failures: int = Field(5, ge=1, le=1000, description="Consecutive failures that open the circuit.")
    breaker_reset_seconds: float = Field(30, gt=0, description="How long an open circuit refuses calls before a trial.")
    context_tokens: int = Field(8192, ge=512, description="The model's context window: prompt and answer together.")
    max_answer_tokens: int = Field(1024, ge=16, description="Longest answer asked of the model.")
    temperature: float = Field(0.2, ge=0, le=2)
    org_concurrency: int = Field(
        8,
        ge=1,
        le=1000,
        description="Model calls (answers, chats, /v1, summaries, enrichment) one organization may have running at "
        "once, across every API and worker process when FOLIO_REDIS_URL is set; a stream holds its slot until it ends.",
    )
    org_busy_wait_seconds: float = Field(
        2,
        ge=0,
        le=60,
        description="How long a call waits for one of its organization's slots before it fails with 429 LLM_BUSY.",
    )
    org_slot_lease_seconds: float = Field(
        30,
        ge=2,
        le=3600,
        description="Lease of a slot in Redis, renewed while the call runs: a process that dies frees its slots "
        "after at most this long.",
    )
    client_cache_size: int = Field(
        128, ge=1, le=100_000, description="Model clients (one per model, base URL and key) kept open; LRU."
    )
    client_idle_seconds: float = Field(
        600, gt=0, description="A model client unused this long is closed (its connections with it)."
    )

    @model_validator(mode="after")
    def _answer_fits_the_context(self) -> Self:
        if self.max_answer_tokens >= self.context_tokens:
            raise ValueError("FOLIO_LLM__MAX_ANSWER_TOKENS must be smaller than FOLIO_LLM__CONTEXT_TOKENS.")
        return self


class JobSettings(BaseModel):
    max_attempts: int = Field(3, ge=1, le=20, description="Tries of a job before it fails for good.")
    lease_seconds: float = Field(60, gt=0, description="A running job's lease; a worker that misses it is dead.")
    reaper_seconds: float = Field(5, gt=0, description="How often expired leases and due jobs are looked for.")
    backoff_seconds: float = Field(2, ge=0, description="First retry delay; doubles per attempt, with jitter.")
    backoff_max_seconds: float = Field(300, ge=0, description="Longest retry delay.")
    concurrency: int = Field(2, ge=1, description="Jobs one worker process runs at once.")
    drain_seconds: float = Field(
        20,
        ge=0,
        description="On SIGTERM, how long running jobs have to finish; those still running then are handed back to "
        "the queue at once (another worker takes them), not after their lease.",
    )
    worker_niceness: int = Field(
        10,
        ge=0,
        le=19,
        description="How far below the API processes a `folio worker` runs in the CPU scheduler (a Unix nice "
        "increment): on a host both share, extraction and embedding yield the CPU to requests.",
    )


class EventSettings(BaseModel):
    retention_days: float = Field(
        30, gt=0, description="Stored events older than this are deleted; `since` cannot resume beyond it."
    )
    relay_seconds: float = Field(
        1,
        gt=0,
        description="How often each API process reads the outbox for events it was not sent (a crash "
        "between commit and publish, a Redis outage).",
    )
    max_queue: int = Field(
        1000, ge=10, description="Events waiting for one live client; a client that falls further behind is dropped."
    )
    heartbeat_seconds: float = Field(15, gt=0, description="Pings on WebSockets and comments on SSE streams.")
    auth_timeout_seconds: float = Field(10, gt=0, description="Time a WebSocket has to authenticate.")
    max_connections_per_org: int = Field(
        200, ge=1, description="Live WebSocket and SSE streams of one organization on one API process."
    )
    max_connections: int = Field(
        5000, ge=1, description="Live WebSocket and SSE streams of one API process, all organizations together."
    )


class WebhookSettings(BaseModel):
    fan_out_seconds: float = Field(
        0.5, gt=0, description="How often new events are turned into deliveries (the latency a webhook adds)."
    )
    max_per_org: int = Field(20, ge=1, description="Webhook endpoints one organization may register.")
    timeout_seconds: float = Field(10, gt=0, description="Time a receiver has to answer a delivery.")
    retry_schedule_seconds: list[float] = Field(
        [5, 300, 1800, 7200, 18000, 36000, 36000],
        max_length=30,
        description="Delays before each retry of a failed delivery (the Standard Webhooks schedule: about 27 hours "
        "over 8 attempts).",
    )
    disable_after_failures: int = Field(
        10, ge=1, description="Consecutive failed deliveries after which an endpoint is disabled."
    )


class AuditSettings(BaseModel):
    retention_days: int = Field(
        365,
        ge=30,
        description="Audit log entries older than this are deleted (hourly). At least 30: the database refuses to "
        "delete a younger entry.",
    )


class CaseSettings(BaseModel):
    max_bulk: int = Field(100, ge=1, le=1000, description="Cases one bulk update (`POST /api/v1/cases/bulk`) changes.")


class AlertSettings(BaseModel):
    evaluate_seconds: float = Field(
        300,
        ge=10,
        description="How often spike rules and SLA conditions are evaluated (the other rules run as cases and "
        "documents are indexed and enriched).",
    )


class AnalyticsSettings(BaseModel):
    cache_seconds: float = Field(
        60,
        ge=0,
        description="How long an analytics answer is kept for the same question (0: never); an event of the "
        "organization (a case changed, a document indexed…) ends it sooner.",
    )
    cache_entries: int = Field(2000, ge=1, description="Analytics answers kept per API process (least recent go).")
    pulse_days: int = Field(
        7,
        ge=0,
        le=31,
        description="Every how many days each organization gets its pulse digest as an event, a notification and a "
        "webhook (0: never).",
    )


class RecordSettings(BaseModel):
    max_text_chars: int = Field(100_000, ge=1, description="Longest text a record may have; longer rows are refused.")
    max_row_chars: int = Field(
        2_000_000,
        ge=1,
        description="Characters one row of a batch file may hold, all its fields and line breaks (JSONL: the line); "
        "a longer row fails with ROW_TOO_LARGE and is read past without being held. At least max_text_chars.",
    )
    max_row_lines: int = Field(
        10_000, ge=1, description="Physical lines one CSV row may span (quoted fields may hold line breaks)."
    )
    import_rows: int = Field(1000, ge=1, le=10_000, description="Rows of a batch file written per transaction.")
    index_records: int = Field(64, ge=1, le=1000, description="Records embedded, indexed and enriched per step.")

    @model_validator(mode="after")
    def _row_holds_a_text(self) -> Self:
        if self.max_row_chars < self.max_text_chars:
            raise ValueError("FOLIO_RECORDS__MAX_ROW_CHARS must be at least FOLIO_RECORDS__MAX_TEXT_CHARS.")
        return self


class EnrichmentSettings(BaseModel):
    concurrency: int = Field(
        4, ge=1, le=64, description="Language-model calls for enrichment one organization may have running at once."
    )
    max_content_chars: int = Field(
        24_000, ge=1000, description="Longest text given to the model for one enrichment (longer texts are cut)."
    )


class ExportSettings(BaseModel):
    link_hours: float = Field(
        24,
        gt=0,
        le=24 * 30,
        description="How long an export job's file and its download link live after the job finishes; then both "
        "are deleted.",
    )
    page_rows: int = Field(2000, ge=100, le=10_000, description="Rows an export reads per transaction.")
    page_kb: int = Field(
        8192,
        ge=256,
        le=262_144,
        description="Text (case and document texts, metadata) an export reads per transaction, in KiB, roughly: a "
        "page ends early when its rows hold more.",
    )
    max_jobs_per_org: int = Field(
        3, ge=1, le=100, description="Export jobs one organization may have queued or running at once."
    )
    max_streams_per_org: int = Field(
        4, ge=1, le=1000, description="Streamed exports one organization may have running at once on one API process."
    )
    max_file_mb: int = Field(4096, ge=1, description="Largest file an export job may store, in MiB.")


class ModelPrice(BaseModel):
    prompt: float = Field(ge=0, description="USD per million prompt (input) tokens.")
    completion: float = Field(0, ge=0, description="USD per million completion (output) tokens.")


class UsageSettings(BaseModel):
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description="Prices by model name, for the cost of recorded usage; models not listed cost null (unknown). "
        "The offline `folio-extractive` engine and the local embedding model cost nothing.",
        examples=[{"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}, "text-embedding-3-small": {"prompt": 0.02}}],
    )


class LogSettings(BaseModel):
    level: str = "INFO"
    json_output: bool = Field(True, alias="json")
