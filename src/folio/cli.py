"""The `folio` command: serve, migrate, and operator tasks that need database access."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
import uvicorn
from prometheus_client import start_http_server
from pydantic import ValidationError
from redis.asyncio import Redis
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio.auth import keys_service
from folio.auth import service as auth
from folio.auth.principal import Scope
from folio.db import create_engine, create_sessionmaker
from folio.documents.storage import storage_for
from folio.embedded_postgres import EmbeddedPostgres
from folio.embeddings.factory import LazyProvider, identity
from folio.embeddings.index import check_embedding_index
from folio.errors import FolioError
from folio.events.bus import RedisBus
from folio.events.outbox import BUS
from folio.ingest_client import ingest_command
from folio.jobs.handlers import build_handlers
from folio.jobs.periodic import periodic_work
from folio.jobs.queue import JobQueue
from folio.jobs.service import JOB_QUEUE
from folio.llm.registry import LLMRegistry
from folio.migrate import MIGRATIONS_DIR, alembic_config, upgrade_to_head
from folio.observability.logging import configure_logging
from folio.observability.startup import log_startup
from folio.orgs import service as orgs
from folio.plans import service as plans
from folio.settings import Settings
from folio.usage.service import meter_for
from folio.webhooks.fanout import running_fan_out

app = typer.Typer(help="Folio: document intelligence you host yourself.", no_args_is_help=True)
users = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
keys = typer.Typer(help="Manage API keys.", no_args_is_help=True)
orgs_app = typer.Typer(help="Manage organizations.", no_args_is_help=True)
app.command("ingest")(ingest_command)
app.add_typer(users, name="users")
app.add_typer(keys, name="keys")
app.add_typer(orgs_app, name="orgs")
console = Console()
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            console.print(f"[red]Configuration error:[/red] {error['msg']}")
        raise typer.Exit(2) from exc


@asynccontextmanager
async def _engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    embedded = None
    url = settings.database_url
    if url is None:
        embedded = await asyncio.to_thread(EmbeddedPostgres, settings.embedded_database_dir)
        url = embedded.url
    engine = create_engine(url, settings)
    try:
        yield engine
    finally:
        await engine.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.release)


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` on a migrated database and commit it, as a request would (`work` may commit part of it before
    slow work, see `folio.db.release`); print Folio errors, exit 1."""

    async def run() -> T:
        async with _engine(_settings()) as engine:
            await upgrade_to_head(engine)
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result

    try:
        return asyncio.run(run())
    except FolioError as exc:
        console.print(f"[red]{exc.code}:[/red] {exc.detail_message}")
        raise typer.Exit(1) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default FOLIO_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default FOLIO_PORT or 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Serve the API (migrating the database first unless FOLIO_DB__MIGRATE_ON_START=false)."""
    settings = _settings()
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Every worker writes its metrics here, so /metrics adds up all of them, whichever worker answers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="folio-metrics-")
    uvicorn.run(
        "folio.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        log_config=None,
        # On SIGTERM, requests still running get this long to finish (live event streams end at once, telling their
        # clients to reconnect: `folio.events.hub.streams_end_first`); then the jobs running in this process get
        # FOLIO_JOBS__DRAIN_SECONDS.
        timeout_graceful_shutdown=10,
        # What a WebSocket client can make the server buffer before the 4 KiB message check (uvicorn: 16 MiB).
        ws_max_size=64 * 1024,
        forwarded_allow_ips=",".join(settings.http.trusted_proxies) or None,
        proxy_headers=bool(settings.http.trusted_proxies),
    )


@app.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics over HTTP on this port (any path).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address the metrics port binds (0.0.0.0: every interface).")] = (
        "127.0.0.1"
    ),
    heartbeat_file: Annotated[
        Path | None,
        typer.Option(
            help="Touch this file after every reaper pass (each FOLIO_JOBS__REAPER_SECONDS) and remove it on stop: "
            "`python -m folio.heartbeat` tells from its age whether the worker still turns."
        ),
    ] = None,
) -> None:
    """Run jobs from the Redis queue (scale-out). Without FOLIO_REDIS_URL the API runs jobs itself.

    SIGTERM (or Ctrl-C) stops it: no new job starts, running jobs get FOLIO_JOBS__DRAIN_SECONDS to finish, and the
    others go back to the queue at once for another worker."""
    settings = _settings()
    redis_url = settings.redis_url
    if redis_url is None:
        console.print("[red]folio worker needs FOLIO_REDIS_URL.[/red] Without Redis the API process runs jobs itself.")
        raise typer.Exit(2)
    configure_logging(settings.log)
    log_startup(settings, "worker")

    async def run() -> None:
        async with _engine(settings) as engine:
            await check_embedding_index(engine, *identity(settings.embeddings))
            embedder = LazyProvider(settings.embeddings)
            llm = LLMRegistry(settings)
            redis = Redis.from_url(redis_url)
            outlets: dict[str, Any] = {BUS: RedisBus(redis)}
            sessionmaker = create_sessionmaker(engine, outlets)
            meter = meter_for(settings, sessionmaker)
            storage = storage_for(settings)
            periodics, periodic_handlers = periodic_work(settings, storage)
            handlers = {**build_handlers(settings, storage, embedder, llm, meter), **periodic_handlers}
            queue = outlets[JOB_QUEUE] = JobQueue(
                sessionmaker, settings.jobs, handlers, redis_url, periodics, heartbeat=heartbeat_file
            )
            stopping = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stopping.set)
            exporter = None if metrics_port is None else start_http_server(metrics_port, addr=metrics_host)[0]
            await queue.start(consume=True)
            console.print(f"Worker running {settings.jobs.concurrency} jobs at a time; Ctrl-C stops it.")
            try:
                async with running_fan_out(sessionmaker, settings.webhooks):
                    await stopping.wait()
            finally:
                await queue.stop()
                if exporter is not None:
                    exporter.shutdown()
                await embedder.close()
                await llm.close()
                await redis.aclose()

    asyncio.run(run())


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest version."""

    async def run() -> None:
        async with _engine(_settings()) as engine:
            await upgrade_to_head(engine)

    asyncio.run(run())
    console.print("[green]Database is at the latest migration.[/green]")


@app.command()
def makemigration(slug: Annotated[str, typer.Argument(help="Short name, such as add_documents.")]) -> None:
    """(Developers) Write a new migration from the difference between the models and the database."""
    from alembic import command

    async def run() -> None:
        async with _engine(_settings()) as engine:
            await upgrade_to_head(engine)
            async with engine.begin() as connection:
                await connection.run_sync(
                    lambda sync: command.revision(alembic_config(sync), message=slug, autogenerate=True)
                )

    asyncio.run(run())
    console.print(f"New migration written under {MIGRATIONS_DIR / 'versions'}; review it before committing.")


@users.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="At least 10 characters.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the part of the email before @).")] = None,
    org: Annotated[str | None, typer.Option(help="Name of the organization to create for the user.")] = None,
) -> None:
    """Create a user who owns a new organization (their personal one unless --org names it)."""

    async def work(session: AsyncSession) -> tuple[UUID, UUID]:
        user, personal = await auth.create_user(
            session, email=email, password=password, name=name or email.split("@")[0]
        )
        if org is None:
            return user.id, personal.id
        named = await orgs.create_org(session, name=org, owner_id=user.id)
        return user.id, named.id

    user_id, org_id = _in_transaction(work)
    console.print(f"Created user {user_id} ({email}), owner of organization {org_id}.")


@keys.command("create")
def create_key(
    org: Annotated[UUID, typer.Option(help="Organization id.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    scopes: Annotated[str, typer.Option(help=f"Comma-separated: {', '.join(Scope)}.")],
) -> None:
    """Create an API key for an organization and print its secret (shown only this once)."""
    try:
        chosen = [Scope(scope.strip()) for scope in scopes.split(",") if scope.strip()]
    except ValueError as exc:
        console.print(f"[red]Unknown scope.[/red] Choose from: {', '.join(Scope)}")
        raise typer.Exit(2) from exc

    async def work(session: AsyncSession) -> str:
        await orgs.get_org_by_id(session, org_id=org)
        _, secret = await keys_service.create_operator_key(session, org_id=org, name=name, scopes=chosen)
        return secret

    secret = _in_transaction(work)
    console.print("API key (store it now; it is not shown again):", style="bold")
    sys.stdout.write(secret + "\n")


@app.command("rotate-credentials")
def rotate_credentials() -> None:
    """Re-encrypt every stored credential (model API keys, webhook secrets, integration tokens) under the first key
    of FOLIO_ENCRYPTION_KEYS; then the other keys can be dropped."""
    from folio.llm.crypto import CredentialCipher
    from folio.rotation import rotate_credentials as rotate

    cipher = CredentialCipher(_settings().encryption_key_list)
    outcome = _in_transaction(lambda session: rotate(session, cipher))
    console.print(f"Re-encrypted {outcome.rotated} credentials under the first key.")
    if outcome.unreadable:
        console.print(
            f"[yellow]{len(outcome.unreadable)} could not be decrypted by any configured key and were left as they "
            f"are:[/yellow] {', '.join(outcome.unreadable[:20])}"
        )
        raise typer.Exit(1)


@orgs_app.command("set-plan")
def set_plan(
    org_id: Annotated[UUID, typer.Argument(help="Organization id.")],
    plan: Annotated[str, typer.Argument(help="A plan of FOLIO_PLANS__LIMITS, such as free, team or enterprise.")],
) -> None:
    """Put an organization on a plan: its limits apply while FOLIO_PLANS__ENFORCE is on."""
    configured = _settings().plans
    if plan not in configured.limits:
        console.print(f"[red]Unknown plan {plan!r}.[/red] Choose from: {', '.join(sorted(configured.limits))}")
        raise typer.Exit(2)

    async def work(session: AsyncSession) -> None:
        await plans.set_plan(session, org_id=org_id, plan=plan)

    _in_transaction(work)
    enforced = "enforced" if configured.enforce else "not enforced: FOLIO_PLANS__ENFORCE is off"
    console.print(f"Organization {org_id} is on the {plan} plan ({enforced}).")
