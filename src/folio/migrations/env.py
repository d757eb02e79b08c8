"""Alembic environment. Folio always hands Alembic an open connection (see folio.migrate)."""

from alembic import context
from sqlalchemy.engine import Connection

import folio.models  # noqa: F401  (registers every table)
from folio.db import Base

connection: Connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
