"""Shared fixtures: real case folders on disk, the real CLI, the shared test data."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from factfinder.cli import app
from factfinder.db import engine as dbengine
from factfinder.vault.case import Case

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("FACTFINDER_TESTDATA", ROOT.parent / "shared" / "testdata"))
# A PostgreSQL server (postgresql://USER@HOST:PORT/postgres): when set, every case the tests make
# lives in a fresh database on it, and tests marked sqlite_only are skipped.
POSTGRES = os.environ.get("FACTFINDER_TEST_POSTGRES") or None
NewDatabase = Callable[[], str | None]


def pytest_report_header() -> str:
    where = f"PostgreSQL at {dbengine.masked_url(POSTGRES)}" if POSTGRES else "SQLite"
    return f"factfinder case databases: {where}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On the PostgreSQL run, only the tests that put a case on the server run again.

    A test whose fixtures never ask for a database (``new_database``, directly or through ``case``, ``cli``,
    the web app...) works on files, hashes, texts or reports alone: the SQLite run has already run it, and a
    second run on the same code would test nothing new while costing minutes of the suite's time."""
    if not POSTGRES:
        return
    skip = pytest.mark.skip(reason="sqlite_only: works on the SQLite file itself; this run is on PostgreSQL")
    no_database = pytest.mark.skip(reason="uses no case database: run once, on the SQLite run")
    repeat = pytest.mark.skip(reason="once_on_postgres: other tests run its database code on PostgreSQL")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)
        elif item.get_closest_marker("once_on_postgres"):
            item.add_marker(repeat)
        elif not {"new_database", "postgres_admin"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(no_database)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | None]:
    """A connection pool to the test server's maintenance database, or None on the SQLite run."""
    if not POSTGRES:
        yield None
        return
    engine = create_engine(dbengine.normalize_url(POSTGRES), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def new_database(postgres_admin: Engine | None) -> Iterator[NewDatabase]:
    """Makes an empty PostgreSQL database and returns its URL (None on the SQLite run); dropped after the test."""
    assert POSTGRES is None or postgres_admin is not None
    made: list[str] = []

    def make() -> str | None:
        if postgres_admin is None or POSTGRES is None:
            return None
        name = f"ff_test_{secrets.token_hex(6)}"
        with postgres_admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)

    yield make
    if postgres_admin is not None:
        with postgres_admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def _no_database_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a case lives is decided by the fixtures below, never by the developer's shell."""
    monkeypatch.delenv("FACTFINDER_DATABASE_URL", raising=False)


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.fail(f"shared test data not found at {TESTDATA} (set FACTFINDER_TESTDATA)")
    return TESTDATA


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    return tmp_path / "case"


@pytest.fixture
def case(case_dir: Path, new_database: NewDatabase) -> Iterator[Case]:
    c, _ = Case.init(case_dir, "Test case", actor="tester", database_url=new_database())
    yield c
    c.close()


@pytest.fixture
def identity_path(case: Case) -> Path:
    return case.path / "keys" / "witness-identity.age"


class Cli:
    """Runs ``factfinder`` in-process through Click's runner, as a person would type it."""

    def __init__(self, new_database: NewDatabase | None = None) -> None:
        self.runner = CliRunner()
        self.new_database = new_database

    def __call__(self, *args: str | Path, code: int | None = 0) -> tuple[int, str, str]:
        env = {"FACTFINDER_ACTOR": "tester"}
        if args and args[0] == "init" and self.new_database is not None:
            url = self.new_database()  # each new case in a fresh database on the PostgreSQL run
            if url is not None:
                env["FACTFINDER_DATABASE_URL"] = url
        result = self.runner.invoke(app, [str(a) for a in args], env=env)
        if code is not None and result.exit_code != code:
            raise AssertionError(
                f"factfinder {' '.join(map(str, args))} exited {result.exit_code}, wanted {code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
            )
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli(new_database: NewDatabase) -> Cli:
    return Cli(new_database)


def run_factfinder(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """The CLI in a real subprocess (for kills, signals and exit codes)."""
    env = {**os.environ, "FACTFINDER_ACTOR": "tester"}
    return subprocess.run(
        [sys.executable, "-m", "factfinder", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        **kwargs,  # type: ignore[call-overload]
    )
