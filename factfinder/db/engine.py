"""Opening the case database: SQLite in WAL mode by default, PostgreSQL for teams.

SQLite is set up for evidence, not speed alone: WAL so readers never block the
writer, ``synchronous=FULL`` so a commit the vault has reported survives a
power cut, and ``BEGIN IMMEDIATE`` for write transactions (opened with
:func:`write_transaction`) so two writers queue up instead of failing half-way
through. Reads use a plain deferred ``BEGIN``: a consistent snapshot that
takes no lock, so an audit or an export never holds up intake.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE = "factfinder_write"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-dialect settings the vault relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes the write lock at once and commits on success."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave out of migrations' comparisons what SQLite's FTS5 makes for itself."""
    return not (type_ == "table" and name is not None and name.startswith("item_texts_fts"))


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    command.upgrade(alembic_config(engine), "head")


def schema_state(engine: Engine) -> str:
    """``current``, ``behind`` (an older factfinder made it: upgradable) or ``unknown``."""
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == scripts.get_current_head():
        return "current"
    known = {rev.revision for rev in scripts.walk_revisions()}
    return "behind" if current in known else "unknown"


def schema_is_current(engine: Engine) -> bool:
    return schema_state(engine) == "current"
