"""The Alembic migrations build exactly the schema the models describe (on SQLite, and on
PostgreSQL in the run that has a server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from factfinder.db import engine as dbengine
from factfinder.db.models import Base
from tests.conftest import NewDatabase


@pytest.fixture
def engine(tmp_path: Path, new_database: NewDatabase) -> Iterator[Engine]:
    engine = dbengine.make_engine(new_database() or dbengine.sqlite_url(tmp_path / "m.sqlite"))
    yield engine
    engine.dispose()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    dbengine.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": dbengine.include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; run alembic revision --autogenerate: {diff}"
    assert dbengine.schema_is_current(engine)


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    dbengine.upgrade(engine)
    command.downgrade(dbengine.alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert not dbengine.schema_is_current(engine)
    dbengine.upgrade(engine)
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())
