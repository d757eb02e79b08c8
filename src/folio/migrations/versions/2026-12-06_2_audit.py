"""audit log: append-only, refused UPDATE/DELETE/TRUNCATE by triggers

Revision ID: c4a5e1d20b02
Revises: c4a5e1d20b01
Create Date: 2026-12-06 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c4a5e1d20b02"
down_revision: str | None = "c4a5e1d20b01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The triggers hold the application to appending: they fire for every role (a superuser may still switch them off
# with session_replication_role, or the table's owner drop them; no trigger can stop that).
_STATEMENTS = (
    """
    CREATE FUNCTION audit_log_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- The database's clock, not the writer's: no entry can be written as older than it is.
        NEW.created_at := now();
        RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE FUNCTION audit_log_refuse_recent_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.created_at > now() - interval '30 days' THEN
            RAISE EXCEPTION 'audit_log entries younger than 30 days cannot be deleted (entry %)', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END $$
    """,
    "CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_stamp()",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()",
    "CREATE TRIGGER audit_log_recent_delete BEFORE DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_recent_delete()",
)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column(
            "actor_type",
            sa.Enum(
                "user",
                "api_key",
                "anonymous",
                "system",
                name="audit_actor_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("actor_email", sa.String(length=320), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_org_id_id", "audit_log", ["org_id", "id"], unique=False)
    op.create_index(
        "ix_audit_log_org_id_actor_user_id_id", "audit_log", ["org_id", "actor_user_id", "id"], unique=False
    )
    op.create_index(
        "ix_audit_log_org_id_target_id_id", "audit_log", ["org_id", "target_type", "target_id", "id"], unique=False
    )
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"], unique=False)
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_log")  # its indexes and triggers go with it
    op.execute("DROP FUNCTION audit_log_stamp(), audit_log_refuse(), audit_log_refuse_recent_delete()")
