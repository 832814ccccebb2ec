"""The multi-source fixture (tests/data/findings, invented for the tests) as a real case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factfinder.text import store as text_store
from factfinder.vault.case import Case

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "findings"


def manifest() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = json.loads((FIXTURE / "manifest.json").read_text(encoding="utf-8"))
    return entries


def add_fixture(case: Case, only: set[str] | None = None) -> dict[str, str]:
    """Add the fixture's reports (each with its publisher and publication date) and read them; file -> sha256."""
    out = {}
    for entry in manifest():
        if only is not None and entry["file"] not in only:
            continue
        data = (FIXTURE / entry["file"]).read_bytes()
        rec = case.add_bytes(
            data,
            actor="tester",
            original_name=entry["file"],
            source=entry["source"],
            collected_at_claimed=entry["published"],
        )
        out[entry["file"]] = rec.sha256
    text_store.read_items(case)
    return out


@pytest.fixture
def fixture_case(case: Case) -> Case:
    add_fixture(case)
    return case
