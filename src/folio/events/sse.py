"""Live events as server-sent events: `/api/v1/events` and `/api/v1/jobs/{job_id}/events`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from fastapi.sse import EventSourceResponse, ServerSentEvent

from folio.db_retry import is_away
from folio.deps import API_V1, HubDep
from folio.errors import Forbidden
from folio.events.errors import EventsForbidden, EventSubjectNotFound, TooManyStreams
from folio.events.hub import ServerRestarting
from folio.events.sse_deps import AccessDep, JobStreamDep, OrgSubscription, is_final
from folio.events.sse_docs import JOB_STREAM, ORG_STREAM, stream_responses
from folio.events.sse_stream import RETRY_MILLISECONDS, relay
from folio.jitter import jitter
from folio.jobs.errors import JobNotFound
from folio.routing import Router

log = structlog.get_logger(__name__)
router = Router(prefix=API_V1, tags=["events"])

_RESUMING = (
    "Each event carries its id (`id:`), except live-only `job.progress`; a client that reconnects with "
    "`Last-Event-ID` (EventSource does) or `since` gets every event after that id first, none twice, then the live "
    "ones. The stream starts with a `retry:` line and sends a comment (`: heartbeat`) whenever it was silent for "
    "`FOLIO_EVENTS__HEARTBEAT_SECONDS`. It ends when the client falls too far behind (`: closed: "
    "SUBSCRIBER_TOO_SLOW`: reconnect with `Last-Event-ID`), when its credential changes (a revoked key, a removed "
    "member, an expired token, a new role: it is checked again every minute), or when the server restarts (a last "
    "`restarting` event with a `retry:` line: reconnect with `Last-Event-ID`, to another process), or when the "
    "database is away for now (an `unavailable` event, the same way). Authenticate "
    "with `Authorization: "
    "Bearer` or `X-API-Key` (browsers: a fetch-based EventSource, since the built-in one sends no headers). Each "
    "organization has at most `FOLIO_EVENTS__MAX_CONNECTIONS_PER_ORG` live streams (WebSockets included)."
)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses=stream_responses(ORG_STREAM, EventsForbidden, EventSubjectNotFound, TooManyStreams),
    summary="Follow the organization's events (server-sent events)",
    description=(
        "Every event of the organization you may read, as it is committed: jobs, documents, summaries, batches, "
        "records, enrichment; administration events (`member.*`, `api_key.*`, `webhook.*`) for admins only. "
        "Narrow it with `types` and `subject`. The `data` of each event is an `Event` (see the schema). " + _RESUMING
    ),
)
async def stream_events(
    subscription: OrgSubscription, access: AccessDep, hub: HubDep
) -> AsyncIterator[ServerSentEvent]:
    async for item in until_restart(relay(subscription, heartbeat=hub.settings.heartbeat_seconds, access=access)):
        yield item


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    responses=stream_responses(JOB_STREAM, Forbidden, JobNotFound, TooManyStreams),
    summary="Follow a job until it finishes (server-sent events)",
    description=(
        "First the job's state now, as the event of that state (`job.queued`, `job.started`, or its outcome) with "
        "no id: it summarises what the stored events said, so a reconnecting client starts from it again (no "
        "`Last-Event-ID` needed). Then the job's events as they happen (`job.progress` included) until its final "
        "event (`job.succeeded`, `job.failed` or `job.cancelled`), after which the stream ends; a job already "
        "finished answers its outcome and ends. The stream starts with a `retry:` line and sends a comment "
        "(`: heartbeat`) whenever it was silent for `FOLIO_EVENTS__HEARTBEAT_SECONDS`; when the server restarts, "
        "it ends with a `restarting` event and a `retry:` line: reconnect."
    ),
)
async def follow_job(stream: JobStreamDep, access: AccessDep, hub: HubDep) -> AsyncIterator[ServerSentEvent]:
    events = relay(
        stream.subscription,
        heartbeat=hub.settings.heartbeat_seconds,
        access=access,
        first=[stream.state],
        last=is_final,
    )
    async for item in until_restart(events):
        yield item


async def until_restart(items: AsyncIterator[ServerSentEvent]) -> AsyncIterator[ServerSentEvent]:
    """The stream's items; when the server restarts, a last `restarting` event, and when the database is away, a
    last `unavailable` one: either tells the client to reconnect (to another process, perhaps)."""
    try:
        async for item in items:
            yield item
    except ServerRestarting:
        yield _reconnect("restarting", "The server is restarting: reconnect with Last-Event-ID.")
    except Exception as error:
        if not is_away(error):
            raise
        log.warning("event_stream_database_unavailable", exc_info=True)
        yield _reconnect("unavailable", "The database is unavailable for now: reconnect with Last-Event-ID.")


def _reconnect(event: str, message: str) -> ServerSentEvent:
    """A last event telling the client to reconnect within a few seconds, spread so that the clients of a process
    do not all come back at once."""
    return ServerSentEvent(
        event=event,
        data={"code": "SERVER_BUSY", "message": message},
        retry=round(RETRY_MILLISECONDS * jitter(0.5, 2.5)),
    )
