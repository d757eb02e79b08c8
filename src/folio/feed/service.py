"""The feed's items: stored events the principal may read, each with a line a person reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.events.schemas import EventType
from folio.feed.repository import FeedFilters, FeedRepository
from folio.models import Event
from folio.pagination import Paged, PageRequest

# A job's queueing, start, progress and success are the machinery of other items: the feed leaves them out unless
# asked. Notifications are one member's own (their inbox).
QUIET = frozenset(
    {
        EventType.JOB_QUEUED,
        EventType.JOB_STARTED,
        EventType.JOB_PROGRESS,
        EventType.JOB_SUCCEEDED,
        EventType.NOTIFICATION_CREATED,
    }
)
DEFAULT_TYPES = frozenset(type for type in EventType if type.durable and type not in QUIET)
FEED_TYPES = frozenset(type for type in EventType if type.durable and type is not EventType.NOTIFICATION_CREATED)


@dataclass(frozen=True, slots=True)
class FeedItem:
    event: Event
    actor_name: str
    line: str


# Changes whose values are ids: the line names the member or unit, as the field's name says.
_NAMED_FIELDS = {"assigned_to": "assignee", "unit_id": "unit"}


def _changes(data: Mapping[str, Any], names: Mapping[str, str]) -> str:
    def shown(field: str, value: str | None) -> str:
        if value is None:
            return "—"
        if field not in _NAMED_FIELDS:
            return value
        return names.get(value, "someone who left" if field == "assigned_to" else "a deleted unit")

    return ", ".join(
        f"{_NAMED_FIELDS.get(change['field'], change['field'].replace('_', ' '))} "
        f"{shown(change['field'], change['before'])} → {shown(change['field'], change['after'])}"
        for change in data.get("changes", [])
    )


def _named_ids(events: Sequence[Event]) -> tuple[set[UUID], set[UUID]]:
    """The member and unit ids the case changes among `events` name."""
    users: set[UUID] = set()
    units: set[UUID] = set()
    for event in events:
        if event.type != EventType.CASE_UPDATED.value:
            continue
        for change in event.data.get("changes", []):
            ids = users if change["field"] == "assigned_to" else units if change["field"] == "unit_id" else None
            if ids is not None:
                ids.update(UUID(value) for value in (change["before"], change["after"]) if value)
    return users, units


# By type: the line's template; `{actor}` is who did it, the other fields are the event's data. Only templates
# are parsed: values (titles, comments) are substituted as they are.
_LINES: dict[EventType, str] = {
    EventType.JOB_QUEUED: "{actor} queued a {kind} job",
    EventType.JOB_STARTED: "A {kind} job started",
    EventType.JOB_PROGRESS: "A {kind} job is at {progress}%",
    EventType.JOB_SUCCEEDED: "A {kind} job succeeded",
    EventType.JOB_FAILED: "A {kind} job failed: {error_message}",
    EventType.JOB_CANCELLED: "{actor} cancelled a {kind} job",
    EventType.DOCUMENT_CREATED: "{actor} uploaded “{title}”",
    EventType.DOCUMENT_READY: "“{title}” is ready to search",
    EventType.DOCUMENT_FAILED: "“{title}” could not be processed: {error_message}",
    EventType.DOCUMENT_DELETED: "{actor} deleted “{title}”",
    EventType.SUMMARY_READY: "A summary is ready",
    EventType.SUMMARY_FAILED: "A summary failed: {error_message}",
    EventType.BATCH_IMPORTED: "{actor} imported {filename}: {records_created} cases new, {records_updated} changed",
    EventType.BATCH_FINISHED: "Batch {filename} is searchable",
    EventType.BATCH_FAILED: "Batch {filename} failed: {error_message}",
    EventType.CASE_UPDATED: "{actor} changed {number}: {changes}",
    EventType.CASE_COMMENTED: "{actor} commented on {number}: “{excerpt}”",
    EventType.ENRICHMENT_FINISHED: "Enrichment finished: {enriched} enriched, {needing_review} to review",
    EventType.MEMBER_ADDED: "{email} joined as {role}",
    EventType.MEMBER_ROLE_CHANGED: "{actor} made {email} {role}",
    EventType.MEMBER_REMOVED: "{actor} removed {email}",
    EventType.API_KEY_CREATED: "{actor} created the API key {name}",
    EventType.API_KEY_REVOKED: "{actor} revoked the API key {name}",
    EventType.WEBHOOK_DISABLED: "The webhook {url} was disabled: {reason}",
    EventType.ALERT_RAISED: "Alert “{title}” ({severity}): {count} matching",
    EventType.ALERT_ACKNOWLEDGED: "{actor} acknowledged the alert “{title}”",
    EventType.ALERT_RESOLVED: "{actor} resolved the alert “{title}”",
    EventType.NOTIFICATION_CREATED: "{title}",
    EventType.INTEGRATION_SYNCED: "{name} synced: {created} new, {updated} changed, {deleted} deleted, {failed} failed",
    EventType.INTEGRATION_NEEDS_REAUTH: "{name} needs new credentials: {message}",
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


def line_of(type: EventType, data: Mapping[str, Any], actor: str, names: Mapping[str, str]) -> str:
    """The event's line; `names` are those of the members and units a case's changes refer to, by id."""
    values = _Blank({key: "—" if value is None else value for key, value in data.items()})
    values["actor"] = actor
    if type is EventType.CASE_UPDATED:
        values["changes"] = _changes(data, names)
    return _LINES[type].format_map(values)


def actor_label(event: Event, name: str | None) -> str:
    if event.actor_type == "system":
        return "Folio"
    return name or ("A deleted member" if event.actor_type == "user" else "A revoked API key")


async def page_feed(
    session: AsyncSession, *, principal: Principal, filters: FeedFilters, page: PageRequest
) -> Paged[FeedItem]:
    repository = FeedRepository(session)
    found = await repository.page(principal, filters, page)
    names = await repository.names(principal.org_id, *_named_ids([event for event, _ in found.items]))
    items = []
    for event, name in found.items:
        actor = actor_label(event, name)
        items.append(FeedItem(event, actor, line_of(EventType(event.type), event.data, actor, names)))
    return Paged(items, found.next_cursor)
