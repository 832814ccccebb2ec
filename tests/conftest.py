"""Shared fixtures: real case folders on disk, the real CLI, the shared test data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factfinder.cli import app
from factfinder.vault.case import Case

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("FACTFINDER_TESTDATA", ROOT.parent / "shared" / "testdata"))


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.fail(f"shared test data not found at {TESTDATA} (set FACTFINDER_TESTDATA)")
    return TESTDATA


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    return tmp_path / "case"


@pytest.fixture
def case(case_dir: Path) -> Iterator[Case]:
    c, _ = Case.init(case_dir, "Test case", actor="tester")
    yield c
    c.close()


@pytest.fixture
def identity_path(case: Case) -> Path:
    return case.path / "keys" / "witness-identity.age"


class Cli:
    """Runs ``factfinder`` in-process through Click's runner, as a person would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str | Path, code: int | None = 0) -> tuple[int, str, str]:
        result = self.runner.invoke(app, [str(a) for a in args], env={"FACTFINDER_ACTOR": "tester"})
        if code is not None and result.exit_code != code:
            raise AssertionError(
                f"factfinder {' '.join(map(str, args))} exited {result.exit_code}, wanted {code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
            )
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli() -> Cli:
    return Cli()


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
