"""The pulse of a period: its figures against the period before, and their digest; and the periodic digest of each
organization, sent once per period as an event (and so to webhooks) and a notification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.periods import Period
from folio.analytics.pulse import digest as digests
from folio.analytics.pulse.repository import PulseRepository
from folio.analytics.pulse.rising import change_percent, rising
from folio.analytics.pulse.schemas import (
    CasesRead,
    Change,
    DigestRead,
    PulseFigures,
    PulseRead,
    SentimentRead,
    SentimentShare,
)
from folio.analytics.repository import CaseFigures, OverviewRepository
from folio.analytics.schemas import PeriodRead
from folio.auth.principal import Principal, Scope
from folio.db import release
from folio.events.outbox import Audience, emit
from folio.events.schemas import EventType, PulseData, Subject, SubjectType
from folio.inbox.service import MAX_RECIPIENTS, NotificationKind, notify
from folio.llm.errors import LLMCredentialsUnreadable
from folio.llm.provider import LLMProvider
from folio.llm.registry import LLMRegistry
from folio.usage.service import Meter

DEFAULT_DAYS = 7
# The pulse reads twice its period (the period and the one before).
MAX_DAYS = 366
# Rising categories and terms listed.
TOP = 5
PULSE_USAGE = "pulse"
# A request waits this long at most for the model's digest, then answers with the templated one.
REQUEST_DIGEST_SECONDS = 20.0
# Periodic digests cover whole periods counted from a Monday (00:00 UTC): weekly ones run Monday to Monday.
EPOCH = datetime(1970, 1, 5, tzinfo=UTC)


def system(org_id: UUID) -> Principal:
    """The organization as the system sees it: every unit, every scope, nobody in person."""
    return Principal(org_id=org_id, scopes=frozenset(Scope))


async def figures(session: AsyncSession, *, principal: Principal, period: Period) -> PulseFigures:
    """The figures of what the principal sees (a member limited to units: their units' cases)."""
    previous = period.previous()
    repository = OverviewRepository(session)
    now = await repository.cases(principal, period)
    before = await repository.cases(principal, previous)
    open_now, overdue_now = await repository.backlog(principal)
    categories, terms = await rising(session, principal=principal, period=period, limit=TOP)
    return PulseFigures(
        period=_period(period),
        previous=_period(previous),
        volume=_change(now.opened, before.opened),
        sentiment=_sentiment(now, before),
        rising_categories=categories,
        rising_terms=terms,
        cases=CasesRead(
            resolved=_change(now.resolved, before.resolved),
            resolved_late=_change(now.resolved_late, before.resolved_late),
            open_now=open_now,
            overdue_now=overdue_now,
            median_first_response_seconds=now.first_response_seconds,
            median_resolve_seconds=now.resolve_seconds,
            median_resolve_seconds_before=before.resolve_seconds,
        ),
    )


async def model_for(
    session: AsyncSession, *, principal: Principal, registry: LLMRegistry, meter: Meter
) -> tuple[LLMProvider | None, str | None]:
    """The organization's model, its calls recorded as `pulse` usage; None for the templated digest, with the
    reason when a model is configured but cannot be used."""
    try:
        llm = await registry.for_org(session, principal.org_id)
    except LLMCredentialsUnreadable as error:
        return None, error.code
    return (None, None) if llm is None else (meter.metered(llm, principal, PULSE_USAGE), None)


async def write_digest(
    found: PulseFigures, llm: LLMProvider | None, unusable: str | None, *, temperature: float, seconds: float | None
) -> PulseRead:
    """The figures with their digest. Call it with no database connection held: it may wait for the model."""
    if llm is None:
        digest: DigestRead = digests.templated(found, reason=unusable)
    else:
        digest = await digests.write(found, llm, temperature=temperature, seconds=seconds)
    return PulseRead(**dict(found), digest=digest)


async def pulse(
    session: AsyncSession,
    *,
    principal: Principal,
    period: Period,
    registry: LLMRegistry,
    meter: Meter,
    temperature: float,
) -> PulseRead:
    """The pulse a request asks for: the figures read, the connection handed back, then the digest written."""
    found = await figures(session, principal=principal, period=period)
    llm, unusable = await model_for(session, principal=principal, registry=registry, meter=meter)
    await release(session)
    return await write_digest(found, llm, unusable, temperature=temperature, seconds=REQUEST_DIGEST_SECONDS)


# The periodic digest


def digest_period(now: datetime, days: int) -> Period:
    """The last whole period of `days` days that ended by `now` (UTC)."""
    length = timedelta(days=days)
    end = EPOCH + (now - EPOCH) // length * length
    return Period(end - length, end, ZoneInfo("UTC"))


async def due(session: AsyncSession, *, period: Period) -> list[UUID]:
    """Organizations with a case opened in the period or the one before, not yet sent the period's digest."""
    return await PulseRepository(session).due(
        period_start=period.start, since=period.previous().start, until=period.end
    )


async def sent(session: AsyncSession, *, org_id: UUID, period: Period) -> bool:
    return await PulseRepository(session).sent(org_id, period.start)


async def deliver(session: AsyncSession, *, org_id: UUID, period: Period, pulse: PulseRead) -> bool:
    """Send the organization's digest of the period: the `pulse.digest` event and a notification to each member
    from supervisor up who sees every unit. False (nothing sent) when the period's digest was sent already."""
    repository = PulseRepository(session)
    text, model = pulse.digest.text, pulse.digest.generated_by
    digest_id = await repository.claim(org_id, period_start=period.start, period_end=period.end, generated_by=model)
    if digest_id is None:
        return False
    data = PulseData(
        period_start=period.start,
        period_end=period.end,
        digest=text,
        generated_by=model,
        pulse=pulse.model_dump(mode="json", by_alias=True),
    )
    # The figures are the whole organization's: only members who see every unit receive the event live.
    emit(
        session,
        org_id=org_id,
        type=EventType.PULSE_DIGEST,
        subject_id=digest_id,
        data=data,
        audience=Audience.unit(None),
    )
    await notify(
        session,
        org_id=org_id,
        recipients=await repository.recipients(org_id, limit=MAX_RECIPIENTS),
        kind=NotificationKind.PULSE,
        title=_title(pulse),
        body=text,
        subject=Subject(type=SubjectType.PULSE, id=digest_id),
    )
    return True


def _title(pulse: PulseRead) -> str:
    start, end = pulse.period.start, pulse.period.to - timedelta(seconds=1)
    volume = pulse.volume
    change = "" if volume.change_percent is None else f" ({volume.change_percent:+g}%)"
    return f"Pulse {start.day} {start:%b} – {end.day} {end:%b %Y}: {volume.now} cases{change}"


def _change(now: int, before: int) -> Change:
    return Change(now=now, before=before, change_percent=change_percent(now, before))


def _sentiment(now: CaseFigures, before: CaseFigures) -> SentimentRead:
    counts_now, counts_before = now.breakdowns["sentiment"], before.breakdowns["sentiment"]
    labelled_now = sum(count for key, count in counts_now.items() if key is not None)
    labelled_before = sum(count for key, count in counts_before.items() if key is not None)
    keys = sorted(
        {key for key in (*counts_now, *counts_before) if key is not None},
        key=lambda key: (-counts_now.get(key, 0), -counts_before.get(key, 0), key),
    )
    mix = []
    for key in keys:
        share_now = _share(counts_now.get(key, 0), labelled_now)
        share_before = _share(counts_before.get(key, 0), labelled_before)
        shift = (
            None
            if share_now is None or share_before is None
            else round(100 * (counts_now.get(key, 0) / labelled_now - counts_before.get(key, 0) / labelled_before), 1)
        )
        mix.append(
            SentimentShare(
                sentiment=key,
                now=counts_now.get(key, 0),
                before=counts_before.get(key, 0),
                share_now=share_now,
                share_before=share_before,
                shift_points=shift,
            )
        )
    return SentimentRead(labelled_now=labelled_now, labelled_before=labelled_before, mix=mix)


def _share(count: int, total: int) -> float | None:
    return None if total == 0 else round(100 * count / total, 1)


def _period(period: Period) -> PeriodRead:
    return PeriodRead(start=period.start.astimezone(period.tz), to=period.end.astimezone(period.tz), tz=period.tz.key)
