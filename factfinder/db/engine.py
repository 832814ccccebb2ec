"""Opening the case database: SQLite in WAL mode by default, PostgreSQL for teams.

SQLite is set up for evidence, not speed alone: WAL so readers never block the
writer, ``synchronous=FULL`` so a commit the vault has reported survives a
power cut, and ``BEGIN IMMEDIATE`` for write transactions (opened with
:func:`write_transaction`) so two writers queue up instead of failing half-way
through. Reads use a plain deferred ``BEGIN``: a consistent snapshot that
takes no lock, so an audit or an export never holds up intake.

PostgreSQL (``postgresql://...``, driven by psycopg 3) gets the same guarantees
its own way: a write transaction first takes a transaction-scoped advisory lock,
so writers queue up as they do on SQLite, and the custody log's head row is read
``FOR UPDATE``. Reads that must see one consistent state (audits, exports) ask
for a ``REPEATABLE READ`` snapshot with :func:`snapshot`. Passwords in URLs never
reach a message: :func:`masked_url` hides them.
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
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE = "factfinder_write"
# Key of the advisory lock that serialises writers on PostgreSQL (any constant works;
# this one spells "ffwrite" in ASCII so it is recognisable in pg_locks).
_PG_WRITE_LOCK = 0x66667772697465


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class UnstorableTextError(ValueError):
    """Text with a NUL character: PostgreSQL can neither store it nor look it up."""


def _refuse_nul(params: Any) -> None:
    rows = params if isinstance(params, (list, tuple)) else [params]
    for row in rows:
        values = row.values() if isinstance(row, dict) else row if isinstance(row, (list, tuple)) else [row]
        for value in values:
            if isinstance(value, str) and "\x00" in value:
                raise UnstorableTextError("text must not contain NUL characters")


def normalize_url(url: str) -> str:
    """``url`` with PostgreSQL URLs pointed at psycopg 3 (``postgresql+psycopg://``)."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def masked_url(url: str) -> str:
    """``url`` fit to print or log: any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def split_password(url: str) -> tuple[str, str | None]:
    """``url`` without its password, and the password (``None`` if it had none)."""
    parsed = make_url(url)
    if parsed.password is None:
        return url, None
    bare = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False), str(parsed.password)


def with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` put back (as :func:`split_password` took it out)."""
    if password is None:
        return url
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-dialect settings the vault relies on."""
    url = normalize_url(url)
    if is_sqlite(url):
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
    if not url.startswith("postgresql+psycopg://"):
        raise ValueError(f"unsupported database URL {masked_url(url)}: use sqlite:///PATH or postgresql://...")
    engine = create_engine(url, pool_pre_ping=True)

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        # SQLite keeps NUL characters in text; PostgreSQL fails with a DataError deep in a
        # transaction. Refusing them up front gives callers one error to turn into a 400.
        _refuse_nul(params)

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes the write lock at once and commits on success."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_WRITE_LOCK})
            yield conn


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one consistent state of the whole database.

    SQLite's deferred ``BEGIN`` already gives that in WAL mode; PostgreSQL's default
    ``READ COMMITTED`` would not, so there the transaction is ``REPEATABLE READ``.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave out of migrations' comparisons the search structures each dialect makes for itself:
    SQLite's FTS5 tables, PostgreSQL's GIN expression index."""
    if name is None:
        return True
    if type_ == "table" and name.startswith("item_texts_fts"):
        return False
    return not (type_ == "index" and name == "item_texts_search")


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
