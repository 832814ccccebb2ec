"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from factfinder.db import engine as dbengine
from factfinder.db.models import Base


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    engine = dbengine.make_engine(dbengine.sqlite_url(tmp_path / "m.sqlite"))
    dbengine.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": dbengine.include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; run alembic revision --autogenerate: {diff}"
    assert dbengine.schema_is_current(engine)
    engine.dispose()


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    engine = dbengine.make_engine(dbengine.sqlite_url(tmp_path / "m.sqlite"))
    dbengine.upgrade(engine)
    command.downgrade(dbengine.alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert not dbengine.schema_is_current(engine)
    dbengine.upgrade(engine)
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())
    engine.dispose()
