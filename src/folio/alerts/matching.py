"""SQL of evaluation: which rules match which items. Every statement covers a whole step of items and every rule of
a kind at once, so evaluation costs a few statements per step whatever the number of cases or rules."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    CTE,
    ColumnElement,
    DateTime,
    Executable,
    FromClause,
    SQLColumnExpression,
    String,
    Uuid,
    any_,
    bindparam,
    cast,
    exists,
    func,
    join,
    literal,
    select,
    text,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from folio.alerts.conditions import CaseColumns, Condition, to_sql
from folio.cases.workflow import DONE
from folio.models import (
    AlertRule,
    AlertRuleKind,
    Chunk,
    Document,
    Enrichment,
    EnrichmentStatus,
    Record,
)

# The text search configuration chunks are indexed with (`Chunk.search_vector`): queries must be parsed alike.
TEXT_SEARCH_CONFIG = "english"
# A subject key is stored in a column of this length.
_KEY_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Hit:
    """An item a rule matched: a case (of `unit_id`) or a document (no unit)."""

    rule_id: UUID
    document_id: UUID
    unit_id: UUID | None
    score: float | None = None
    key: str = ""  # what a spike grouped by within the unit


@dataclass(frozen=True, slots=True)
class ConditionRule:
    rule_id: UUID
    version: datetime  # when the rule last changed: a built statement holds for this version
    unit_ids: Sequence[UUID] | None
    condition: Condition


@dataclass(frozen=True, slots=True)
class SpikeQuery:
    """What a spike rule counts: the cases of its units (by category, or mentioning `term`) per window."""

    unit_ids: Sequence[UUID] | None
    by_category: bool
    term: str | None
    window: timedelta
    windows: int  # the current one and the baseline


@dataclass(frozen=True, slots=True)
class WindowCount:
    unit_id: UUID | None
    key: str
    ago: int  # 0: the current window, 1: the one before…
    count: int


class MatchingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rules(self, org_id: UUID, kinds: Collection[AlertRuleKind]) -> list[AlertRule]:
        """The organization's enabled rules of these kinds (without their query vectors, which stay in SQL)."""
        statement = (
            select(AlertRule)
            .options(defer(AlertRule.query_embedding))
            .where(AlertRule.org_id == org_id, AlertRule.enabled, AlertRule.kind.in_(kinds))
            .order_by(AlertRule.id)
        )
        return list((await self.session.scalars(statement)).all())

    async def periodic_orgs(self) -> list[UUID]:
        """Organizations with enabled spike or SLA rules."""
        statement = select(AlertRule.org_id).where(AlertRule.enabled, AlertRule.periodic).distinct()
        return list((await self.session.scalars(statement)).all())

    async def search_hits(self, org_id: UUID, document_ids: Sequence[UUID]) -> list[Hit]:
        """The live documents among `document_ids` that each enabled search rule of the organization matches."""
        rows = await self.session.execute(
            _SEARCH_HITS, {"org_id": org_id, "document_ids": list(document_ids), "config": TEXT_SEARCH_CONFIG}
        )
        return [Hit(rule_id, document_id, unit_id, score) for rule_id, document_id, unit_id, score in rows.all()]

    async def condition_hits(
        self, org_id: UUID, rules: Sequence[ConditionRule], document_ids: Sequence[UUID], now: datetime
    ) -> list[Hit]:
        """The cases among `document_ids` that each rule's condition matches (one statement for all rules)."""
        if not rules or not document_ids:
            return []
        signature = tuple((rule.rule_id, rule.version) for rule in rules)
        statement = _STEP_STATEMENTS.get(signature)
        if statement is None:
            statement = _conditions_statement(rules, Record.document_id == any_(_DOCUMENT_IDS))
            _STEP_STATEMENTS.put(signature, statement)
        parameters = {"org_id": org_id, "now": now, "document_ids": list(document_ids)}
        return await self._hits(statement, parameters)

    async def overdue_hits(self, org_id: UUID, rule: ConditionRule, since: datetime | None, now: datetime) -> list[Hit]:
        """The cases whose due time passed after `since` (ever, when None) and by `now`, still open, that the rule's
        condition matches."""
        overdue = [
            Record.due_at <= _NOW,
            type_coerce(Record.case_status, String).not_in([status.value for status in DONE]),
        ]
        if since is not None:
            overdue.append(Record.due_at > since)
        return await self._hits(_conditions_statement([rule], *overdue), {"org_id": org_id, "now": now})

    async def _hits(self, statement: Executable, parameters: dict[str, Any]) -> list[Hit]:
        rows = await self.session.execute(statement, parameters)
        return [Hit(rule_id, document_id, unit_id) for rule_id, document_id, unit_id in rows.all()]

    async def window_counts(self, org_id: UUID, spike: SpikeQuery, now: datetime) -> list[WindowCount]:
        """Cases per unit (and category) per window, for the current window and the baseline before it."""
        cases, where, key = _spike_cases(org_id, spike, now - spike.window * spike.windows, now)
        ago = func.floor(func.extract("epoch", now - _happened_at()) / spike.window.total_seconds())
        statement = (
            select(Record.unit_id, key, ago, func.count())
            .select_from(cases)
            .where(*where)
            .group_by(Record.unit_id, key, ago)
        )
        rows = await self.session.execute(statement)
        return [WindowCount(unit_id, key, int(ago), count) for unit_id, key, ago, count in rows.all()]

    async def window_cases(
        self, org_id: UUID, spike: SpikeQuery, unit_id: UUID | None, key: str, now: datetime
    ) -> list[UUID]:
        """The cases of one unit (and category) in the current window."""
        cases, where, case_key = _spike_cases(org_id, spike, now - spike.window, now)
        same_unit = Record.unit_id.is_(None) if unit_id is None else Record.unit_id == unit_id
        statement = select(Record.document_id).select_from(cases).where(*where, same_unit, case_key == key)
        return list((await self.session.scalars(statement)).all())


class _Statements:
    """Statements built for a set of condition rules, kept while the rules stay as they are: building one is most
    of the cost of evaluating a step, and an import evaluates hundreds of steps against the same rules."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._built: OrderedDict[Hashable, Executable] = OrderedDict()

    def get(self, key: Hashable) -> Executable | None:
        statement = self._built.get(key)
        if statement is not None:
            self._built.move_to_end(key)
        return statement

    def put(self, key: Hashable, statement: Executable) -> None:
        self._built[key] = statement
        while len(self._built) > self.size:
            self._built.popitem(last=False)


_STEP_STATEMENTS = _Statements(256)
_ORG_ID = bindparam("org_id", type_=Uuid)
_NOW = bindparam("now", type_=DateTime(timezone=True))
_DOCUMENT_IDS = bindparam("document_ids", type_=ARRAY(Uuid))


def _conditions_statement(rules: Sequence[ConditionRule], *where: ColumnElement[bool]) -> Executable:
    """The cases of the organization (`org_id`) that meet `where`, each with every rule whose condition and units
    it matches, at `now`: one SELECT per rule over the cases read once, joined by UNION ALL."""
    cases = _cases(*where)
    columns = CaseColumns(
        priority=cases.c.priority,
        status=cases.c.status,
        channel=cases.c.channel,
        customer=cases.c.customer,
        assigned_to=cases.c.assigned_to,
        due_at=cases.c.due_at,
        labels=cases.c.labels,
        needs_review=cases.c.needs_review,
        confidence=cases.c.confidence,
        now=_NOW,
    )
    branches = [
        select(literal(rule.rule_id, Uuid).label("rule_id"), cases.c.document_id, cases.c.unit_id).where(
            _in_units(cases.c.unit_id, rule.unit_ids), to_sql(rule.condition, columns)
        )
        for rule in rules
    ]
    return branches[0] if len(branches) == 1 else union_all(*branches)


def _in_units(unit_id: SQLColumnExpression[UUID | None], unit_ids: Sequence[UUID] | None) -> ColumnElement[bool]:
    return true() if unit_ids is None else unit_id.in_(list(unit_ids))


def _latest_labels() -> Any:
    """The labels of a case's latest written enrichment (a pending one keeps its old data, which is stale)."""
    return (
        select(Enrichment.data, Enrichment.needs_review, Enrichment.confidence)
        .where(
            Enrichment.document_id == Record.document_id,
            Enrichment.status.in_([EnrichmentStatus.ENRICHED, EnrichmentStatus.NEEDS_REVIEW]),
            Enrichment.data.is_not(None),
        )
        .order_by(Enrichment.enriched_at.desc().nulls_last(), Enrichment.id.desc())
        .limit(1)
        .lateral("labels")
    )


def _cases(*where: ColumnElement[bool]) -> CTE:
    """The organization's cases that meet `where`, with the fields and labels conditions read (the enumerations as
    text, which conditions compare with)."""
    labels = _latest_labels()
    return (
        select(
            Record.document_id,
            Record.unit_id,
            type_coerce(Record.priority, String).label("priority"),
            type_coerce(Record.case_status, String).label("status"),
            Record.channel,
            Record.customer,
            Record.assigned_to,
            Record.due_at,
            labels.c.data.label("labels"),
            labels.c.needs_review,
            labels.c.confidence,
        )
        .select_from(Record)
        .outerjoin(labels, true())
        .where(Record.org_id == _ORG_ID, *where)
        .cte("cases")
    )


def _happened_at() -> ColumnElement[datetime]:
    """When a case happened: the row's own time, else when it was imported."""
    return func.coalesce(Record.occurred_at, Document.created_at)


def _spike_cases(
    org_id: UUID, spike: SpikeQuery, after: datetime, until: datetime
) -> tuple[FromClause, list[ColumnElement[bool]], ColumnElement[str]]:
    """What a spike rule counts: the cases that happened in (after, until], as a FROM clause and its conditions,
    with the key they are grouped by within their unit (the category, or nothing)."""
    happened = _happened_at()
    cases: FromClause = join(Record, Document, Document.id == Record.document_id)
    where = [Record.org_id == org_id, happened > after, happened <= until, _in_units(Record.unit_id, spike.unit_ids)]
    key: ColumnElement[str] = literal("", String)
    if spike.by_category:
        labels = _latest_labels()
        cases = cases.join(labels, true())
        key = func.left(labels.c.data["category"].astext, _KEY_LENGTH)
        where.append(key.is_not(None))
    if spike.term is not None:
        words = func.websearch_to_tsquery(cast(TEXT_SEARCH_CONFIG, REGCONFIG), spike.term)
        where.append(
            exists().where(
                Chunk.document_id == Document.id,
                Chunk.version == Document.version,
                Chunk.search_vector.op("@@")(words),
            )
        )
    return cases, where, key.label("key")


# Every enabled search rule against every live document of the step: a document matches by keyword when one of its
# chunks holds the query (websearch_to_tsquery: every word, phrases, no negated word), by vector when its closest
# chunk is at least `min_score` similar to the query; `hybrid` takes either. Filters are read from the definition.
_SEARCH_HITS = text(
    """
    WITH rules AS (
        SELECT id, unit_ids, query_embedding,
               definition -> 'filters' -> 'file_types' AS file_types,
               definition -> 'filters' -> 'tags_all' AS tags_all,
               definition -> 'filters' -> 'tags_any' AS tags_any,
               definition -> 'filters' -> 'metadata' AS metadata,
               definition ->> 'mode' AS mode,
               CAST(definition ->> 'min_score' AS float8) AS min_score,
               websearch_to_tsquery(CAST(:config AS regconfig), definition ->> 'query') AS words
        FROM alert_rules
        WHERE org_id = :org_id AND kind = 'search' AND enabled
    ),
    step AS (
        SELECT d.id, d.version, d.kind, d.tags, d.metadata, r.unit_id
        FROM documents d LEFT JOIN records r ON r.document_id = d.id
        WHERE d.org_id = :org_id AND d.id = ANY(CAST(:document_ids AS uuid[])) AND d.version > 0
    )
    SELECT rules.id, step.id, step.unit_id, max(1 - (c.embedding <=> rules.query_embedding)) AS score
    FROM step
    JOIN rules ON (rules.unit_ids IS NULL OR step.unit_id = ANY(rules.unit_ids))
        AND (rules.file_types IS NULL OR rules.file_types @> to_jsonb(step.kind))
        AND (rules.tags_all IS NULL OR to_jsonb(step.tags) @> rules.tags_all)
        AND (rules.tags_any IS NULL OR EXISTS (
            SELECT FROM jsonb_array_elements_text(rules.tags_any) AS tag WHERE tag = ANY(step.tags)))
        AND (rules.metadata IS NULL OR step.metadata @> rules.metadata)
    JOIN chunks c ON c.document_id = step.id AND c.version = step.version
    GROUP BY rules.id, step.id, step.unit_id, rules.mode, rules.min_score
    HAVING CASE rules.mode
        WHEN 'keyword' THEN bool_or(c.search_vector @@ rules.words)
        WHEN 'vector' THEN max(1 - (c.embedding <=> rules.query_embedding)) >= rules.min_score
        ELSE bool_or(c.search_vector @@ rules.words)
            OR max(1 - (c.embedding <=> rules.query_embedding)) >= rules.min_score
    END
    """
)
