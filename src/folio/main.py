"""The application factory: `create_app(settings)`; `uvicorn --factory folio.main:create_app` serves it."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.routing import APIRoute
from prometheus_client import multiprocess
from redis.asyncio import Redis

from folio import __doc__ as folio_doc
from folio.alerts import router as alerts_router
from folio.analytics import router as analytics_router
from folio.analytics.cache import AnalyticsCache
from folio.analytics.forecast import router as forecast_router
from folio.analytics.pulse import router as pulse_router
from folio.analytics.searches import router as search_analytics_router
from folio.analytics.trending import router as trending_router
from folio.answers import chats_router, openai_router
from folio.answers import router as answers_router
from folio.api_docs import install_docs
from folio.api_docs import router as errors_router
from folio.audit import router as audit_router
from folio.auth import keys_router
from folio.auth import router as auth_router
from folio.auth.deps import document_credentials
from folio.auth.principal_cache import PRINCIPAL_CACHE, PrincipalCache
from folio.auth.sso import router as sso_router
from folio.auth.tokens import AccessTokens
from folio.cases import router as cases_router
from folio.cors import CORSMiddleware
from folio.db import create_engine, create_sessionmaker
from folio.documents import router as documents_router
from folio.documents.storage import storage_for
from folio.embedded_postgres import EmbeddedPostgres
from folio.embeddings.factory import LazyProvider, identity
from folio.embeddings.index import check_embedding_index
from folio.enrichment import router as enrichment_router
from folio.error_handlers import install_error_handlers
from folio.events import sse as events_sse
from folio.events import ws as events_ws
from folio.events.bus import bus_for
from folio.events.hub import running_hub
from folio.events.outbox import BUS
from folio.exports import router as exports_router
from folio.feed import router as feed_router
from folio.inbox import router as inbox_router
from folio.integrations import router as integrations_router
from folio.jobs import router as jobs_router
from folio.jobs.handlers import build_handlers
from folio.jobs.periodic import periodic_work
from folio.jobs.queue import JobQueue
from folio.jobs.runner import Handler
from folio.jobs.service import JOB_QUEUE
from folio.llm import router as llm_router
from folio.llm.registry import LLMRegistry
from folio.migrate import head_revision, upgrade_to_head
from folio.observability import health
from folio.observability.logging import configure_logging
from folio.observability.metrics import instrument_pool
from folio.observability.middleware import Load, RequestMiddleware
from folio.observability.startup import log_startup
from folio.openapi import refine_openapi
from folio.orgs import router as orgs_router
from folio.plans import router as plans_router
from folio.ratelimit import RateLimiter
from folio.records import router as records_router
from folio.search import router as search_router
from folio.settings import Settings
from folio.shares import router as shares_router
from folio.shares.links import public_router as share_links_public_router
from folio.shares.links import router as share_links_router
from folio.summaries import router as summaries_router
from folio.summaries import templates_router
from folio.units import router as units_router
from folio.usage import router as usage_router
from folio.usage.service import meter_for
from folio.webhooks import router as webhooks_router
from folio.webhooks.fanout import running_fan_out

TAGS = [
    {"name": "auth", "description": "Registration, login, token refresh and logout, and who you are."},
    {"name": "orgs", "description": "Organizations and their members. Roles: owner > admin > editor > viewer."},
    {
        "name": "units",
        "description": "Business units: the parts of an organization that own cases, and members limited to some.",
    },
    {"name": "api-keys", "description": "Keys for scripts and services, with scopes capped by your role."},
    {"name": "documents", "description": "Upload files and follow them through ingestion."},
    {"name": "jobs", "description": "Background work with live progress, retries, cancel and retry."},
    {
        "name": "events",
        "description": "Live events over a WebSocket (`/api/v1/ws`: close codes and messages in its GET description) "
        "or server-sent events, resumable by event id.",
    },
    {"name": "search", "description": "Hybrid keyword and vector search over the organization's documents."},
    {"name": "answers", "description": "Questions answered from your documents, with citations; streamed or not."},
    {"name": "chats", "description": "Conversations with your documents: follow-up questions, stored with citations."},
    {"name": "openai", "description": "OpenAI's chat-completions API over your documents, for the `openai` client."},
    {"name": "llm", "description": "The language model of your organization's answers: the server's or your own."},
    {"name": "summaries", "description": "Summaries of documents written by a job, with templates or instructions."},
    {"name": "templates", "description": "Prompt templates for summaries and enrichment: built-in and your own."},
    {
        "name": "cases",
        "description": "Cases imported from CSV or JSONL batches, worked through a workflow: numbers, priorities, SLA, "
        "assignees, business units, history, comments, bulk changes, saved views.",
    },
    {"name": "enrichment", "description": "Structured labels of records and documents against JSON Schemas."},
    {
        "name": "alerts",
        "description": "Alert rules (saved searches, conditions on cases, spike detectors) and the alerts they raise.",
    },
    {
        "name": "analytics",
        "description": "The overview, time series, search analytics, trending, the pulse and forecasts: figures of "
        "what you may see, cached until something changes.",
    },
    {"name": "usage", "description": "Tokens and cost of every model call, and monthly token budgets."},
    {"name": "plans", "description": "The organization's plan: its limits and what it uses of each, for admins."},
    {"name": "webhooks", "description": "Events POSTed to your endpoints, signed by the Standard Webhooks scheme."},
    {
        "name": "integrations",
        "description": "Notion, Confluence, Guru and web sites synced in as documents, connected with a token or "
        "OAuth, and summaries published back to them.",
    },
    {"name": "audit", "description": "The append-only log of security-relevant events, for owners and admins."},
    {
        "name": "exports",
        "description": "Cases, documents, summaries, search hits and the audit log as CSV, JSON Lines, XLSX or "
        "Markdown: streamed, or written by a job into a file behind an expiring link.",
    },
    {"name": "feed", "description": "The organization's activity from its events, newest first, as people read it."},
    {
        "name": "shares",
        "description": "Items shared with members (to their inboxes), and public read-only links to documents "
        "and summaries.",
    },
    {"name": "inbox", "description": "Your notifications, pushed live, and where each kind of them goes."},
    {"name": "ops", "description": "Health checks, Prometheus metrics and the list of error codes."},
]


def operation_id(route: APIRoute) -> str:
    """`{tag}-{name}`, so generated clients get names like `auth-login` and `orgs-list_members`."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def _description() -> str:
    return (
        f"{folio_doc}\n\nEvery error answers with "
        '`{"error": {"code", "message", "details", "request_id"}}`. Its code is stable: `GET /api/v1/errors` '
        "lists every code with its HTTP status and meaning."
    )


def create_app(settings: Settings | None = None, *, job_handlers: Mapping[str, Handler] | None = None) -> FastAPI:
    """The API. `job_handlers` replaces the job kinds this process can run (tests use it)."""
    settings = settings or Settings()
    configure_logging(settings.log)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Whatever has started is released in reverse order, also when a later step fails.
        async with AsyncExitStack() as stack:
            url = settings.database_url
            if url is None:
                embedded = await anyio.to_thread.run_sync(EmbeddedPostgres, settings.embedded_database_dir)
                stack.push_async_callback(anyio.to_thread.run_sync, embedded.release)
                url = embedded.url
            engine = create_engine(url, settings)
            stack.push_async_callback(engine.dispose)
            instrument_pool(engine)
            if settings.db.migrate_on_start:
                await upgrade_to_head(engine)
            await check_embedding_index(engine, *identity(settings.embeddings))
            app.state.settings = settings
            app.state.engine = engine
            # Filled below as the services start; after-commit effects of every session reach them here.
            outlets: dict[str, Any] = {}
            app.state.sessionmaker = create_sessionmaker(engine, outlets)
            app.state.head_revision = head_revision()
            app.state.access_tokens = AccessTokens(settings.auth)
            app.state.rate_limiter = RateLimiter(settings.rate_limit, settings.redis_url)
            stack.push_async_callback(app.state.rate_limiter.close)
            app.state.principal_cache = outlets[PRINCIPAL_CACHE] = PrincipalCache(settings.auth, settings.redis_url)
            stack.push_async_callback(app.state.principal_cache.close)
            app.state.redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
            if app.state.redis is not None:
                stack.push_async_callback(app.state.redis.aclose)
            outlets[BUS] = bus = bus_for(app.state.redis)
            app.state.hub = await stack.enter_async_context(running_hub(app.state.sessionmaker, settings.events, bus))
            app.state.analytics_cache = AnalyticsCache(
                seconds=settings.analytics.cache_seconds, entries=settings.analytics.cache_entries
            )
            app.state.hub.observers.append(app.state.analytics_cache.changed)
            app.state.storage = storage_for(settings)
            app.state.llm = LLMRegistry(settings)
            stack.push_async_callback(app.state.llm.close)
            app.state.usage = meter_for(settings, app.state.sessionmaker)
            embedder = LazyProvider(settings.embeddings)
            app.state.embedder = embedder
            stack.push_async_callback(embedder.close)
            periodics, periodic_handlers = periodic_work(settings, app.state.storage)
            handlers = (
                {
                    **build_handlers(settings, app.state.storage, embedder, app.state.llm, app.state.usage),
                    **periodic_handlers,
                }
                if job_handlers is None
                else job_handlers
            )
            job_queue = JobQueue(
                app.state.sessionmaker,
                settings.jobs,
                handlers,
                settings.redis_url,
                periodics if job_handlers is None else (),
            )
            # Embedded, this process runs the jobs; scale-out, `folio worker` processes do.
            await job_queue.start(consume=job_queue.embedded)
            stack.push_async_callback(job_queue.stop)
            app.state.job_queue = outlets[JOB_QUEUE] = job_queue
            log_startup(settings, "api")
            if job_queue.embedded and job_handlers is None:
                # Embedded, this process also turns events into webhook deliveries; scale-out, workers do.
                await stack.enter_async_context(running_fan_out(app.state.sessionmaker, settings.webhooks))
            if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
                stack.callback(multiprocess.mark_process_dead, os.getpid())
            # What start-up made lives as long as the app: out of the collector's sight, a full collection no longer
            # walks it (~250 ms each on this heap, the p99 of requests under load).
            gc.freeze()
            stack.callback(gc.unfreeze)
            yield

    app = FastAPI(
        title="Folio",
        version="0.1.0",
        description=_description(),
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # Folio's metrics are Prometheus's and its logs structlog's: FastAPI's native OpenTelemetry stays off, or
        # it would look up the global OpenTelemetry providers (in the environment) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    document_credentials(app)
    refine_openapi(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.http.cors_origins or (["*"] if settings.is_development else []),
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            "X-Request-ID",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Retry-After",
        ],
    )
    app.state.load = Load(settings.http.max_in_flight)
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.http.max_body_kb * 1024, load=app.state.load)
    install_error_handlers(app)

    routers = (
        auth_router,
        orgs_router,
        units_router,
        keys_router,
        sso_router,
        plans_router,
        documents_router,
        jobs_router,
        events_ws,
        events_sse,
        search_router,
        answers_router,
        chats_router,
        openai_router,
        llm_router,
        summaries_router,
        templates_router,
        records_router,
        cases_router,
        alerts_router,
        analytics_router,
        pulse_router,
        search_analytics_router,
        trending_router,
        forecast_router,
        enrichment_router,
        usage_router,
        webhooks_router,
        integrations_router,
        audit_router,
        exports_router,
        feed_router,
        inbox_router,
        shares_router,
        share_links_router,
        share_links_public_router,
        errors_router,
        health,
    )
    for module in routers:
        app.include_router(module.router)
    return app
