"""What an event stream checks before it starts, each answering in the error envelope: the principal's right to
read events, the type filter, the subject or job (in a short transaction of their own), and a place among the
organization's live streams. Once the response has started no connection is held: the hub reads the outbox in
short transactions of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import StringConstraints

from folio.auth.deps import CurrentPrincipal, TokensDep, requires
from folio.auth.principal import Principal, Scope
from folio.deps import HubDep, SessionmakerDep
from folio.events.errors import EventsForbidden, EventSubjectNotFound
from folio.events.hub import Subscription
from folio.events.outbox import LiveEvent
from folio.events.schemas import SYSTEM, EventType, SubjectType
from folio.events.sse_access import Access
from folio.events.sse_repository import job_and_newest_event
from folio.events.topics import ORG, Topic, can_follow, readable, resource_exists, wants
from folio.jobs.errors import JobNotFound
from folio.jobs.events import job_data
from folio.models import Job, JobStatus

# The largest id PostgreSQL's bigint holds: a larger resume point would fail in SQL instead of answering 422.
MAX_EVENT_ID = 2**63 - 1
MAX_TYPE_VALUES = 50
STATE_EVENT = {
    JobStatus.QUEUED: EventType.JOB_QUEUED,
    JobStatus.RUNNING: EventType.JOB_STARTED,
    JobStatus.SUCCEEDED: EventType.JOB_SUCCEEDED,
    JobStatus.FAILED: EventType.JOB_FAILED,
    JobStatus.CANCELLED: EventType.JOB_CANCELLED,
}
FINAL_EVENTS = frozenset({EventType.JOB_SUCCEEDED, EventType.JOB_FAILED, EventType.JOB_CANCELLED})
_TYPE_EXAMPLE = ["job.succeeded", "job.failed"]


async def follower(principal: CurrentPrincipal) -> Principal:
    """The principal, or 403 EVENTS_FORBIDDEN when it may read no event type at all."""
    if not can_follow(principal):
        raise EventsForbidden(details={"needs_one_of": sorted({type.scope.value for type in EventType})})
    return principal


Follower = Annotated[Principal, Depends(follower)]
JobReader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]


def stream_access(
    request: Request, principal: CurrentPrincipal, tokens: TokensDep, sessionmaker: SessionmakerDep
) -> Access:
    """The stream's credential, as `current_principal` read it, to be checked again as the stream goes on."""
    scheme, bearer = get_authorization_scheme_param(request.headers.get("authorization"))
    credential = request.headers.get("x-api-key") or (bearer if scheme.lower() == "bearer" else "")
    return Access(sessionmaker, tokens, credential, principal)


AccessDep = Annotated[Access, Depends(stream_access)]


def event_types(
    types: Annotated[
        list[Annotated[str, StringConstraints(max_length=2000)]] | None,
        Query(
            max_length=MAX_TYPE_VALUES,
            description="Only these event types: repeated (`types=…&types=…`) or comma-separated. "
            f"The types: {', '.join(f'`{type.value}`' for type in EventType)}.",
            openapi_examples={
                "repeated": {"summary": "A job's outcome, repeated", "value": _TYPE_EXAMPLE},
                "comma-separated": {"summary": "A job's outcome, comma-separated", "value": [",".join(_TYPE_EXAMPLE)]},
            },
        ),
    ] = None,
) -> frozenset[EventType] | None:
    if types is None:
        return None
    parsed: set[EventType] = set()
    for index, value in enumerate(types):
        for token in filter(None, (token.strip() for token in value.split(","))):
            try:
                parsed.add(EventType(token))
            except ValueError:
                raise RequestValidationError(
                    [{"loc": ("query", "types", index), "msg": f"Not an event type: {token[:64]}", "type": "enum"}]
                ) from None
    return frozenset(parsed) if parsed else None


EventTypes = Annotated[frozenset[EventType] | None, Depends(event_types)]


def resume_from(
    last_event_id: Annotated[
        int | None,
        Header(
            alias="Last-Event-ID",
            ge=0,
            le=MAX_EVENT_ID,
            description="The id of the last event received (EventSource sends it when it reconnects): the stream "
            "replays every later event first. Wins over `since`.",
        ),
    ] = None,
    since: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_EVENT_ID,
            description="Replay the events after this id first, as `Last-Event-ID` does (for clients that cannot "
            "set headers). Events older than the retention (`FOLIO_EVENTS__RETENTION_DAYS`) are gone.",
        ),
    ] = None,
) -> int | None:
    return last_event_id if last_event_id is not None else since


ResumeFrom = Annotated[int | None, Depends(resume_from)]


async def org_subscription(
    hub: HubDep,
    sessionmaker: SessionmakerDep,
    principal: Follower,
    types: EventTypes,
    since: ResumeFrom,
    subject: Annotated[
        UUID | None,
        Query(
            description="Only the events about this job, document or record batch, and about the work on it "
            "(a document's ingestion job, its summaries)."
        ),
    ] = None,
) -> AsyncIterator[Subscription]:
    """The stream's place in the hub, for the whole response (429 TOO_MANY_STREAMS before it starts)."""
    unreadable = sorted(type.value for type in types or () if not readable(principal, type))
    if unreadable:
        raise EventsForbidden(details={"types": unreadable})
    topic = Topic(ORG)
    if subject is not None:
        async with sessionmaker() as session:
            if not await resource_exists(session, principal, subject):
                raise EventSubjectNotFound()
        topic = Topic(str(subject), subject)
    async with hub.subscribe(principal.org_id, wants(principal, [topic], types), since=since) as subscription:
        yield subscription


OrgSubscription = Annotated[Subscription, Depends(org_subscription)]


@dataclass(frozen=True, slots=True)
class JobStream:
    """The job's state when the stream opened, and (unless that state is final) the subscription to what follows."""

    state: LiveEvent
    subscription: Subscription | None


def _state_event(job: Job) -> LiveEvent:
    """The job's current state as the event of that state, with no id: it is a summary, not a stored event."""
    assert job.org_id is not None  # noqa: S101 — read in the principal's organization
    return LiveEvent(
        id=None,
        org_id=job.org_id,
        type=STATE_EVENT[job.status],
        subject_type=SubjectType.JOB,
        subject_id=job.id,
        actor=SYSTEM,
        data=job_data(job).model_dump(mode="json"),
        created_at=job.updated_at,
    )


def is_final(event: LiveEvent) -> bool:
    return event.type in FINAL_EVENTS


async def job_stream(
    hub: HubDep,
    sessionmaker: SessionmakerDep,
    principal: JobReader,
    job_id: Annotated[UUID, Path(description="The job to follow.")],
) -> AsyncIterator[JobStream]:
    """404 JOB_NOT_FOUND for another organization's job; an unfinished job's subscription starts right after the
    snapshot its state was read in, so no change is lost or told twice."""
    async with sessionmaker() as session:
        found = await job_and_newest_event(session, principal, job_id)
    if found is None:
        raise JobNotFound()
    job, newest = found
    state = _state_event(job)
    if is_final(state):
        yield JobStream(state, None)
        return

    def about_the_job(event: LiveEvent) -> bool:
        return event.subject_type is SubjectType.JOB and event.subject_id == job_id

    async with hub.subscribe(principal.org_id, about_the_job, since=newest) as subscription:
        yield JobStream(state, subscription)


JobStreamDep = Annotated[JobStream, Depends(job_stream)]
