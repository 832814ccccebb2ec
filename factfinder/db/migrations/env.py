"""Alembic environment: runs against the engine the vault hands over."""

from __future__ import annotations

from alembic import context

from factfinder.db.engine import include_object
from factfinder.db.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_object=include_object,
    )
    context.run_migrations()
