"""chunk page breaks: where each page after a chunk's first begins in its text, so a quote's own page is known

Revision ID: c1a7e0f2d418
Revises: f7d8b4a50e03
Create Date: 2026-12-10 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c1a7e0f2d418"
down_revision: str | None = "f7d8b4a50e03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The chunks that span pages, from the pages of their version's content (`[[number, start, end], …]` over the text
# that `start_char` counts in). A chunk on one page needs no breaks, and a version whose content is gone (only one
# that was being indexed) keeps null: its pages are unknown, never guessed. Only the spanning chunks are rewritten,
# which spares the single-page majority a new row version (and a new entry in the vector index).
BACKFILL = """
UPDATE chunks c
SET page_breaks = ARRAY(
    SELECT (page ->> 1)::int - c.start_char
    FROM jsonb_array_elements(d.pages) AS page
    WHERE (page ->> 0)::int > c.page_start AND (page ->> 0)::int <= c.page_end
    ORDER BY (page ->> 0)::int
)
FROM document_contents d
WHERE d.document_id = c.document_id AND d.version = c.version AND c.page_end > c.page_start
"""


def upgrade() -> None:
    op.add_column("chunks", sa.Column("page_breaks", postgresql.ARRAY(sa.Integer()), nullable=True))
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("chunks", "page_breaks")
