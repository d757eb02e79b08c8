"""prompt_templates: organizations' prompts with named variables, and the built-in ones every organization reads

Revision ID: 3f6b2a9d1c47
Revises: 8d41c2b7e9a0
Create Date: 2026-11-29 17:10:00.000000
"""

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from alembic import op

revision: str = "3f6b2a9d1c47"
down_revision: str | None = "8d41c2b7e9a0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMMON = "Length: {length}. Format: {format}. Write in {language}.\n{instructions}\n\nThe document:\n\n{content}"
BUILTIN = [
    (
        UUID("00000000-0000-0000-0000-000000000001"),
        "Executive summary",
        "What a busy decision-maker needs: purpose, main findings or decisions, and what follows from them.",
        True,
        'Write an executive summary of the document "{document_title}" for a busy decision-maker: what it is '
        "for, its main findings or decisions with the figures that support them, and what follows from them. "
        + _COMMON,
    ),
    (
        UUID("00000000-0000-0000-0000-000000000002"),
        "Key points",
        "The document's main points, one per item, most important first.",
        False,
        'List the key points of the document "{document_title}", most important first, one point per item, each '
        "a complete statement with the names, dates and figures it rests on. " + _COMMON,
    ),
    (
        UUID("00000000-0000-0000-0000-000000000003"),
        "Action items",
        "Tasks, decisions to make and deadlines, with who owns them where the document says.",
        False,
        'Extract the action items of the document "{document_title}": tasks, decisions to make and deadlines, '
        "each with its owner and due date where the document gives them. If it has none, say so in one sentence. "
        + _COMMON,
    ),
    (
        UUID("00000000-0000-0000-0000-000000000004"),
        "TL;DR",
        "The whole document in one or two sentences.",
        False,
        'Say what the document "{document_title}" is about and its single most important point in one or two '
        "sentences, whatever length is asked. Format: {format}. Write in {language}.\n{instructions}\n\n"
        "The document:\n\n{content}",
    ),
]


def upgrade() -> None:
    table = op.create_table(
        "prompt_templates",
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "summary", "enrichment", name="template_kind", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_prompt_templates_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_prompt_templates_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_templates")),
    )
    op.create_index(
        "uq_prompt_templates_org_id_name",
        "prompt_templates",
        ["org_id", "name"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "uq_prompt_templates_default",
        "prompt_templates",
        ["org_id", "kind"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        postgresql_nulls_not_distinct=True,
    )
    op.bulk_insert(
        table,
        [
            {"id": id_, "org_id": None, "name": name, "description": description, "kind": "summary", "prompt": prompt}
            | {"is_default": is_default}
            for id_, name, description, is_default, prompt in BUILTIN
        ],
    )


def downgrade() -> None:
    op.drop_index("uq_prompt_templates_default", table_name="prompt_templates")
    op.drop_index("uq_prompt_templates_org_id_name", table_name="prompt_templates")
    op.drop_table("prompt_templates")
