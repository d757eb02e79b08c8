from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Query

from folio.auth.deps import CurrentPrincipal, authenticated
from folio.deps import API_V1, PageDep, SessionDep
from folio.events.schemas import EventType, Subject, SubjectType
from folio.feed import service
from folio.feed.repository import FeedFilters
from folio.feed.schemas import FeedActor, FeedItemRead
from folio.pagination import Page
from folio.routing import Router

router = Router(prefix=f"{API_V1}/feed", tags=["feed"])
MAX_TYPES = 50


@router.get(
    "",
    response_model=Page[FeedItemRead],
    responses=authenticated(),
    summary="The organization's activity, newest first",
    description=(
        "Every stored event you may read — the live streams' and webhooks' events, kept "
        "`FOLIO_EVENTS__RETENTION_DAYS` — with a line saying what happened. A member limited to business units "
        "sees the case events of those units only; administration events (members, API keys, webhooks) need the "
        "`admin` scope; notifications are in each member's inbox, not here. Without `type`, a job's queueing, "
        "start and success are left out (its failure is not)."
    ),
)
async def list_feed(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    type: Annotated[
        list[EventType] | None, Query(max_length=MAX_TYPES, description="Only these types (repeat the parameter).")
    ] = None,
    actor_id: Annotated[UUID | None, Query(description="Done by this member or API key.")] = None,
    unit_id: Annotated[UUID | None, Query(description="About the cases of this business unit.")] = None,
    subject_id: Annotated[UUID | None, Query(description="About this case, document, job…")] = None,
    after: Annotated[datetime | None, Query(description="At or after this time.")] = None,
    before: Annotated[datetime | None, Query(description="Before this time.")] = None,
) -> Page[FeedItemRead]:
    types = service.FEED_TYPES.intersection(type) if type else service.DEFAULT_TYPES
    filters = FeedFilters(
        types=types, actor_id=actor_id, unit_id=unit_id, subject_id=subject_id, after=after, before=before
    )
    found = await service.page_feed(session, principal=principal, filters=filters, page=page)
    return found.to_page(_read)


def _read(item: service.FeedItem) -> FeedItemRead:
    event = item.event
    return FeedItemRead(
        id=event.id,
        type=event.type,
        line=item.line,
        actor=FeedActor(type=event.actor_type, id=event.actor_id, name=item.actor_name),
        subject=Subject(type=SubjectType(event.subject_type), id=event.subject_id),
        unit_id=event.unit_id,
        data=event.data,
        created_at=event.created_at,
    )
