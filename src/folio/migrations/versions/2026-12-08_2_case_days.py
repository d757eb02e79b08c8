"""case days: each UTC day's case figures by unit, refreshed when a trigger marks the day changed

Revision ID: e6c7a3f40d02
Revises: e6c7a3f40d01
Create Date: 2026-12-08 02:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6c7a3f40d02"
down_revision: str | None = "e6c7a3f40d01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A write of cases only appends the (organization, day) pairs it touched to `case_days_stale`: no writer waits on
# another. `refresh_case_days(org)` computes those days again, under an advisory lock of the organization held by
# the transaction of its caller (the overview, before it reads; the periodic `analytics.compact`).
_FUNCTIONS = """
-- The figures of the cases opened, and of those resolved, in [since, until), by unit and UTC day. Times to first
-- response and to resolution are kept whole, sorted, as big-endian float8 seconds, so that a median over any days
-- is exact (the overview merges them).
CREATE FUNCTION case_days_between(org uuid, since timestamptz, until timestamptz)
RETURNS TABLE (
    unit_id uuid, day date, opened bigint, first_responses bigint, first_response_seconds bytea, resolved bigint,
    resolved_late bigint, resolve_seconds bytea
) LANGUAGE sql STABLE AS $$
    WITH opened AS (
        SELECT r.unit_id, CAST(r.opened_at AT TIME ZONE 'UTC' AS date) AS day, count(*) AS opened,
            count(s.seconds) AS first_responses,
            string_agg(float8send(s.seconds), '' ORDER BY s.seconds) AS first_response_seconds
        FROM records r,
        LATERAL (SELECT CAST(extract(epoch FROM r.first_response_at - r.opened_at) AS float8)) AS s(seconds)
        WHERE r.org_id = org AND r.opened_at >= since AND r.opened_at < until
        GROUP BY 1, 2
    ), resolved AS (
        SELECT r.unit_id, CAST(r.resolved_at AT TIME ZONE 'UTC' AS date) AS day, count(*) AS resolved,
            count(*) FILTER (WHERE r.resolved_at > r.due_at) AS resolved_late,
            string_agg(float8send(s.seconds), '' ORDER BY s.seconds) AS resolve_seconds
        FROM records r, LATERAL (SELECT CAST(extract(epoch FROM r.resolved_at - r.opened_at) AS float8)) AS s(seconds)
        WHERE r.org_id = org AND r.resolved_at >= since AND r.resolved_at < until
        GROUP BY 1, 2
    )
    SELECT coalesce(o.unit_id, d.unit_id), coalesce(o.day, d.day), coalesce(o.opened, 0),
        coalesce(o.first_responses, 0), o.first_response_seconds, coalesce(d.resolved, 0),
        coalesce(d.resolved_late, 0), d.resolve_seconds
    FROM opened o FULL JOIN resolved d ON d.unit_id IS NOT DISTINCT FROM o.unit_id AND d.day = o.day
$$;

-- The cases opened in [since, until) by unit, UTC day and the value of each field the overview breaks them down by.
CREATE FUNCTION case_day_labels_between(org uuid, since timestamptz, until timestamptz)
RETURNS TABLE (unit_id uuid, day date, field text, value text, cases bigint) LANGUAGE sql STABLE AS $$
    SELECT r.unit_id, CAST(r.opened_at AT TIME ZONE 'UTC' AS date), f.field, f.value, count(*)
    FROM records r, LATERAL (
        VALUES ('status', CAST(r.case_status AS text)), ('priority', CAST(r.priority AS text)),
            ('severity', r.severity), ('sentiment', r.sentiment), ('category', r.category), ('channel', r.channel)
    ) AS f(field, value)
    WHERE r.org_id = org AND r.opened_at >= since AND r.opened_at < until
    GROUP BY 1, 2, 3, 4
$$;

-- Marks the days a statement on records changed: those a case was opened or resolved on, before and after.
CREATE FUNCTION case_days_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_days_stale (org_id, day)
        SELECT DISTINCT n.org_id, CAST(t.at AT TIME ZONE 'UTC' AS date)
        FROM after n, LATERAL (VALUES (n.opened_at), (n.resolved_at)) AS t(at)
        WHERE t.at IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO case_days_stale (org_id, day)
        SELECT DISTINCT o.org_id, CAST(t.at AT TIME ZONE 'UTC' AS date)
        FROM before o, LATERAL (VALUES (o.opened_at), (o.resolved_at)) AS t(at)
        WHERE t.at IS NOT NULL;
    ELSE
        INSERT INTO case_days_stale (org_id, day)
        SELECT DISTINCT n.org_id, CAST(t.at AT TIME ZONE 'UTC' AS date)
        FROM before o JOIN after n ON n.document_id = o.document_id,
        LATERAL (VALUES (o.opened_at), (o.resolved_at), (n.opened_at), (n.resolved_at)) AS t(at)
        WHERE t.at IS NOT NULL
        AND (o.opened_at, o.first_response_at, o.resolved_at, o.due_at, o.unit_id, o.case_status, o.priority,
            o.severity, o.sentiment, o.category, o.channel)
        IS DISTINCT FROM (n.opened_at, n.first_response_at, n.resolved_at, n.due_at, n.unit_id, n.case_status,
            n.priority, n.severity, n.sentiment, n.category, n.channel);
    END IF;
    RETURN NULL;
END $$;

-- The organization's marked days computed again; how many. Marks committed meanwhile are left for the next call,
-- and so is everything while another transaction refreshes the organization (its caller reads what that one has
-- not committed yet as it was: figures a moment old, never counted twice).
CREATE FUNCTION refresh_case_days(org uuid) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    days date[];
    start timestamptz;
BEGIN
    IF NOT EXISTS (SELECT FROM case_days_stale WHERE org_id = org)
    OR NOT pg_try_advisory_xact_lock(hashtextextended('folio.case_days:' || org, 0)) THEN
        RETURN 0;
    END IF;
    WITH taken AS (DELETE FROM case_days_stale WHERE org_id = org RETURNING day)
    SELECT array_agg(DISTINCT day) INTO days FROM taken;
    IF days IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM case_days WHERE org_id = org AND day = ANY(days);
    DELETE FROM case_day_labels WHERE org_id = org AND day = ANY(days);
    FOREACH start IN ARRAY (SELECT array_agg(d::timestamp AT TIME ZONE 'UTC') FROM unnest(days) AS d) LOOP
        INSERT INTO case_days (org_id, unit_id, day, opened, first_responses, first_response_seconds, resolved,
            resolved_late, resolve_seconds)
        SELECT org, b.* FROM case_days_between(org, start, start + interval '1 day') AS b;
        INSERT INTO case_day_labels (org_id, unit_id, day, field, value, cases)
        SELECT org, b.* FROM case_day_labels_between(org, start, start + interval '1 day') AS b;
    END LOOP;
    RETURN cardinality(days);
END $$;

-- Every organization's marked days (the periodic job); how many.
CREATE FUNCTION refresh_all_case_days() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(refresh_case_days(org_id)), 0) FROM (SELECT DISTINCT org_id FROM case_days_stale) AS o
$$;

-- Every day of every case marked and computed afresh (after a bulk load with triggers off).
CREATE FUNCTION rebuild_case_days() RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO case_days_stale (org_id, day)
    SELECT DISTINCT org_id, CAST(t.at AT TIME ZONE 'UTC' AS date)
    FROM records, LATERAL (VALUES (opened_at), (resolved_at)) AS t(at)
    WHERE t.at IS NOT NULL;
    SELECT refresh_all_case_days();
$$;
"""
_TRIGGERS = """
CREATE TRIGGER records_case_days_added AFTER INSERT ON records
    REFERENCING NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION case_days_touched();
CREATE TRIGGER records_case_days_changed AFTER UPDATE ON records
    REFERENCING OLD TABLE AS before NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION case_days_touched();
CREATE TRIGGER records_case_days_removed AFTER DELETE ON records
    REFERENCING OLD TABLE AS before FOR EACH STATEMENT EXECUTE FUNCTION case_days_touched()
"""
_FUNCTION_NAMES = (
    "rebuild_case_days()",
    "refresh_all_case_days()",
    "refresh_case_days(uuid)",
    "case_days_touched()",
    "case_day_labels_between(uuid, timestamptz, timestamptz)",
    "case_days_between(uuid, timestamptz, timestamptz)",
)


def upgrade() -> None:
    op.create_table(
        "case_days",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opened", sa.BigInteger(), nullable=False),
        sa.Column("first_responses", sa.BigInteger(), nullable=False),
        sa.Column("first_response_seconds", sa.LargeBinary(), nullable=True),
        sa.Column("resolved", sa.BigInteger(), nullable=False),
        sa.Column("resolved_late", sa.BigInteger(), nullable=False),
        sa.Column("resolve_seconds", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_days")),
    )
    op.create_index("ix_case_days_org_id_day", "case_days", ["org_id", "day"])
    # Packed floats do not compress: stored out of line as they are.
    op.execute("ALTER TABLE case_days ALTER first_response_seconds SET STORAGE EXTERNAL")
    op.execute("ALTER TABLE case_days ALTER resolve_seconds SET STORAGE EXTERNAL")
    op.create_table(
        "case_day_labels",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("cases", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_day_labels")),
    )
    op.create_index(
        "ix_case_day_labels_org_id_day",
        "case_day_labels",
        ["org_id", "day"],
        postgresql_include=["unit_id", "field", "value", "cases"],
    )
    op.create_table(
        "case_days_stale",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_days_stale")),
    )
    op.create_index("ix_case_days_stale_org_id", "case_days_stale", ["org_id"])
    # One statement per execution (a prepared statement holds one): functions start at their comments.
    for function in re.split(r"\n(?=(?:--[^\n]*\n)*CREATE FUNCTION)", _FUNCTIONS.strip()):
        op.execute(function)
    for trigger in _TRIGGERS.strip().split(";\n"):
        op.execute(trigger)
    op.execute("SELECT rebuild_case_days()")


def downgrade() -> None:
    for trigger in ("records_case_days_removed", "records_case_days_changed", "records_case_days_added"):
        op.execute(f"DROP TRIGGER {trigger} ON records")
    for function in _FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION {function}")
    for table in ("case_days_stale", "case_day_labels", "case_days"):
        op.drop_table(table)
