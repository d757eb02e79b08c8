"""SQL of alert rules and alerts: what a principal may see of them, and the bulk writes that raise alerts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, any_, func, not_, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert

from folio.auth.principal import Principal
from folio.db import table
from folio.models import (
    Alert,
    AlertMatch,
    AlertRule,
    AlertSeverity,
    AlertStatus,
    BusinessUnit,
    Document,
    Membership,
    Record,
    Role,
    UnitMembership,
)
from folio.pagination import Paged, PageRequest, newest_first, paged_rows
from folio.repository import ScopedRepository, sees_case

# "FolioAlR": serialises an organization's new rules, so that their count stays within the limit.
_RULES_LOCK = 0x466F6C696F416C52
SUPERVISORS_AND_ABOVE = [role for role in Role if role.rank >= Role.SUPERVISOR.rank]
# An alert's unique key: its rule, unit, subject and window.
AlertKey = tuple[UUID, UUID | None, str, datetime]


class AlertRuleRepository(ScopedRepository[AlertRule]):
    model = AlertRule

    def scoped(self, principal: Principal) -> Select[AlertRule]:
        """A member limited to units sees the rules over their units only (not those watching every unit)."""
        statement = super().scoped(principal)
        if principal.units is None:
            return statement
        return statement.where(AlertRule.unit_ids.is_not(None), AlertRule.unit_ids.contained_by(list(principal.units)))

    async def lock_org(self, org_id: UUID) -> None:
        key = func.hashtextextended(str(org_id), _RULES_LOCK)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def count(self, org_id: UUID) -> int:
        return int(await self.session.scalar(select(func.count()).where(AlertRule.org_id == org_id)) or 0)

    async def name_of(self, org_id: UUID, rule_id: UUID) -> str | None:
        """A rule's name, for an alert's events, whoever may see the rule itself."""
        name: str | None = await self.session.scalar(
            select(AlertRule.name).where(AlertRule.org_id == org_id, AlertRule.id == rule_id)
        )
        return name

    async def units(self, org_id: UUID, unit_ids: Collection[UUID]) -> set[UUID]:
        """Those of `unit_ids` that are business units of the organization."""
        found = await self.session.scalars(
            select(BusinessUnit.id).where(BusinessUnit.org_id == org_id, BusinessUnit.id.in_(unit_ids))
        )
        return set(found)

    async def members(self, org_id: UUID, user_ids: Collection[UUID]) -> set[UUID]:
        found = await self.session.scalars(
            select(Membership.user_id).where(Membership.org_id == org_id, Membership.user_id.in_(user_ids))
        )
        return set(found)


@dataclass(frozen=True, slots=True)
class AlertFilters:
    status: AlertStatus | None = None
    severity: AlertSeverity | None = None
    rule_id: UUID | None = None
    unit_id: UUID | None = None


class AlertRepository(ScopedRepository[Alert]):
    model = Alert

    def scoped(self, principal: Principal) -> Select[Alert]:
        """An alert is about its unit's cases: a member limited to units sees those of their units only."""
        return super().scoped(principal).where(sees_case(principal, Alert.unit_id))

    async def newest_first(self, principal: Principal, filters: AlertFilters, page: PageRequest) -> Paged[Alert]:
        statement = self.scoped(principal)
        for column, value in (
            (Alert.status, filters.status),
            (Alert.severity, filters.severity),
            (Alert.rule_id, filters.rule_id),
            (Alert.unit_id, filters.unit_id),
        ):
            if value is not None:
                statement = statement.where(column == value)
        return await newest_first(self.session, statement, Alert.id, page)

    async def matches(
        self, principal: Principal, alert_id: UUID, page: PageRequest
    ) -> Paged[tuple[AlertMatch, str, int | None]]:
        """The alert's items the principal may read, in the order they were created, with title and case number."""
        statement = (
            select(AlertMatch, Document.title, Record.number)
            .join(Document, Document.id == AlertMatch.document_id)
            .outerjoin(Record, Record.document_id == AlertMatch.document_id)
            # A case moved to another unit since it matched stays out of sight of those who cannot see it now.
            .where(
                AlertMatch.alert_id == alert_id,
                Document.org_id == principal.org_id,
                or_(Record.document_id.is_(None), sees_case(principal, Record.unit_id)),
            )
        )
        return await paged_rows(self.session, statement, AlertMatch.document_id, page)

    # Raising alerts: bulk statements for the evaluation of a step of cases.

    async def upsert(self, rows: Sequence[dict[str, Any]]) -> list[tuple[UUID, bool]]:
        """Insert the alerts, or find those of the same rule, unit, subject and window: (id, whether new), in the
        order of `rows` (each with a distinct key). An alert already raised is only read, never rewritten (but for a
        spike's changed statistic): most steps add to alerts raised by the steps before."""
        keys = [_key(row) for row in rows]
        found = await self._ids(keys)
        missing = [row for row, key in zip(rows, keys, strict=True) if key not in found]
        created: set[UUID] = set()
        if missing:
            alerts = table(Alert)
            statement = (
                insert(alerts)
                .on_conflict_do_nothing(
                    index_elements=[alerts.c.rule_id, alerts.c.unit_id, alerts.c.subject_key, alerts.c.window_start]
                )
                .returning(alerts.c.id, alerts.c.rule_id, alerts.c.unit_id, alerts.c.subject_key, alerts.c.window_start)
            )
            for alert_id, *key in (await self.session.execute(statement, list(missing))).all():
                found[(key[0], key[1], key[2], key[3])] = alert_id
                created.add(alert_id)
            # Raised meanwhile by a concurrent step, which committed before our insert could.
            raced = [key for key in keys if key not in found]
            if raced:
                found |= await self._ids(raced)
        statistics = [
            {"id": found[key], "details": row["details"]}
            for row, key in zip(rows, keys, strict=True)
            if row["details"] and found[key] not in created
        ]
        if statistics:
            await self.session.execute(update(Alert), statistics)
        return [(found[key], found[key] in created) for key in keys]

    async def _ids(self, keys: Sequence[AlertKey]) -> dict[AlertKey, UUID]:
        rule_ids, unit_ids, subject_keys, starts = zip(*keys, strict=True)
        parameters = {
            "rule_ids": list(rule_ids),
            "unit_ids": list(unit_ids),
            "subject_keys": list(subject_keys),
            "starts": list(starts),
        }
        rows = await self.session.execute(_ALERT_IDS, parameters)
        return {(rule_id, unit_id, key, start): alert_id for alert_id, rule_id, unit_id, key, start in rows.all()}

    async def add_matches(
        self, org_id: UUID, matches: Sequence[tuple[UUID, UUID, float | None]], now: datetime
    ) -> Counter[UUID]:
        """Add (alert id, document id, score) matches; an item already an alert's match is not added again. The
        matches added, by alert."""
        if not matches:
            return Counter()
        alert_ids, document_ids, scores = zip(*matches, strict=True)
        added = await self.session.scalars(
            _ADD_MATCHES,
            {
                "org_id": org_id,
                "now": now,
                "alert_ids": list(alert_ids),
                "document_ids": list(document_ids),
                "scores": list(scores),
            },
        )
        return Counter(added)

    async def count_matches(self, added: Counter[UUID], now: datetime) -> None:
        if added:
            alert_ids, counts = zip(*added.items(), strict=True)
            await self.session.execute(_COUNT_MATCHES, {"now": now, "ids": list(alert_ids), "added": list(counts)})

    async def by_ids(self, alert_ids: Collection[UUID]) -> list[Alert]:
        statement = select(Alert).where(Alert.id.in_(alert_ids)).order_by(Alert.id)
        return list((await self.session.scalars(statement.execution_options(populate_existing=True))).all())

    async def recipients(self, org_id: UUID, alert_ids: Collection[UUID], limit: int) -> dict[UUID, list[UUID]]:
        """Whom each alert notifies, by alert (one statement for all): its rule's chosen members, else the
        supervisors and above, of those who see the cases of the alert's unit (a unit of None: the members limited
        to no unit); at most `limit` per alert."""

        def unit_rows(*where: ColumnElement[bool]) -> ColumnElement[bool]:
            rows = select(UnitMembership.unit_id).where(
                UnitMembership.org_id == org_id, UnitMembership.user_id == Membership.user_id, *where
            )
            return rows.correlate_except(UnitMembership).exists()

        sees = or_(not_(unit_rows()), unit_rows(UnitMembership.unit_id == Alert.unit_id))
        chosen = func.cardinality(AlertRule.notify) > 0
        who = or_(
            and_(chosen, Membership.user_id == any_(AlertRule.notify)),
            and_(not_(chosen), Membership.role.in_(SUPERVISORS_AND_ABOVE)),
        )
        members = (
            select(Membership.user_id)
            .where(Membership.org_id == org_id, who, sees)
            .order_by(Membership.user_id)
            .limit(limit)
            .lateral("members")
        )
        statement = (
            select(Alert.id, members.c.user_id)
            .join(AlertRule, AlertRule.id == Alert.rule_id)
            .join(members, true())
            .where(Alert.org_id == org_id, Alert.id.in_(alert_ids))
            .order_by(Alert.id, members.c.user_id)
        )
        found: dict[UUID, list[UUID]] = {alert_id: [] for alert_id in alert_ids}
        for alert_id, user_id in (await self.session.execute(statement)).all():
            found[alert_id].append(user_id)
        return found


def _key(row: dict[str, Any]) -> AlertKey:
    return row["rule_id"], row["unit_id"], row["subject_key"], row["window_start"]


# The alerts of these keys; those of no unit apart, so that both halves are read from the unique index.
_ALERT_IDS = text(
    """
    WITH k AS (
        SELECT * FROM unnest(
            CAST(:rule_ids AS uuid[]), CAST(:unit_ids AS uuid[]), CAST(:subject_keys AS text[]),
            CAST(:starts AS timestamptz[])
        ) AS k(rule_id, unit_id, subject_key, window_start)
    )
    SELECT a.id, a.rule_id, a.unit_id, a.subject_key, a.window_start
    FROM k JOIN alerts a ON a.rule_id = k.rule_id AND a.unit_id = k.unit_id AND a.subject_key = k.subject_key
        AND a.window_start = k.window_start
    UNION ALL
    SELECT a.id, a.rule_id, a.unit_id, a.subject_key, a.window_start
    FROM k JOIN alerts a ON a.rule_id = k.rule_id AND a.unit_id IS NULL AND a.subject_key = k.subject_key
        AND a.window_start = k.window_start
    WHERE k.unit_id IS NULL
    """
)
_ADD_MATCHES = text(
    """
    INSERT INTO alert_matches (alert_id, document_id, org_id, score, matched_at)
    SELECT m.alert_id, m.document_id, :org_id, m.score, :now
    FROM unnest(CAST(:alert_ids AS uuid[]), CAST(:document_ids AS uuid[]), CAST(:scores AS float8[]))
        AS m(alert_id, document_id, score)
    -- In key order, as every evaluation inserts them: two steps adding the same items wait, never deadlock.
    ORDER BY m.alert_id, m.document_id
    ON CONFLICT (alert_id, document_id) DO NOTHING
    RETURNING alert_id
    """
)
_COUNT_MATCHES = text(
    """
    UPDATE alerts SET count = alerts.count + n.added, last_matched_at = :now, updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:added AS int[])) AS n(id, added)
    WHERE alerts.id = n.id
    """
)
