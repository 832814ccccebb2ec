"""Fixtures for the media tests: a case holding the shared test photos and videos, scanned once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from factfinder.db.models import Item, Receipt
from factfinder.intake.files import IntakeOptions, add_paths
from factfinder.media import scan
from factfinder.vault.case import Case
from tests.conftest import POSTGRES


@pytest.fixture(scope="module")
def module_database(postgres_admin: Engine | None) -> Iterator[str | None]:
    """A database for a module-wide case (None on the SQLite run)."""
    if postgres_admin is None or POSTGRES is None:
        yield None
        return
    name = f"ff_test_{secrets.token_hex(6)}"
    with postgres_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    with postgres_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def scanned_case(
    tmp_path_factory: pytest.TempPathFactory, testdata: Path, module_database: str | None
) -> Iterator[Case]:
    """The shared PDQ photos and test videos, added and scanned (read-only use in tests)."""
    folder = tmp_path_factory.mktemp("media") / "case"
    case, _ = Case.init(folder, "Media test case", actor="tester", database_url=module_database)
    add_paths(case, [testdata / "pdq", testdata / "video"], IntakeOptions(actor="tester"))
    scan.scan_case(case)
    yield case
    case.close()


def item_by_name(case: Case, name: str) -> Item:
    """The item first received under the file name ``name``."""
    with case.engine.connect() as conn:
        sha = conn.execute(
            select(Item.sha256).join(Receipt, Receipt.item_id == Item.id).where(Receipt.original_name == name)
        ).scalar_one()
    return case.resolve(sha)
